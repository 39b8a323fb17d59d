"""An anomaly's Jira side as the Anomalies page shows it: links and outbox rows, read together.

Apart from ``lib.store.anomalies`` (the anomalies themselves, their history and
comments) because these reads span ``ticket_links`` and ``sync_log``: they
answer "what happened on Jira for these anomalies", for the list and the panel.
All SQL takes parameters; ``_judged``'s filter is our own text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.store.db import Database


class AnomalyTicketRepository:
    """Ticket keys, queued and failed updates, superseded failures and stale links per anomaly."""

    def __init__(self, db: Database):
        self._db = db

    def ticket_overview(self, anomaly_ids: Sequence[int]) -> dict[int, TicketOverview]:
        """Linked keys, queued and failed Jira updates of many anomalies, in one read.

        A failure counts until it is superseded (the rule of ``_judged``): the
        list must not flag an anomaly whose failed create was followed by a
        good one. The rule is applied here over the anomalies' rows read
        without their ``ticket_key``: a page's ~500 rows are spread over most
        of the log's row groups, and reading ``ticket_key`` there too cost
        ~20 ms of the ~22 ms at 1,000,000 rows (the other columns are
        dictionary-compressed and cost ~2 ms). Keys are read only for the few
        link and refresh rows whose failure a success might supersede.
        """
        ids = tuple(sorted({int(i) for i in anomaly_ids}))
        if not ids:
            return {}
        # Every rerun of the Anomalies page asks again for the same rows.
        return dict(self._db.kept(("ticket_overview", ids), lambda: self._read_overview(ids)))

    def _read_overview(self, ids: tuple[int, ...]) -> dict[int, TicketOverview]:
        """``ticket_overview`` read from the store."""
        with self._db.read() as cur:
            keys = dict(
                cur.execute(
                    "SELECT anomaly_id, list(issue_key ORDER BY linked_at, id) FROM ticket_links"
                    " WHERE unlinked_at IS NULL AND anomaly_id IN (SELECT unnest(?::BIGINT[]))"
                    " GROUP BY anomaly_id",
                    [list(ids)],
                ).fetchall()
            )
            rows = [
                _LogState(*r)
                for r in cur.execute(
                    "SELECT id, anomaly_id, connection_id, action, status FROM sync_log"
                    " WHERE anomaly_id IN (SELECT unnest(?::BIGINT[]))",
                    [list(ids)],
                ).fetchall()
            ]
            issue_of = _issue_keys_in(cur, _rows_needing_their_issue(rows))
        queued, failed = _counted(rows, issue_of)
        return {
            i: TicketOverview(i, tuple(keys.get(i, ())), queued.get(i, 0), failed.get(i, 0))
            for i in ids
        }

    def superseded_failures(self, anomaly_id: int) -> dict[int, str]:
        """Failed rows of an anomaly that a later success replaced: log id -> its issue key."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"WITH judged AS ({_judged('anomaly_id = ?')})"
                " SELECT id, coalesce(superseded_by, '') FROM judged WHERE superseded",
                [anomaly_id],
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def stale_links(self, anomaly_id: int) -> list[int]:
        """Active links of an anomaly whose issue we updated after the link last read it.

        The Tickets page PUTs fields straight to Jira; the link's copy of the
        summary and priority is only as new as its last refresh.
        """
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT t.id FROM ticket_links t WHERE t.anomaly_id = ? AND t.unlinked_at IS NULL"
                " AND EXISTS (SELECT 1 FROM sync_log l WHERE l.action = 'update'"
                " AND l.status = 'ok' AND l.connection_id = t.connection_id"
                " AND upper(l.ticket_key) = upper(t.issue_key)"
                " AND l.finished_at > coalesce(t.last_synced_at, t.linked_at)) ORDER BY t.id",
                [anomaly_id],
            ).fetchall()
        return [r[0] for r in rows]


def _judged(where: str) -> str:
    """Some anomalies' sync_log rows (``where``, our own text), each marked superseded or not.

    A failed create, link or refresh is superseded by a later success of the
    same action for the same anomaly and connection (and the same issue, but
    for a create, which has none yet). Failed comments and updates never are:
    each carries its own text or fields, so only Retry settles them. A window
    over the anomalies' own rows (~10 each), not a lookup per row through the
    whole log: the list's query stays near its 8 ms scan with 1,000,000 rows.
    """
    return (
        "SELECT id, anomaly_id, status, (action IN ('create', 'link', 'refresh')"
        " AND status = 'failed' AND coalesce(max(id) FILTER (WHERE status = 'ok') OVER w, 0) > id)"
        " AS superseded, arg_max(ticket_key, id) FILTER (WHERE status = 'ok') OVER w"
        f" AS superseded_by FROM sync_log WHERE {where} WINDOW w AS (PARTITION BY anomaly_id,"
        " connection_id, action, CASE WHEN action = 'create' THEN '' ELSE upper(ticket_key) END)"
    )


_SUPERSEDABLE = ("create", "link", "refresh")
_QUEUED = ("pending", "sending", "deferred")


@dataclass(frozen=True)
class _LogState:
    """A sync_log row as ``ticket_overview`` judges it (without its ticket key)."""

    id: int
    anomaly_id: int
    connection_id: int | None
    action: str
    status: str

    @property
    def group(self) -> tuple:
        return (self.anomaly_id, self.connection_id, self.action)


def _rows_needing_their_issue(rows: list[_LogState]) -> list[int]:
    """Link and refresh rows of groups with a failure and a later success: their keys decide."""
    failed_first: dict[tuple, int] = {}
    for r in rows:
        if r.action in ("link", "refresh") and r.status == "failed":
            failed_first[r.group] = min(r.id, failed_first.get(r.group, r.id))
    if not failed_first:
        return []
    late_ok = {r.group for r in rows if r.status == "ok" and r.id > failed_first.get(r.group, r.id)}
    return [
        r.id
        for r in rows
        if r.group in late_ok and r.status in ("ok", "failed") and r.id >= failed_first[r.group]
    ]


def _issue_keys_in(cur, log_ids: list[int]) -> dict[int, str | None]:
    """Upper-cased ticket keys of a few log rows (``_judged`` compares them upper-cased)."""
    if not log_ids:
        return {}
    return dict(
        cur.execute(
            "SELECT id, upper(ticket_key) FROM sync_log WHERE id IN (SELECT unnest(?::BIGINT[]))",
            [log_ids],
        ).fetchall()
    )


def _counted(rows: list[_LogState], issue_of: dict[int, str | None]):
    """Queued and not-superseded failed rows per anomaly, by ``_judged``'s rule."""

    def partition(r: _LogState) -> tuple:
        return (*r.group, "" if r.action == "create" else issue_of.get(r.id))

    latest_ok: dict[tuple, int] = {}
    for r in rows:
        if (
            r.status == "ok"
            and r.action in _SUPERSEDABLE
            and (r.action == "create" or r.id in issue_of)
        ):
            key = partition(r)
            latest_ok[key] = max(r.id, latest_ok.get(key, 0))
    queued: dict[int, int] = {}
    failed: dict[int, int] = {}
    for r in rows:
        if r.status in _QUEUED:
            queued[r.anomaly_id] = queued.get(r.anomaly_id, 0) + 1
        elif r.status == "failed":
            superseded = (
                r.action in _SUPERSEDABLE
                and (r.action == "create" or r.id in issue_of)
                and latest_ok.get(partition(r), 0) > r.id
            )
            if not superseded:
                failed[r.anomaly_id] = failed.get(r.anomaly_id, 0) + 1
    return queued, failed


@dataclass(frozen=True)
class TicketOverview:
    """An anomaly's Jira side as the list shows it."""

    anomaly_id: int
    ticket_keys: tuple[str, ...]
    queued: int  # updates not yet sent (pending, sending, deferred)
    failed: int  # failures not superseded by a later success
