"""What a user does to an anomaly: each change is stored at once, in one transaction.

The sync issue adds the outbox here: the change and the Jira updates it causes
are written together, so a change is never stored without its queued updates.
"""
from __future__ import annotations

from datetime import datetime

from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import ArchiveReason, Comment, Status, StatusChange


class AnomalyActions:
    def __init__(self, db: Database, clock):
        self._db = db
        self._repo = AnomalyRepository(db)
        self._clock = clock

    def _change(self, anomaly_id: int, to: Status, reason: ArchiveReason | None,
                actor: str) -> StatusChange:
        now: datetime = self._clock()
        with self._db.transaction() as cur:
            return self._repo.change_status_in(cur, anomaly_id, to, reason, actor, now)

    def acknowledge(self, anomaly_id: int, actor: str) -> StatusChange:
        return self._change(anomaly_id, Status.ACKNOWLEDGED, None, actor)

    def archive(self, anomaly_id: int, reason: ArchiveReason | str, actor: str) -> StatusChange:
        """Raises: ValueError for a reason that is not one of the four."""
        try:
            reason = ArchiveReason(reason)
        except ValueError:
            raise ValueError(
                f"'{reason}' is not an archive reason: use Resolved, Invalid, Duplicate or Discarded."
            ) from None
        return self._change(anomaly_id, Status.ARCHIVED, reason, actor)

    def reopen(self, anomaly_id: int, actor: str) -> StatusChange:
        return self._change(anomaly_id, Status.ACTIVE, None, actor)

    def comment(self, anomaly_id: int, author: str, text: str) -> Comment:
        with self._db.transaction() as cur:
            return self._repo.add_comment_in(cur, anomaly_id, author, text, self._clock())
