"""The old call shape of anomaly changes (no mode): kept so existing callers still work.

``AnomalyActions`` is ``lib.anomalies.changes.AnomalyChanges`` with the mode
fixed to ``automatic``, which is what its remaining callers (the sync tests'
harness and the sync benchmark) model: changes made by a program. The pages,
the import and the HTTP routes use ``AnomalyChanges`` and say their mode.
"""

from __future__ import annotations

from lib.anomalies.changes import Actor, AnomalyChanges, Mode
from lib.store.models import ArchiveReason, Comment, StatusChange


class AnomalyActions:
    """Acknowledge, archive, reopen and comment as ``automatic`` changes."""

    def __init__(self, db, clock, **options):
        self.changes = AnomalyChanges(db, clock, **options)

    def acknowledge(self, anomaly_id: int, actor: Actor | str) -> StatusChange:
        return self.changes.acknowledge(anomaly_id, actor, mode=Mode.AUTOMATIC)

    def archive(
        self, anomaly_id: int, reason: ArchiveReason | str, actor: Actor | str
    ) -> StatusChange:
        return self.changes.archive(anomaly_id, reason, actor, mode=Mode.AUTOMATIC)

    def reopen(self, anomaly_id: int, actor: Actor | str) -> StatusChange:
        return self.changes.reopen(anomaly_id, actor, mode=Mode.AUTOMATIC)

    def comment(self, anomaly_id: int, author: Actor | str, text: str) -> Comment:
        return self.changes.comment(anomaly_id, author, text, mode=Mode.AUTOMATIC)
