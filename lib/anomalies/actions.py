"""What a user does to an anomaly: each change is stored at once, in one transaction.

The change and the Jira updates it causes are written together (the outbox):
one pending comment per active link of the anomaly, so a change is never
stored without its queued updates, and never queued without being stored.
Jira's own workflow status is not changed: the team's workflow is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from lib.outbox.policy import enqueue_for_links_in
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import ArchiveReason, Comment, Status, StatusChange
from lib.tickets.description import comment_text, status_text


class AnomalyActions:
    """Acknowledge, archive, reopen and comment, each with its queued Jira comments.

    ``active_connection`` (optional) names the connection whose links get
    updates; without it every active link does. ``on_enqueued`` is called
    after a commit that queued something (the worker's wake-up).
    """

    def __init__(
        self,
        db: Database,
        clock,
        *,
        active_connection: Callable[[], int | None] | None = None,
        on_enqueued: Callable[[], None] | None = None,
    ):
        self._db = db
        self._repo = AnomalyRepository(db)
        self._clock = clock
        self._active_connection = active_connection
        self._on_enqueued = on_enqueued

    def _connection(self) -> int | None:
        return self._active_connection() if self._active_connection else None

    def _queued(self, ids: list[int]) -> None:
        if ids and self._on_enqueued is not None:
            self._on_enqueued()

    def _change(
        self, anomaly_id: int, to: Status, reason: ArchiveReason | None, actor: str
    ) -> StatusChange:
        now: datetime = self._clock()
        connection = self._connection()
        with self._db.transaction() as cur:
            change = self._repo.change_status_in(cur, anomaly_id, to, reason, actor, now)
            text = status_text(now, change.to_status, change.to_reason)
            ids = enqueue_for_links_in(
                cur, anomaly_id, text, actor=actor, now=now, connection_id=connection
            )
        self._queued(ids)
        return change

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
        connection = self._connection()
        with self._db.transaction() as cur:
            comment = self._repo.add_comment_in(cur, anomaly_id, author, text, self._clock())
            ids = enqueue_for_links_in(
                cur,
                anomaly_id,
                comment_text(comment.author, comment.body),
                actor=comment.author,
                now=comment.created_at,
                connection_id=connection,
            )
        self._queued(ids)
        return comment
