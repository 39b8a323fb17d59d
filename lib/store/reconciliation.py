"""Each linked anomaly's state beside its tickets' state in Jira, in one query.

The Reconciliation page and the poll's daily drift count both start here; the
reasons themselves are decided by ``lib.tickets.reconciliation`` (a pure
function over these rows), so the SQL only counts. Queued and failed changes
come from ``AnomalyTicketRepository.ticket_overview``, which already knows
which failures a later success superseded.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.store.db import Database


@dataclass(frozen=True)
class LinkedAnomaly:
    """One anomaly with active links of a connection, and what its tickets say."""

    anomaly_id: int
    status: str
    archive_reason: str | None
    links: int
    done: int  # visible tickets in Jira's Done category
    open: int  # visible tickets outside it (status known)
    gone: int  # deleted in Jira or no longer visible (404/403)
    moved: int  # moved to another key, not yet seen by a person
    keys: tuple[str, ...]
    moved_from: tuple[str, ...]
    resolutions: tuple[str, ...]  # of the Done tickets


class ReconciliationRepository:
    def __init__(self, db: Database):
        self._db = db

    def linked_anomalies(
        self, connection_id: int, anomaly_ids: list[int] | None = None
    ) -> list[LinkedAnomaly]:
        """Every anomaly with an active link of ``connection_id`` (or only ``anomaly_ids``)."""
        only = " AND l.anomaly_id IN (SELECT unnest(?::BIGINT[]))" if anomaly_ids else ""
        params: list = [connection_id] + ([list(anomaly_ids)] if anomaly_ids else [])
        with self._db.read() as cur:
            rows = cur.execute(
                "WITH l AS (SELECT l.id, l.anomaly_id, l.issue_key, l.status_category,"
                "  s.gone_at, s.moved_from, coalesce(s.moved_noted, FALSE) AS noted, s.resolution"
                "  FROM ticket_links l LEFT JOIN jira_ticket_state s ON s.link_id = l.id"
                f"  WHERE l.unlinked_at IS NULL AND l.connection_id = ?{only}),"
                " agg AS (SELECT anomaly_id, count(*) AS links,"
                "  count(*) FILTER (WHERE gone_at IS NULL AND status_category = 'done') AS done,"
                "  count(*) FILTER (WHERE gone_at IS NULL AND status_category IS NOT NULL"
                "   AND status_category <> 'done') AS open,"
                "  count(*) FILTER (WHERE gone_at IS NOT NULL) AS gone,"
                "  count(*) FILTER (WHERE moved_from IS NOT NULL AND NOT noted) AS moved,"
                "  list(issue_key ORDER BY id) AS keys,"
                "  coalesce(list(moved_from ORDER BY id) FILTER (WHERE moved_from IS NOT NULL"
                "   AND NOT noted), []::VARCHAR[]) AS moved_from,"
                "  coalesce(list(coalesce(resolution, 'Done') ORDER BY id) FILTER"
                "   (WHERE gone_at IS NULL AND status_category = 'done'), []::VARCHAR[])"
                "   AS resolutions"
                "  FROM l GROUP BY anomaly_id)"
                " SELECT a.id, a.status, a.archive_reason, agg.links, agg.done, agg.open,"
                " agg.gone, agg.moved, agg.keys, agg.moved_from, agg.resolutions"
                " FROM agg JOIN anomalies a ON a.id = agg.anomaly_id ORDER BY a.id",
                params,
            ).fetchall()
        return [LinkedAnomaly(*r[:8], tuple(r[8]), tuple(r[9]), tuple(r[10])) for r in rows]
