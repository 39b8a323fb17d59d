"""The integration at a glance: the sidebar, the failing banner and ``GET /api/health``.

One call (``status``) answers what every page shows: the active connection,
its health (Connected, Degraded, Failing), the outbox depth and the age of its
oldest pending row. Decisions, and why:

- It runs on every rerun of every page, so it costs what the parts already
  cost in memory (the health state is held by ``IntegrationHealth``) plus one
  small aggregate over ``sync_log`` (``LogQueries.outbox_depth``); no row of
  the queue is loaded.
- The connection comes in as a callable (``ConnectionStore.active``): this
  layer may not import ``lib.connections`` (a sibling use case), and only the
  attributes every connection has are read (``id``, ``kind``, ``label``...).
- Why automation is paused is worded by ``lib.jira.wording.paused_because``
  from the failure kind; a 401 counts as "after it had worked" when the
  engine ever had a success on this connection or the connection's own check
  (``/myself`` on Connect) passed, so an expired token is named as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.jira.wording import kind_label, paused_because
from lib.outbox.health import Health, HealthState, IntegrationHealth
from lib.store.db import Database
from lib.store.log_queries import LogQueries

STATE_LABELS = {
    HealthState.CONNECTED: "Connected",
    HealthState.DEGRADED: "Degraded",
    HealthState.FAILING: "Failing",
}
KIND_NAMES = {"cloud": "Jira Cloud", "dc": "Jira Data Center", "sandbox": "Sandbox"}


@dataclass(frozen=True)
class IntegrationStatus:
    """What the sidebar, the banner and ``GET /api/health`` show."""

    connection_id: int | None
    connection_label: str  # "Jira Cloud · https://acme.atlassian.net as me@acme.com"
    connection_kind: str  # "Jira Cloud", "Jira Data Center", "Sandbox"
    demo: bool
    state: HealthState
    reason: str | None  # what the last failure said (Jira's words, redacted)
    kind: str | None  # ErrorKind of the failure that set the state
    since: datetime | None
    explanation: str | None  # why automation is paused, in words (failing only)
    outbox_depth: int
    oldest_pending_at: datetime | None
    oldest_pending_age_s: float | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def automation_paused(self) -> bool:
        return self.state == HealthState.FAILING


class IntegrationStatusService:
    """The integration's state for people and monitors; Resume."""

    def __init__(
        self,
        db: Database,
        health: IntegrationHealth,
        active_connection: Callable[[], Any],
        clock: Callable[[], datetime],
    ) -> None:
        self._queries = LogQueries(db)
        self._health = health
        self._active_connection = active_connection
        self._clock = clock

    def status(self) -> IntegrationStatus:
        connection = self._active_connection()
        health = (
            self._health.current(connection.id)
            if connection.id is not None
            else Health(0, HealthState.CONNECTED)
        )
        outbox = self._queries.outbox_depth()
        age = (self._clock() - outbox.oldest_at).total_seconds() if outbox.oldest_at else None
        return IntegrationStatus(
            connection_id=connection.id,
            connection_label=connection.label,
            connection_kind=KIND_NAMES.get(connection.kind, str(connection.kind)),
            demo=bool(getattr(connection, "is_demo", False)),
            state=health.state,
            reason=health.reason,
            kind=health.kind,
            since=health.since,
            explanation=_explanation(health, connection),
            outbox_depth=outbox.depth,
            oldest_pending_at=outbox.oldest_at,
            oldest_pending_age_s=round(max(0.0, age), 3) if age is not None else None,
        )

    def resume(self, actor: str) -> IntegrationStatus:
        """Clear the pause of the active connection: automation runs again."""
        connection = self._active_connection()
        if connection.id is not None:
            self._health.resume(connection.id, actor)
        return self.status()


def _explanation(health: Health, connection: Any) -> str | None:
    if health.state != HealthState.FAILING:
        return None
    worked = health.worked_before or getattr(connection, "check_status", None) == "ok"
    return paused_because(
        health.kind,
        worked_before=worked,
        flavour=getattr(connection, "flavour", None),
        auth_type=getattr(connection, "auth_type", None),
    )
