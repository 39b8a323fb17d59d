"""Where an anomaly and its Jira tickets disagree, why, and the three ways to settle it.

Decisions, and why:
- The reasons are a pure function of one ``LinkedAnomaly`` row (tested by a
  table): the page and the poll's daily drift count cannot disagree.
- "Done in Jira" means every visible linked ticket is in Jira's Done
  *category* (never a status name, which a workflow may translate or rename).
- Jira's resolution maps to our archive reason: Fixed/Done -> Resolved,
  Duplicate -> Duplicate, Won't Do/Won't Fix -> Discarded, anything else ->
  Resolved; tickets that disagree give Resolved.
- The actions reach the anomaly only through the change service (injected:
  ``lib.anomalies`` sits beside this package, not below it). Applying Jira's
  state here is recorded as done by ``jira`` and sends nothing back; applying
  ours to Jira queues the status comment again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from lib.jira import JiraError
from lib.store.anomaly_tickets import AnomalyTicketRepository
from lib.store.db import Database
from lib.store.jira_side import JiraSideRepository
from lib.store.models import ArchiveReason, Status
from lib.store.reconciliation import LinkedAnomaly, ReconciliationRepository


class DriftReason(StrEnum):
    ARCHIVED_HERE_OPEN_IN_JIRA = "archived here, open in Jira"
    DONE_IN_JIRA_ACTIVE_HERE = "done in Jira, active here"
    TICKET_GONE = "ticket deleted or not visible"
    TICKET_MOVED = "ticket moved"
    CHANGES_PENDING = "changes still queued or failed"


RESOLUTION_REASONS = {
    "fixed": ArchiveReason.RESOLVED,
    "done": ArchiveReason.RESOLVED,
    "duplicate": ArchiveReason.DUPLICATE,
    "won't do": ArchiveReason.DISCARDED,
    "won't fix": ArchiveReason.DISCARDED,
}


def archive_reason_for(resolutions: Sequence[str | None]) -> ArchiveReason:
    """Our archive reason for the Done tickets' resolutions (see the module docstring)."""
    mapped = {
        RESOLUTION_REASONS.get((r or "").strip().lower().replace("’", "'"), ArchiveReason.RESOLVED)
        for r in resolutions
    }
    return mapped.pop() if len(mapped) == 1 else ArchiveReason.RESOLVED


def all_done(row: LinkedAnomaly) -> bool:
    """Every linked ticket is visible and in Jira's Done category."""
    return row.links > 0 and row.done == row.links


def drift_reasons(row: LinkedAnomaly, queued: int = 0, failed: int = 0) -> list[DriftReason]:
    reasons = []
    if row.status == Status.ARCHIVED and row.open:
        reasons.append(DriftReason.ARCHIVED_HERE_OPEN_IN_JIRA)
    if row.status != Status.ARCHIVED and row.done and row.done == row.links - row.gone:
        reasons.append(DriftReason.DONE_IN_JIRA_ACTIVE_HERE)
    if row.gone:
        reasons.append(DriftReason.TICKET_GONE)
    if row.moved:
        reasons.append(DriftReason.TICKET_MOVED)
    if queued or failed:
        reasons.append(DriftReason.CHANGES_PENDING)
    return reasons


@dataclass(frozen=True)
class DriftRow:
    anomaly_id: int
    status: str
    archive_reason: str | None
    keys: tuple[str, ...]
    moved_from: tuple[str, ...]
    reasons: tuple[DriftReason, ...]
    jira_state: str  # "done (Fixed)", "open", "2 of 3 done", ...
    queued: int
    failed: int


@dataclass(frozen=True)
class DriftReport:
    rows: list[DriftRow]
    counts: dict[str, int]  # per reason (an anomaly counts once per reason)
    history: list[tuple[date, str, int]]  # (day, reason, anomalies) for the chart


@dataclass(frozen=True)
class ActionResult:
    done: list[int]  # anomaly ids the action reached
    skipped: dict[int, str]  # anomaly id -> why not
    problem: str | None = None  # Jira could not be read, in words


class AnomalyStates(Protocol):
    """What the actions need of the change service (``lib.anomalies.changes``)."""

    def from_jira(self, anomaly_id: int, to: str, reason: str | None = None) -> object: ...

    def resend_status(self, anomaly_id: int, actor: str, *, mode: str) -> list[int]: ...


def _jira_state(row: LinkedAnomaly) -> str:
    if row.links and row.done == row.links:
        return f"done ({', '.join(sorted(set(row.resolutions)))})"
    if row.done:
        return f"{row.done} of {row.links} done"
    if row.open:
        return "open"
    return "not visible" if row.gone == row.links else "not read yet"


def drift_of(
    rows: Sequence[LinkedAnomaly], overview: dict
) -> tuple[list[DriftRow], dict[str, int]]:
    found, counts = [], Counter()
    for row in rows:
        side = overview.get(row.anomaly_id)
        queued, failed = (side.queued, side.failed) if side else (0, 0)
        reasons = drift_reasons(row, queued, failed)
        if not reasons:
            continue
        counts.update(str(r) for r in reasons)
        found.append(
            DriftRow(
                row.anomaly_id,
                row.status,
                row.archive_reason,
                row.keys,
                row.moved_from,
                tuple(reasons),
                _jira_state(row),
                queued,
                failed,
            )
        )
    return found, dict(counts)


class ReconciliationService:
    """The Reconciliation page's one service: the report and its three actions."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        active_connection: Callable[[], int | None],
        states: AnomalyStates,
        resync: Callable[[Sequence[int]], object],
        explain: Callable[[Exception], str] = str,
    ):
        self._repo = ReconciliationRepository(db)
        self._side = AnomalyTicketRepository(db)
        self._jira = JiraSideRepository(db)
        self._clock = clock
        self._active = active_connection
        self._states = states
        self._resync = resync  # link ids -> a poll of just those, by id
        self._explain = explain  # lib.jira.wording for the active connection

    def report(self, days: int = 30) -> DriftReport:
        connection = self._active()
        if connection is None:
            return DriftReport([], {}, [])
        rows = self._repo.linked_anomalies(connection)
        found, counts = drift_of(rows, self._side.ticket_overview([r.anomaly_id for r in rows]))
        since = (self._clock() - timedelta(days=days)).date()
        return DriftReport(found, counts, self._jira.drift_history(connection, since))

    def resync(self, anomaly_ids: Sequence[int]) -> ActionResult:
        """Read these anomalies' tickets from Jira now (by id, comments too); moves are noted."""
        links = self._links_of(anomaly_ids)
        if links:
            try:
                self._resync(links)
            except JiraError as exc:
                return ActionResult([], {}, self._explain(exc))
            self._jira.note_moves(links)
        return ActionResult(list(anomaly_ids), {})

    def apply_jira_here(self, anomaly_ids: Sequence[int]) -> ActionResult:
        """Archive what Jira has Done, reopen what Jira has open; nothing is sent back."""
        done, skipped = [], {}
        for row in self._rows(anomaly_ids):
            if row.status != Status.ARCHIVED and all_done(row):
                self._states.from_jira(
                    row.anomaly_id, Status.ARCHIVED, archive_reason_for(row.resolutions)
                )
                done.append(row.anomaly_id)
            elif row.status == Status.ARCHIVED and row.open:
                self._states.from_jira(row.anomaly_id, Status.ACTIVE)
                done.append(row.anomaly_id)
            else:
                skipped[row.anomaly_id] = "Jira's tickets do not say one state to apply"
        return ActionResult(done, skipped)

    def apply_ours_to_jira(self, anomaly_ids: Sequence[int], actor: str) -> ActionResult:
        """Queue each anomaly's status comment to its tickets again."""
        done, skipped = [], {}
        for anomaly_id in anomaly_ids:
            if self._states.resend_status(anomaly_id, actor, mode="manual"):
                done.append(anomaly_id)
            else:
                skipped[anomaly_id] = "no linked ticket to send to"
        return ActionResult(done, skipped)

    def _rows(self, anomaly_ids: Sequence[int]) -> list[LinkedAnomaly]:
        connection = self._active()
        if connection is None or not anomaly_ids:
            return []
        return self._repo.linked_anomalies(connection, list(anomaly_ids))

    def _links_of(self, anomaly_ids: Sequence[int]) -> list[int]:
        connection = self._active()
        if connection is None:
            return []
        wanted = set(anomaly_ids)
        return [t.link_id for t in self._jira.targets(connection) if t.anomaly_id in wanted]
