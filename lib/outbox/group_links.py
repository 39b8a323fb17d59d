"""A bulk job's group ticket: when its one create is confirmed, link every anomaly of the job.

Called by ``lib.outbox.creates`` inside the transaction that confirms a
create without an anomaly or an automation GUID (only a group create is
both), so the ticket and all its links appear together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lib.jira import Issue
from lib.outbox.policy import ActiveJira
from lib.store.jobs import BulkJobs
from lib.store.links import DuplicateLink
from lib.store.sync_log import LogRow

if TYPE_CHECKING:
    from lib.outbox.engine import SyncEngine


def link_group_in(
    cur, engine: SyncEngine, row: LogRow, active: ActiveJira, issue: Issue, now: datetime
) -> int:
    """Link each anomaly of the job whose group create is ``row``; returns how many links."""
    job = BulkJobs.job_of_group_row_in(cur, row.id)
    if job is None:
        return 0
    made = 0
    for anomaly_id in BulkJobs.anomaly_ids_in(cur, job.id):
        try:
            engine.links.add_in(
                cur,
                anomaly_id=anomaly_id,
                connection_id=active.connection_id,
                issue=issue,
                created_by_us=True,
                actor=row.actor or "anomaly-desk",
                now=now,
            )
            made += 1
        except DuplicateLink:
            continue  # linked already (a retried confirmation): one link is enough
    return made
