"""The anomaly repository: reads for the page, writes for import and actions.

All SQL takes parameters. Optional filters are assembled from a fixed list of
clauses; sort columns come from a whitelist, never from user text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache

import duckdb

from lib.store.db import Database
from lib.store.models import (
    Anomaly,
    AnomalyFilter,
    AnomalyPage,
    ArchiveReason,
    Comment,
    FailedCheck,
    Status,
    StatusChange,
)

SORTABLE = {
    "id": "id",
    "detected": "detected_at",
    "datastore": "datastore_name",
    "container": "container",
    "status": "status",
    "type": "anomaly_type",
    "weight": "weight",
}

_ANOMALY_COLUMNS = (
    "id, datastore_id, datastore_name, container, fields, anomaly_type, status,"
    " archive_reason, detected_at, description, weight, tags"
)


@cache
def _schemas() -> dict:
    """The Arrow schemas of the bulk writes (pyarrow imported here: 0.08 s of the command
    line's start, and the fast import path never writes through Arrow)."""
    import pyarrow as pa

    anomaly = pa.schema(
        [
            ("id", pa.int64()),
            ("datastore_id", pa.int64()),
            ("datastore_name", pa.string()),
            ("container", pa.string()),
            ("fields", pa.list_(pa.string())),
            ("anomaly_type", pa.string()),
            ("status", pa.string()),
            ("archive_reason", pa.string()),
            ("detected_at", pa.timestamp("us")),
            ("description", pa.string()),
            ("weight", pa.int32()),
            ("tags", pa.list_(pa.string())),
            ("search_text", pa.string()),
            ("updated_at", pa.timestamp("us")),
        ]
    )

    check = pa.schema(
        [
            ("anomaly_id", pa.int64()),
            ("position", pa.int32()),
            ("check_id", pa.int64()),
            ("rule_type", pa.string()),
            ("message", pa.string()),
        ]
    )

    change = pa.schema(
        [
            ("anomaly_id", pa.int64()),
            ("changed_by", pa.string()),
            ("changed_at", pa.timestamp("us")),
            ("from_status", pa.string()),
            ("from_reason", pa.string()),
            ("to_status", pa.string()),
            ("to_reason", pa.string()),
        ]
    )
    return {"anomaly": anomaly, "check": check, "change": change}


# DuckDB's memory for an import's one transaction: past it, the rows not yet
# committed go to DuckDB's temporary files instead of staying in memory (1M
# anomalies held ~400 MB there until the commit).
IMPORT_MEMORY_LIMIT = "256MB"


@contextmanager
def bounded_memory(db: Database, limit: str = IMPORT_MEMORY_LIMIT) -> Iterator[None]:
    """Run a large write with DuckDB's memory limit lowered, then restore it.

    The limit is the database's (DuckDB has one per instance): queries that run
    meanwhile get it too, and spill sooner, for the import's few minutes.
    """
    with db.read() as cur:
        before = cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        cur.execute(f"SET memory_limit = '{limit}'")  # our own constant: no user text
    try:
        yield
    finally:
        with db.read() as cur:
            # DuckDB shows the limit rounded: the default (RESET) comes back exactly.
            cur.execute("RESET memory_limit")
            if cur.execute("SELECT current_setting('memory_limit')").fetchone()[0] != before:
                cur.execute(f"SET memory_limit = '{before}'")


class AnomalyNotFound(LookupError):
    def __init__(self, anomaly_id: int):
        super().__init__(f"There is no anomaly with id {anomaly_id}.")
        self.anomaly_id = anomaly_id


class InvalidTransition(ValueError):
    """A status change the workflow does not allow (the message says why)."""


def search_text(anomaly: Anomaly) -> str:
    parts = [anomaly.container, *anomaly.fields, *(c.message for c in anomaly.failed_checks)]
    return " ".join(parts).lower()


def _where(flt: AnomalyFilter, *, with_status: bool = True) -> tuple[str, list]:
    clauses: list[str] = []
    params: list = []
    if flt.datastore_ids:
        clauses.append("datastore_id IN (SELECT unnest(?::BIGINT[]))")
        params.append(list(flt.datastore_ids))
    if with_status and flt.statuses:
        clauses.append("status IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(flt.statuses))
    if flt.anomaly_type:
        clauses.append("anomaly_type = ?")
        params.append(flt.anomaly_type)
    if flt.detected_from:
        clauses.append("detected_at >= ?")
        params.append(flt.detected_from)
    if flt.detected_to:
        clauses.append("detected_at < ?")
        params.append(flt.detected_to)
    if flt.text.strip():
        # contains() takes the text literally: no LIKE wildcards from the user.
        clauses.append("contains(search_text, ?)")
        params.append(flt.text.strip().lower())
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _check_counts_in(cur: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, int]:
    """How many failed checks each of ``ids`` has (those with none are absent)."""
    if not ids:
        return {}
    return dict(
        cur.execute(
            "SELECT anomaly_id, count(*) FROM failed_checks"
            " WHERE anomaly_id IN (SELECT unnest(?::BIGINT[])) GROUP BY anomaly_id",
            [list(ids)],
        ).fetchall()
    )


def _row_to_anomaly(row: tuple, checks: Sequence[FailedCheck]) -> Anomaly:
    return Anomaly(
        id=row[0],
        datastore_id=row[1],
        datastore_name=row[2],
        container=row[3],
        fields=tuple(row[4]),
        anomaly_type=row[5],
        status=row[6],
        archive_reason=row[7],
        detected_at=row[8],
        description=row[9],
        weight=row[10],
        tags=tuple(row[11]),
        failed_checks=tuple(checks),
    )


class AnomalyRepository:
    def __init__(self, db: Database):
        self._db = db

    # -- reads ---------------------------------------------------------------
    def count(self) -> int:
        with self._db.read() as cur:
            return cur.execute("SELECT count(*) FROM anomalies").fetchone()[0]

    def get(self, anomaly_id: int) -> Anomaly | None:
        with self._db.read() as cur:
            return self.get_in(cur, anomaly_id)

    def get_in(self, cur: duckdb.DuckDBPyConnection, anomaly_id: int) -> Anomaly | None:
        # One statement, the checks as a list beside the row (a create reads its
        # anomaly each time; a statement costs ~1 ms). The subquery takes the id
        # as a parameter, not correlated: DuckDB would join all the checks.
        row = cur.execute(
            f"SELECT {_ANOMALY_COLUMNS}, (SELECT list((check_id, rule_type, message)"
            " ORDER BY position) FROM failed_checks WHERE anomaly_id = ?)"
            " FROM anomalies WHERE id = ?",
            [anomaly_id, anomaly_id],
        ).fetchone()
        if row is None:
            return None
        checks = row[-1] or ()
        return _row_to_anomaly(row[:-1], [FailedCheck(*c) for c in checks])

    def datastores(self) -> list[tuple[int, str]]:
        """Every datastore (the list's filter, on every rerun): kept until the next write."""
        return list(self._db.kept(("datastores",), self._read_datastores))

    def _read_datastores(self) -> tuple[tuple[int, str], ...]:
        with self._db.read() as cur:
            return tuple(
                cur.execute(
                    "SELECT DISTINCT datastore_id, datastore_name FROM anomalies ORDER BY 2"
                ).fetchall()
            )

    def page(
        self,
        flt: AnomalyFilter,
        *,
        sort: str = "detected",
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> AnomalyPage:
        """One page of anomalies matching ``flt``, with the total and counts per status.

        The page is chosen first and its failed checks counted after, for its
        rows only: counting inside the page query made DuckDB count all the
        checks of the table (two million at a million anomalies, 72 ms) before
        it kept 50 rows. The total is the sum of the counts per status (one
        scan, not two): they share every filter but the status. Every rerun
        of the page asks again: the answer is kept until the next write, and
        each caller gets its own copy of the rows.
        """
        kept = self._db.kept(
            ("anomaly_page", flt, sort, descending, int(limit), int(offset)),
            lambda: self._read_page(flt, sort, descending, int(limit), int(offset)),
        )
        return AnomalyPage([dict(r) for r in kept.rows], kept.total, dict(kept.status_counts))

    def _read_page(
        self, flt: AnomalyFilter, sort: str, descending: bool, limit: int, offset: int
    ) -> AnomalyPage:
        order = SORTABLE.get(sort, "detected_at")
        direction = "DESC" if descending else "ASC"
        where, params = _where(flt)
        counts_where, counts_params = _where(flt, with_status=False)
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT id, detected_at, datastore_name, container,"
                " array_to_string(fields, ', ') AS fields, anomaly_type, status,"
                f" archive_reason, weight FROM anomalies{where}"
                f" ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?",
                [*params, int(limit), int(offset)],
            )
            names = [d[0] for d in rows.description]
            page_rows = [dict(zip(names, r)) for r in rows.fetchall()]
            checks = _check_counts_in(cur, [r["id"] for r in page_rows])
            counts = dict(
                cur.execute(
                    f"SELECT status, count(*) FROM anomalies{counts_where} GROUP BY status",
                    counts_params,
                ).fetchall()
            )
        for row in page_rows:
            row["checks"] = checks.get(row["id"], 0)
        shown = set(flt.statuses) if flt.statuses else counts.keys()
        total = sum(counts.get(s, 0) for s in shown)
        return AnomalyPage(page_rows, total, {s.value: counts.get(s.value, 0) for s in Status})

    def comments(self, anomaly_id: int) -> list[Comment]:
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT id, anomaly_id, author, body, created_at FROM anomaly_comments"
                " WHERE anomaly_id = ? ORDER BY created_at, id",
                [anomaly_id],
            ).fetchall()
        return [Comment(*r) for r in rows]

    def history(self, anomaly_id: int) -> list[StatusChange]:
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT id, anomaly_id, changed_by, changed_at, from_status, from_reason,"
                " to_status, to_reason FROM status_changes WHERE anomaly_id = ?"
                " ORDER BY changed_at, id",
                [anomaly_id],
            ).fetchall()
        return [StatusChange(*r) for r in rows]

    def statuses_in(
        self, cur: duckdb.DuckDBPyConnection, ids: Sequence[int]
    ) -> dict[int, tuple[str, str | None]]:
        """Status and archive reason of each known anomaly among ``ids`` (import compares them)."""
        rows = cur.execute(
            "SELECT id, status, archive_reason FROM anomalies"
            " WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [list(ids)],
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- writes --------------------------------------------------------------
    def upsert_many(self, anomalies: Sequence[Anomaly], now: datetime) -> int:
        """Insert or replace anomalies (and their checks) in one transaction."""
        with self._db.transaction() as cur:
            self.upsert_many_in(cur, anomalies, now)
        return len(anomalies)

    def upsert_many_in(
        self, cur: duckdb.DuckDBPyConnection, anomalies: Sequence[Anomaly], now: datetime
    ) -> None:
        # Bulk through Arrow: executemany is ~100x slower in DuckDB. Built column
        # by column: a dict per row (Table.from_pylist) took twice as long.
        import pyarrow as pa  # see _schemas

        schemas = _schemas()
        table = pa.table(_anomaly_columns(anomalies, now), schema=schemas["anomaly"])
        checks = pa.table(_check_columns(anomalies), schema=schemas["check"])
        cur.register("incoming_anomalies", table)
        cur.register("incoming_checks", checks)
        try:
            cur.execute(
                "DELETE FROM failed_checks WHERE anomaly_id IN (SELECT id FROM incoming_anomalies)"
            )
            cur.execute("INSERT OR REPLACE INTO anomalies SELECT * FROM incoming_anomalies")
            cur.execute("INSERT INTO failed_checks SELECT * FROM incoming_checks")
        finally:
            cur.unregister("incoming_anomalies")
            cur.unregister("incoming_checks")

    def change_status_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        anomaly_id: int,
        to_status: Status,
        reason: ArchiveReason | None,
        actor: str,
        now: datetime,
    ) -> StatusChange:
        """Move an anomaly to a new status and record who did it.

        Raises:
            AnomalyNotFound: no such anomaly.
            InvalidTransition: the change is not allowed (e.g. archive without a reason).
        """
        current = cur.execute(
            "SELECT status, archive_reason FROM anomalies WHERE id = ?", [anomaly_id]
        ).fetchone()
        if current is None:
            raise AnomalyNotFound(anomaly_id)
        _check_transition(current[0], to_status, reason)
        cur.execute(
            "UPDATE anomalies SET status = ?, archive_reason = ?, updated_at = ? WHERE id = ?",
            [to_status.value, reason.value if reason else None, now, anomaly_id],
        )
        row = cur.execute(
            "INSERT INTO status_changes (anomaly_id, changed_by, changed_at, from_status,"
            " from_reason, to_status, to_reason) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                anomaly_id,
                actor,
                now,
                current[0],
                current[1],
                to_status.value,
                reason.value if reason else None,
            ],
        ).fetchone()
        return StatusChange(
            row[0],
            anomaly_id,
            actor,
            now,
            current[0],
            current[1],
            to_status.value,
            reason.value if reason else None,
        )

    def change_status(
        self,
        anomaly_id: int,
        to_status: Status,
        reason: ArchiveReason | None,
        actor: str,
        now: datetime,
    ) -> StatusChange:
        with self._db.transaction() as cur:
            return self.change_status_in(cur, anomaly_id, to_status, reason, actor, now)

    def add_comment_in(
        self, cur: duckdb.DuckDBPyConnection, anomaly_id: int, author: str, body: str, now: datetime
    ) -> Comment:
        """Store a comment on an anomaly.

        Raises:
            AnomalyNotFound: no such anomaly.
            ValueError: empty text or author.
        """
        if not body.strip():
            raise ValueError("A comment needs some text.")
        if not author.strip():
            raise ValueError("A comment needs an author.")
        if cur.execute("SELECT 1 FROM anomalies WHERE id = ?", [anomaly_id]).fetchone() is None:
            raise AnomalyNotFound(anomaly_id)
        row = cur.execute(
            "INSERT INTO anomaly_comments (anomaly_id, author, body, created_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            [anomaly_id, author.strip(), body.strip(), now],
        ).fetchone()
        return Comment(row[0], anomaly_id, author.strip(), body.strip(), now)

    def add_comment(self, anomaly_id: int, author: str, body: str, now: datetime) -> Comment:
        with self._db.transaction() as cur:
            return self.add_comment_in(cur, anomaly_id, author, body, now)

    def add_status_changes_in(
        self, cur: duckdb.DuckDBPyConnection, changes: Sequence[StatusChange]
    ) -> None:
        """Store many status changes at once (an import may change thousands)."""
        if not changes:
            return
        import pyarrow as pa  # see _schemas

        # Bulk through Arrow: one INSERT per row costs ~1 ms, so 10,000 took ~8 s.
        table = pa.Table.from_pylist(
            [
                {
                    "anomaly_id": c.anomaly_id,
                    "changed_by": c.changed_by,
                    "changed_at": c.changed_at,
                    "from_status": c.from_status,
                    "from_reason": c.from_reason,
                    "to_status": c.to_status,
                    "to_reason": c.to_reason,
                }
                for c in changes
            ],
            schema=_schemas()["change"],
        )
        cur.register("incoming_changes", table)
        try:
            cur.execute(
                "INSERT INTO status_changes (anomaly_id, changed_by, changed_at, from_status,"
                " from_reason, to_status, to_reason) SELECT * FROM incoming_changes"
            )
        finally:
            cur.unregister("incoming_changes")

    def add_history_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        changes: Iterable[StatusChange],
        comments: Iterable[Comment],
    ) -> None:
        """Load imported history and comments as they were (used by the demo data)."""
        for ch in changes:
            cur.execute(
                "INSERT INTO status_changes (anomaly_id, changed_by, changed_at, from_status,"
                " from_reason, to_status, to_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    ch.anomaly_id,
                    ch.changed_by,
                    ch.changed_at,
                    ch.from_status,
                    ch.from_reason,
                    ch.to_status,
                    ch.to_reason,
                ],
            )
        for c in comments:
            cur.execute(
                "INSERT INTO anomaly_comments (anomaly_id, author, body, created_at)"
                " VALUES (?, ?, ?, ?)",
                [c.anomaly_id, c.author, c.body, c.created_at],
            )


def _anomaly_columns(anomalies: Sequence[Anomaly], now: datetime) -> dict[str, list]:
    """The anomalies as columns of the anomalies table (``_schemas()["anomaly"]``'s order)."""
    return {
        "id": [a.id for a in anomalies],
        "datastore_id": [a.datastore_id for a in anomalies],
        "datastore_name": [a.datastore_name for a in anomalies],
        "container": [a.container for a in anomalies],
        "fields": [list(a.fields) for a in anomalies],
        "anomaly_type": [a.anomaly_type for a in anomalies],
        "status": [a.status for a in anomalies],
        "archive_reason": [a.archive_reason for a in anomalies],
        "detected_at": [a.detected_at for a in anomalies],
        "description": [a.description for a in anomalies],
        "weight": [a.weight for a in anomalies],
        "tags": [list(a.tags) for a in anomalies],
        "search_text": [search_text(a) for a in anomalies],
        "updated_at": [now] * len(anomalies),
    }


def _check_columns(anomalies: Sequence[Anomaly]) -> dict[str, list]:
    """Every failed check of the anomalies as columns of the failed_checks table."""
    rows = [(a.id, i, c) for a in anomalies for i, c in enumerate(a.failed_checks)]
    return {
        "anomaly_id": [r[0] for r in rows],
        "position": [r[1] for r in rows],
        "check_id": [r[2].check_id for r in rows],
        "rule_type": [r[2].rule_type for r in rows],
        "message": [r[2].message for r in rows],
    }


_ALLOWED = {
    Status.ACKNOWLEDGED: {Status.ACTIVE.value},
    Status.ARCHIVED: {Status.ACTIVE.value, Status.ACKNOWLEDGED.value},
    Status.ACTIVE: {Status.ACKNOWLEDGED.value, Status.ARCHIVED.value},
}


def _check_transition(current: str, to_status: Status, reason: ArchiveReason | None) -> None:
    if to_status is Status.ARCHIVED and reason is None:
        raise InvalidTransition(
            "Archiving needs a reason: Resolved, Invalid, Duplicate or Discarded."
        )
    if to_status is not Status.ARCHIVED and reason is not None:
        raise InvalidTransition("Only archiving takes a reason.")
    if current not in _ALLOWED[to_status]:
        verb = {
            Status.ACKNOWLEDGED: "acknowledge",
            Status.ARCHIVED: "archive",
            Status.ACTIVE: "reopen",
        }[to_status]
        raise InvalidTransition(f"Cannot {verb} an anomaly that is {current}.")


def matching_ids(db: Database, flt: AnomalyFilter, limit: int) -> list[int]:
    """Ids of the anomalies matching ``flt`` (a bulk action's "all N matching"), newest first.

    At most ``limit`` ids: the caller refuses a larger selection rather than cut it.
    """
    where, params = _where(flt)
    with db.read() as cur:
        rows = cur.execute(
            f"SELECT id FROM anomalies{where} ORDER BY detected_at DESC, id DESC LIMIT ?",
            [*params, int(limit)],
        ).fetchall()
    return [r[0] for r in rows]


def get_many(db: Database, ids: Sequence[int]) -> dict[int, Anomaly]:
    """The anomalies with these ids (unknown ids left out), in two queries for any number."""
    wanted = [int(i) for i in ids]
    with db.read() as cur:
        rows = cur.execute(
            f"SELECT {_ANOMALY_COLUMNS} FROM anomalies WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [wanted],
        ).fetchall()
        checks: dict[int, list[FailedCheck]] = {}
        for anomaly_id, *check in cur.execute(
            "SELECT anomaly_id, check_id, rule_type, message FROM failed_checks"
            " WHERE anomaly_id IN (SELECT unnest(?::BIGINT[])) ORDER BY anomaly_id, position",
            [wanted],
        ).fetchall():
            checks.setdefault(anomaly_id, []).append(FailedCheck(*check))
    return {row[0]: _row_to_anomaly(row, checks.get(row[0], ())) for row in rows}
