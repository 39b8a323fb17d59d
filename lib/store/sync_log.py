"""The sync log (``sync_log``): every Jira call as one row, and the outbox's state.

Writers take the cursor of the caller's transaction (``*_in`` functions), so
an anomaly change and its queued Jira updates commit together. What is stored
never holds a secret: request bodies pass through ``scrub_json`` and error
texts come from ``JiraError`` messages, which the client already redacts.

States, actions and modes are ``StrEnum``s, and a row changes state only
through named transitions: ``claim`` (pending/deferred -> sending),
``finish_ok``, ``fail``, ``release`` (back to pending, maybe to reconcile),
``defer``, ``requeue`` (Retry), ``recover_stale_in`` and
``confirm_waiting_in`` (a create's ticket reaches the rows that waited on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import duckdb

from lib.store import stats_rollup
from lib.store.db import Database


class SyncStatus(StrEnum):
    """A row's state: unfinished (pending, sending, deferred) or finished (ok, failed)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by one process for one HTTP call
    OK = "ok"
    FAILED = "failed"
    DEFERRED = "deferred"  # past the operator's update limit, planned for later
    CANCELLED = "cancelled"  # given up by a person before it was sent (a bulk job's Cancel)


class SyncAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    COMMENT = "comment"
    LINK = "link"
    UNLINK = "unlink"
    REFRESH = "refresh"
    TRANSITION = "transition"  # move a linked ticket into or out of Jira's Done


class SyncMode(StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


ACTIONS = tuple(SyncAction)
UNFINISHED = (SyncStatus.PENDING, SyncStatus.SENDING, SyncStatus.DEFERRED)
CLAIMABLE = (SyncStatus.PENDING, SyncStatus.DEFERRED)
RESPONSE_LIMIT = 4000
REQUEST_LIMIT = 40_000
_SECRET_KEYS = {"authorization", "password", "api_token", "token", "secret", "cookie"}

_COLUMNS = (
    "id, created_at, action, mode, status, anomaly_id, connection_id, link_id, ticket_id,"
    " ticket_key, ticket_url, actor, error, request_json, response_json, latency_ms, attempts,"
    " next_attempt_at, sent_at, finished_at, permanent, needs_reconcile, reconcile_miss_at,"
    " claimed_by, body_text, body_doc, request_id, idempotency_key, submission_key, waits_on,"
    " rich_fields, automation_guid, error_kind"
)
COLUMNS = _COLUMNS  # for lib.store.outbox_queue, which reads whole rows too
_WRITABLE = frozenset(c.strip() for c in _COLUMNS.split(",")) - {"id"}


# What Retry can send again: the rows the outbox sends (SyncEngine.retry, the Log page).
RETRYABLE_ACTIONS = (
    SyncAction.CREATE,
    SyncAction.COMMENT,
    SyncAction.UPDATE,
    SyncAction.TRANSITION,  # a refused move, once the workflow allows it
)


@dataclass(frozen=True)
class LogRow:
    id: int
    created_at: datetime
    action: str
    mode: str
    status: str
    anomaly_id: int | None
    connection_id: int | None
    link_id: int | None
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    actor: str | None
    error: str | None
    request_json: str | None
    response_json: str | None
    latency_ms: float | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None
    permanent: bool
    needs_reconcile: bool
    reconcile_miss_at: datetime | None
    claimed_by: str | None
    body_text: str | None
    body_doc: str | None
    request_id: str | None
    idempotency_key: str | None = None
    submission_key: str | None = None
    waits_on: int | None = None
    rich_fields: str | None = None
    automation_guid: str | None = None
    error_kind: str | None = None  # lib.jira.errors.ErrorKind of the last failed attempt

    @property
    def ticket(self) -> tuple:
        """What must go out in order: one Jira issue, or one pending create and what waits on it."""
        if self.action == SyncAction.CREATE or self.waits_on is not None:
            # A create without an anomaly is its own queue (keyed by its label),
            # so one lost automation create does not hold up the others.
            owner = self.anomaly_id if self.anomaly_id is not None else self.idempotency_key
            return ("create", self.connection_id, owner)
        return ("issue", self.connection_id, self.ticket_key)

    @property
    def queue_key(self) -> tuple:
        """``ticket`` as the four values ``lib.store.outbox_queue`` groups by in SQL."""
        create = self.action == SyncAction.CREATE or self.waits_on is not None
        if not create:
            return (False, self.connection_id, None, self.ticket_key)
        label = self.idempotency_key if self.anomaly_id is None else None
        return (True, self.connection_id, self.anomaly_id, label)

    @property
    def waiting(self) -> bool:
        """Queued for a create that Jira has not confirmed yet (no ticket to send to)."""
        return self.waits_on is not None

    @property
    def request(self) -> dict:
        return json.loads(self.request_json) if self.request_json else {}


def scrub_json(value: Any) -> Any:
    """``value`` without secret-looking keys (Authorization and the like), at any depth."""
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if str(k).lower() in _SECRET_KEYS else scrub_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value


def to_json(value: Any, limit: int = REQUEST_LIMIT) -> str | None:
    """Compact JSON, secrets removed, cut to ``limit`` characters (marked when cut)."""
    if value is None:
        return None
    text = json.dumps(scrub_json(value), separators=(",", ":"), default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 14] + "…[truncated]"


def _insert_sql(
    returning: str,
    now: datetime,
    action: str,
    mode: str,
    status: str,
    values: dict,
    *,
    unless: str = "",
) -> tuple[str, list]:
    """The INSERT of one row; ``unless`` (a condition, its parameters last) writes nothing."""
    action, mode, status = SyncAction(action), SyncMode(mode), SyncStatus(status)
    names = ["created_at", "action", "mode", "status", *values]
    params = [now, str(action), str(mode), str(status), *values.values()]
    marks = ", ".join("?" for _ in names)
    source = f"SELECT {marks} WHERE NOT ({unless})" if unless else f"VALUES ({marks})"
    return (
        f"INSERT INTO sync_log ({', '.join(names)}) {source} RETURNING {returning}",
        params,
    )


def _mark_waited_on_in(cur, *create_ids: int | None) -> None:
    """Creates that rows now wait on say so (``has_waiters``): confirming them hands on the ticket."""
    waited = sorted({int(i) for i in create_ids if i is not None})
    if waited:
        cur.execute(
            "UPDATE sync_log SET has_waiters = TRUE WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [waited],
        )


def _count_if_finished_in(cur, log_id: int, status: str, values: dict) -> None:
    """A row written already finished is counted now (the statistics' rollup)."""
    if SyncStatus(status) in (SyncStatus.OK, SyncStatus.FAILED):
        stats_rollup.record_in(
            cur,
            log_id,
            str(SyncStatus(status)),
            error_kind=values.get("error_kind"),
            latency_ms=values.get("latency_ms"),
        )


class SyncLog:
    """Reads and writes of ``sync_log`` rows.

    Writes are named transitions (``claim``, ``finish_ok``, ``fail``,
    ``release``, ``defer``, ``requeue``...), so every state change of a row
    can be found by name; each ``*_in`` form runs in the caller's transaction.
    """

    def __init__(self, db: Database):
        self._db = db

    # -- writes (inside the caller's transaction) ---------------------------
    @staticmethod
    def insert_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        now: datetime,
        action: str,
        mode: str,
        status: str,
        **values: Any,
    ) -> int:
        """Insert one row; ``values`` are column names (see the migrations)."""
        sql, params = _insert_sql("id", now, action, mode, status, values)
        log_id = int(cur.execute(sql, params).fetchone()[0])
        _mark_waited_on_in(cur, values.get("waits_on"))
        _count_if_finished_in(cur, log_id, status, values)
        return log_id

    @staticmethod
    def link_event_in(
        cur: duckdb.DuckDBPyConnection,
        link: Any,
        *,
        action: str,
        mode: str,
        actor: str,
        now: datetime,
        **values: Any,
    ) -> int:
        """A finished row for what was done to a link (``lib.store.links.TicketLink``) with
        no Jira write of its own: linked by a person, a bulk job or a rule, or unlinked."""
        return SyncLog.insert_in(
            cur,
            now=now,
            action=action,
            mode=mode,
            status=SyncStatus.OK,
            anomaly_id=link.anomaly_id,
            connection_id=link.connection_id,
            link_id=link.id,
            ticket_id=link.issue_id,
            ticket_key=link.issue_key,
            ticket_url=link.url,
            actor=actor,
            finished_at=now,
            **values,
        )

    @staticmethod
    def insert_row_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        now: datetime,
        action: str,
        mode: str,
        status: str,
        **values: Any,
    ) -> LogRow:
        """``insert_in`` that returns the whole row (one statement, not an INSERT and a SELECT)."""
        sql, params = _insert_sql(_COLUMNS, now, action, mode, status, values)
        row = LogRow(*cur.execute(sql, params).fetchone())
        _mark_waited_on_in(cur, values.get("waits_on"))
        _count_if_finished_in(cur, row.id, status, values)
        return row

    @staticmethod
    def insert_create_unless_unfinished_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        now: datetime,
        action: str,
        mode: str,
        status: str,
        **values: Any,
    ) -> LogRow | None:
        """A create row, unless its anomaly has an unfinished create on the same connection.

        None then (nothing written): the earlier one may be on Jira and is
        settled first. The check and the insert are one statement, not a
        SELECT before the transaction and an INSERT in it (~2 ms per create).
        """
        unless = (
            "EXISTS (SELECT 1 FROM sync_log WHERE action = ? AND anomaly_id = ?"
            " AND connection_id = ? AND status IN (?, ?, ?))"
        )
        if SyncAction(action) != SyncAction.CREATE:
            raise ValueError(f"not a create: {action}")
        sql, params = _insert_sql(_COLUMNS, now, action, mode, status, values, unless=unless)
        earlier = [
            str(SyncAction.CREATE),
            values.get("anomaly_id"),
            values.get("connection_id"),
            *map(str, UNFINISHED),
        ]
        found = cur.execute(sql, [*params, *earlier]).fetchone()
        return LogRow(*found) if found else None

    @staticmethod
    def _set_in(cur: duckdb.DuckDBPyConnection, log_id: int, **values: Any) -> None:
        unknown = set(values) - _WRITABLE
        if unknown:  # column names come from our code only, never from user text
            raise ValueError(f"unknown sync_log columns {sorted(unknown)}")
        sets = ", ".join(f"{name} = ?" for name in values)
        params = [str(v) if isinstance(v, StrEnum) else v for v in values.values()]
        cur.execute(f"UPDATE sync_log SET {sets} WHERE id = ?", [*params, log_id])

    @staticmethod
    def get_in(cur: duckdb.DuckDBPyConnection, log_id: int) -> LogRow | None:
        row = cur.execute(f"SELECT {_COLUMNS} FROM sync_log WHERE id = ?", [log_id]).fetchone()
        return LogRow(*row) if row else None

    @classmethod
    def claim_in(cls, cur, row: LogRow, *, token: str, now: datetime) -> None:
        """pending/deferred -> sending, held by ``token`` for one attempt."""
        cls._set_in(
            cur,
            row.id,
            status=SyncStatus.SENDING,
            claimed_by=token,
            attempts=row.attempts + 1,
            sent_at=now,
        )

    @classmethod
    def finish_ok_in(
        cls,
        cur,
        log_id: int,
        *,
        now: datetime,
        response_json: str | None,
        latency_ms: float | None,
        **ticket: Any,
    ) -> None:
        """sending -> ok; ``ticket`` may name the issue (ticket_id/key/url, link_id, request_json)."""
        cls._set_in(
            cur,
            log_id,
            status=SyncStatus.OK,
            claimed_by=None,
            finished_at=now,
            needs_reconcile=False,
            permanent=False,
            error=None,
            error_kind=None,
            response_json=response_json,
            latency_ms=latency_ms,
            **ticket,
        )
        stats_rollup.record_in(cur, log_id, str(SyncStatus.OK), latency_ms=latency_ms)

    @classmethod
    def fail_in(
        cls,
        cur,
        log_id: int,
        *,
        now: datetime,
        error: str,
        response_json: str | None = None,
        latency_ms: float | None = None,
        error_kind: str | None = None,
    ) -> None:
        """-> failed for good (until Retry): the same request would be refused again.

        Rows waiting on it (changes queued while a create was unconfirmed) fail
        with it, so nothing waits forever; Retry of the create takes them along.
        """
        cls._set_in(
            cur,
            log_id,
            status=SyncStatus.FAILED,
            permanent=True,
            claimed_by=None,
            error=error,
            error_kind=error_kind,
            finished_at=now,
            response_json=response_json,
            latency_ms=latency_ms,
        )
        stats_rollup.record_in(
            cur, log_id, str(SyncStatus.FAILED), error_kind=error_kind, latency_ms=latency_ms
        )
        stats_rollup.record_waiters_failed_in(cur, log_id, UNFINISHED)
        cur.execute(
            "UPDATE sync_log SET status = ?, permanent = TRUE, error = ?, finished_at = ?"
            " WHERE waits_on = ? AND status IN (?, ?, ?)",
            [
                str(SyncStatus.FAILED),
                f"not sent: the create it waits for (log row {log_id}) failed; retry that create",
                now,
                log_id,
                *map(str, UNFINISHED),
            ],
        )

    @classmethod
    def release_in(
        cls,
        cur,
        log_id: int,
        *,
        error: str,
        next_attempt_at: datetime,
        needs_reconcile: bool,
        latency_ms: float | None = None,
        forget_miss: bool = False,
        error_kind: str | None = None,
    ) -> None:
        """sending -> pending, to be tried (or looked for) again at ``next_attempt_at``."""
        extra = {"reconcile_miss_at": None} if forget_miss else {}
        cls._set_in(
            cur,
            log_id,
            status=SyncStatus.PENDING,
            claimed_by=None,
            error=error,
            error_kind=error_kind,
            needs_reconcile=needs_reconcile,
            latency_ms=latency_ms,
            next_attempt_at=next_attempt_at,
            **extra,
        )
        stats_rollup.record_retry_in(
            cur,
            log_id,
            error_kind=error_kind,
            latency_ms=latency_ms,
            next_attempt_at=next_attempt_at,
        )

    @staticmethod
    def defer_in(cur, log_id: int, until: datetime) -> None:
        """pending/deferred -> deferred until ``until`` (the operator's update limit)."""
        stats_rollup.record_deferred_in(cur, log_id)
        cur.execute(
            "UPDATE sync_log SET status = ?, next_attempt_at = ? WHERE id = ? AND status IN (?, ?)",
            [str(SyncStatus.DEFERRED), until, log_id, *map(str, CLAIMABLE)],
        )

    @classmethod
    def requeue_in(cls, cur, log_id: int, now: datetime) -> None:
        """failed -> pending now (the Retry action), with the rows that waited on it."""
        cls._set_in(
            cur,
            log_id,
            status=SyncStatus.PENDING,
            permanent=False,
            next_attempt_at=now,
            finished_at=None,
        )
        cur.execute(
            "UPDATE sync_log SET status = ?, permanent = FALSE, error = NULL, finished_at = NULL,"
            " next_attempt_at = ? WHERE waits_on = ? AND status = ?",
            [str(SyncStatus.PENDING), now, log_id, str(SyncStatus.FAILED)],
        )

    @staticmethod
    def recover_stale_in(cur, token: str, now: datetime) -> int:
        """Rows another (dead) process left in ``sending``: pending, to be reconciled first."""
        rows = cur.execute(
            "UPDATE sync_log SET status = ?, needs_reconcile = TRUE, claimed_by = NULL,"
            " next_attempt_at = ? WHERE status = ? AND (claimed_by IS NULL OR claimed_by <> ?)"
            " RETURNING id",
            [str(SyncStatus.PENDING), now, str(SyncStatus.SENDING), token],
        ).fetchall()
        return len(rows)

    @staticmethod
    def confirm_waiting_in(
        cur,
        create_id: int,
        *,
        ticket_id: str,
        ticket_key: str,
        ticket_url: str,
        link_id: int | None,
        now: datetime,
    ) -> int:
        """Give the rows waiting on a confirmed create its ticket: they are sent next, in order."""
        rows = cur.execute(
            "UPDATE sync_log SET ticket_id = ?, ticket_key = ?, ticket_url = ?, link_id = ?,"
            " waits_on = NULL, next_attempt_at = ? WHERE waits_on = ? RETURNING id",
            [ticket_id, ticket_key, ticket_url, link_id, now, create_id],
        ).fetchall()
        return len(rows)

    @staticmethod
    def finish_create_ok_in(
        cur,
        create_id: int,
        *,
        now: datetime,
        response_json: str | None,
        latency_ms: float | None,
        ticket_id: str,
        ticket_key: str,
        ticket_url: str,
        link_id: int | None,
    ) -> None:
        """A confirmed create: sending -> ok, and its ticket to the rows that waited on it.

        What ``finish_ok_in`` sets, found by id, then ``confirm_waiting_in``
        only for a create that has waiters (``has_waiters``, migration 017):
        one UPDATE on almost every create, not one that scans the whole log
        for rows waiting on it.
        """
        waited = cur.execute(
            "UPDATE sync_log SET status = ?, claimed_by = NULL, finished_at = ?,"
            " needs_reconcile = FALSE, permanent = FALSE, error = NULL, error_kind = NULL,"
            " response_json = ?, latency_ms = ?, ticket_id = ?, ticket_key = ?, ticket_url = ?,"
            " link_id = ? WHERE id = ? RETURNING has_waiters",
            [
                str(SyncStatus.OK),
                now,
                response_json,
                latency_ms,
                ticket_id,
                ticket_key,
                ticket_url,
                link_id,
                create_id,
            ],
        ).fetchone()
        if waited is not None and waited[0]:
            SyncLog.confirm_waiting_in(
                cur,
                create_id,
                ticket_id=ticket_id,
                ticket_key=ticket_key,
                ticket_url=ticket_url,
                link_id=link_id,
                now=now,
            )
        stats_rollup.record_in(cur, create_id, str(SyncStatus.OK), latency_ms=latency_ms)

    def claim(self, row: LogRow, *, token: str, now: datetime) -> None:
        with self._db.transaction() as cur:
            self.claim_in(cur, row, token=token, now=now)

    def finish_ok(self, log_id: int, **values: Any) -> None:
        with self._db.transaction() as cur:
            self.finish_ok_in(cur, log_id, **values)

    def fail(self, log_id: int, **values: Any) -> None:
        with self._db.transaction() as cur:
            self.fail_in(cur, log_id, **values)

    def release(self, log_id: int, **values: Any) -> None:
        with self._db.transaction() as cur:
            self.release_in(cur, log_id, **values)

    def note_miss(self, log_id: int, at: datetime) -> None:
        """The first reconciliation that did not find a lost create (the confirmation clock)."""
        with self._db.transaction() as cur:
            self._set_in(cur, log_id, reconcile_miss_at=at)

    def record_request(self, log_id: int, request_json: str | None) -> None:
        """What an attempt sent, kept even when its answer was an error."""
        with self._db.transaction() as cur:
            self._set_in(cur, log_id, request_json=request_json)

    def mark_sending(self, log_id: int, token: str) -> None:
        """Test and crash-recovery helper: pretend ``token``'s process holds the row."""
        with self._db.transaction() as cur:
            self._set_in(cur, log_id, status=SyncStatus.SENDING, claimed_by=token)

    # -- reads ---------------------------------------------------------------
    def get(self, log_id: int) -> LogRow | None:
        with self._db.read() as cur:
            return self.get_in(cur, log_id)

    def unfinished(self) -> list[LogRow]:
        """Pending, sending and deferred rows, oldest first (the outbox's queue)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE status IN (?, ?, ?) ORDER BY id",
                [str(s) for s in UNFINISHED],
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def for_anomaly(self, anomaly_id: int, limit: int = 200) -> list[LogRow]:
        """An anomaly's rows, newest first (the details panel shows failures with Retry)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE anomaly_id = ? ORDER BY id DESC LIMIT ?",
                [anomaly_id, int(limit)],
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def recent(self, limit: int = 100, offset: int = 0) -> list[LogRow]:
        """Newest rows first (the Log page pages this with its own filters)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log ORDER BY id DESC LIMIT ? OFFSET ?",
                [int(limit), int(offset)],
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def automatic_updates_since(self, since: datetime) -> list[datetime]:
        """Send times of automatic updates/comments since ``since`` (the update limit's window)."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT sent_at FROM sync_log WHERE mode = 'automatic'"
                " AND action IN ('update', 'comment', 'transition') AND sent_at >= ?"
                " AND status IN ('ok', 'sending', 'failed') ORDER BY sent_at",
                [since],
            ).fetchall()
        return [r[0] for r in rows]

    def delivered_count(
        self, connection_id: int, ticket_key: str, body_text: str, before_id: int
    ) -> int:
        """Earlier rows that delivered this exact text to this issue (for duplicate checks)."""
        with self._db.read() as cur:
            return cur.execute(
                "SELECT count(*) FROM sync_log WHERE action = 'comment' AND status = 'ok'"
                " AND connection_id = ? AND ticket_key = ? AND body_text = ? AND id < ?",
                [connection_id, ticket_key, body_text, before_id],
            ).fetchone()[0]

    @staticmethod
    def unfinished_creates_in(
        cur: duckdb.DuckDBPyConnection, anomaly_id: int, connection_id: int | None = None
    ) -> list[LogRow]:
        """An anomaly's creates Jira has not confirmed yet (changes made now wait on them)."""
        sql = (
            f"SELECT {_COLUMNS} FROM sync_log WHERE action = ? AND anomaly_id = ?"
            " AND status IN (?, ?, ?)"
        )
        params: list = [str(SyncAction.CREATE), anomaly_id, *map(str, UNFINISHED)]
        if connection_id is not None:
            sql += " AND connection_id = ?"
            params.append(connection_id)
        return [LogRow(*r) for r in cur.execute(sql + " ORDER BY id", params).fetchall()]

    def create_for_submission(self, submission_key: str) -> LogRow | None:
        """The latest create of one dialog submission that did not fail (a second press)."""
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE action = ? AND submission_key = ?"
                " AND status <> ? ORDER BY id DESC LIMIT 1",
                [str(SyncAction.CREATE), submission_key, str(SyncStatus.FAILED)],
            ).fetchone()
        return LogRow(*row) if row else None

    def create_for_guid(self, guid: str) -> LogRow | None:
        """The latest create of an automation GUID that did not fail."""
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE action = ? AND automation_guid = ?"
                " AND status <> ? ORDER BY id DESC LIMIT 1",
                [str(SyncAction.CREATE), guid, str(SyncStatus.FAILED)],
            ).fetchone()
        return LogRow(*row) if row else None
