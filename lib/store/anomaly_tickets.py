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
        """Linked keys, queued and failed Jira updates of many anomalies, in one query.

        A failure counts until it is superseded (see ``_judged``): the list
        must not flag an anomaly whose failed create was followed by a good one.
        """
        ids = [int(i) for i in anomaly_ids]
        if not ids:
            return {}
        with self._db.read() as cur:
            rows = cur.execute(
                "WITH ids AS (SELECT DISTINCT unnest(?::BIGINT[]) AS id),"
                f" judged AS ({_judged('anomaly_id IN (SELECT id FROM ids)')}),"
                " keys AS (SELECT anomaly_id, list(issue_key ORDER BY linked_at, id) AS keys"
                "  FROM ticket_links WHERE unlinked_at IS NULL"
                "  AND anomaly_id IN (SELECT id FROM ids) GROUP BY anomaly_id),"
                " log AS (SELECT anomaly_id,"
                "  count(*) FILTER (WHERE status IN ('pending', 'sending', 'deferred')) AS queued,"
                "  count(*) FILTER (WHERE status = 'failed' AND NOT superseded) AS failed"
                "  FROM judged GROUP BY anomaly_id)"
                " SELECT ids.id, coalesce(keys.keys, []::VARCHAR[]), coalesce(log.queued, 0),"
                " coalesce(log.failed, 0) FROM ids LEFT JOIN keys ON keys.anomaly_id = ids.id"
                " LEFT JOIN log ON log.anomaly_id = ids.id",
                [ids],
            ).fetchall()
        return {r[0]: TicketOverview(r[0], tuple(r[1]), r[2], r[3]) for r in rows}

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


@dataclass(frozen=True)
class TicketOverview:
    """An anomaly's Jira side as the list shows it."""

    anomaly_id: int
    ticket_keys: tuple[str, ...]
    queued: int  # updates not yet sent (pending, sending, deferred)
    failed: int  # failures not superseded by a later success
