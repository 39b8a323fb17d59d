"""The integration's health: connected, degraded or failing, per connection.

The engine records every call's outcome here. A run of failures that say
nothing about one ticket (network, server, unknown), any authentication error
or a run of 429s marks the integration failing; a failing integration pauses
automation (rules, the automation command's creates) until a person resumes
it, because automation would only add failures, lock an account out or spend
the rate limit. Manual work is still sent: a person asked for it and sees the
answer. Answers about one request (a field Jira refused, a ticket not found,
no permission on one project) prove Jira answered, so they count as contact,
not as the integration failing.

The state lives in ``integration_health`` (so a pause survives a restart) and
in memory; a row is written only when something a person would see changes,
so a run of successes costs no statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from lib.jira.errors import ErrorKind, error_kind
from lib.store.db import Database
from lib.store.health import HealthRecord, HealthStore

FAILING_AFTER = 5
RATE_LIMITED_AFTER = 3
# Kinds about one request (Jira answered): contact, not an integration failure.
ANSWERED_KINDS = frozenset({ErrorKind.VALIDATION, ErrorKind.NOT_FOUND, ErrorKind.PERMISSION})


class HealthState(StrEnum):
    CONNECTED = "connected"
    DEGRADED = "degraded"  # some calls failed in a row, not yet enough to pause
    FAILING = "failing"  # automation paused until Resume


@dataclass(frozen=True)
class Health:
    """One connection's health as the sidebar, banner and ``GET /api/health`` show it."""

    connection_id: int
    state: HealthState
    reason: str | None = None
    kind: str | None = None  # ErrorKind of the failure that set the state
    consecutive_failures: int = 0
    consecutive_rate_limited: int = 0
    since: datetime | None = None  # when the current state began
    last_success_at: datetime | None = None
    worked_before: bool = False  # a call succeeded once: a 401 now means an expired token

    @property
    def automation_paused(self) -> bool:
        return self.state == HealthState.FAILING


class IntegrationHealth:
    """Records call outcomes and answers whether automation may run."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        failing_after: int = FAILING_AFTER,
        rate_limited_after: int = RATE_LIMITED_AFTER,
    ) -> None:
        self._store = HealthStore(db)
        self._clock = clock
        self.failing_after = max(1, int(failing_after))
        self.rate_limited_after = max(1, int(rate_limited_after))
        self._lock = threading.Lock()
        self._cache: dict[int, Health] = {}

    # -- reads ---------------------------------------------------------------
    def current(self, connection_id: int) -> Health:
        with self._lock:
            return self._load(connection_id)

    def automation_paused(self, connection_id: int | None) -> Health | None:
        """The failing state while automation is paused for this connection, else None."""
        if connection_id is None:
            return None
        health = self.current(connection_id)
        return health if health.automation_paused else None

    # -- outcomes ------------------------------------------------------------
    def record_success(self, connection_id: int | None) -> Health | None:
        if connection_id is None:
            return None
        with self._lock:
            old = self._load(connection_id)
            new = self._after_success(old)
            return self._keep(old, new)

    def record_failure(self, connection_id: int | None, error: BaseException) -> Health | None:
        if connection_id is None:
            return None
        kind = error_kind(error)
        with self._lock:
            old = self._load(connection_id)
            new = (
                self._after_success(old)
                if kind in ANSWERED_KINDS
                else self._after_failure(old, kind, _reason(kind, error))
            )
            return self._keep(old, new)

    def resume(self, connection_id: int, actor: str) -> Health:
        """A person resumes: automation runs again and the counts start over."""
        with self._lock:
            old = self._load(connection_id)
            now = self._clock()
            new = replace(
                old,
                state=HealthState.CONNECTED,
                reason=None,
                kind=None,
                consecutive_failures=0,
                consecutive_rate_limited=0,
                since=now,
            )
            self._cache[connection_id] = new
            self._store.save(_record(new), resumed_at=now, resumed_by=actor)
            return new

    # -- the state machine ---------------------------------------------------
    def _after_success(self, old: Health) -> Health:
        now = self._clock()
        if old.state == HealthState.FAILING:
            # Stays paused until a person resumes; the success is remembered.
            return replace(old, last_success_at=now, worked_before=True)
        state_changes = old.state != HealthState.CONNECTED
        return replace(
            old,
            state=HealthState.CONNECTED,
            reason=None,
            kind=None,
            consecutive_failures=0,
            consecutive_rate_limited=0,
            since=now if state_changes else old.since,
            last_success_at=now,
            worked_before=True,
        )

    def _after_failure(self, old: Health, kind: ErrorKind, reason: str) -> Health:
        now = self._clock()
        limited = kind == ErrorKind.RATE_LIMITED
        failures = old.consecutive_failures + (0 if limited else 1)
        rate_limited = old.consecutive_rate_limited + 1 if limited else 0
        if old.state == HealthState.FAILING:
            return replace(
                old, consecutive_failures=failures, consecutive_rate_limited=rate_limited
            )
        failing = (
            kind == ErrorKind.AUTHENTICATION
            or failures >= self.failing_after
            or rate_limited >= self.rate_limited_after
        )
        state = HealthState.FAILING if failing else HealthState.DEGRADED
        return replace(
            old,
            state=state,
            reason=_pause_reason(kind, reason, failures, rate_limited) if failing else reason,
            kind=str(kind),
            consecutive_failures=failures,
            consecutive_rate_limited=rate_limited,
            since=now if state != old.state else old.since,
        )

    # -- memory and store ----------------------------------------------------
    def _load(self, connection_id: int) -> Health:
        cached = self._cache.get(connection_id)
        if cached is not None:
            return cached
        record = self._store.get(connection_id)
        health = _health(record) if record else Health(connection_id, HealthState.CONNECTED)
        self._cache[connection_id] = health
        return health

    def _keep(self, old: Health, new: Health) -> Health:
        self._cache[new.connection_id] = new
        if _visible(old) != _visible(new) or old.worked_before != new.worked_before:
            self._store.save(_record(new))
        return new

    def forget(self) -> None:
        """Drop what is held in memory (tests; another process changed the rows)."""
        with self._lock:
            self._cache.clear()


def _visible(health: Health) -> tuple:
    """What a person sees; a change of it is written (counts within a state are not)."""
    return (health.state, health.reason, health.kind)


def _reason(kind: ErrorKind, error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _pause_reason(kind: ErrorKind, reason: str, failures: int, rate_limited: int) -> str:
    if kind == ErrorKind.AUTHENTICATION:
        return f"Jira refused the connection's credentials: {reason}"
    if kind == ErrorKind.RATE_LIMITED:
        return f"Jira answered {rate_limited} rate-limit refusals (429) in a row: {reason}"
    return f"{failures} calls to Jira failed in a row; the last: {reason}"


def _record(health: Health) -> HealthRecord:
    return HealthRecord(
        connection_id=health.connection_id,
        state=str(health.state),
        reason=health.reason,
        kind=health.kind,
        consecutive_failures=health.consecutive_failures,
        consecutive_rate_limited=health.consecutive_rate_limited,
        since=health.since,
        last_success_at=health.last_success_at,
    )


def _health(record: HealthRecord) -> Health:
    return Health(
        connection_id=record.connection_id,
        state=HealthState(record.state),
        reason=record.reason,
        kind=record.kind,
        consecutive_failures=record.consecutive_failures,
        consecutive_rate_limited=record.consecutive_rate_limited,
        since=record.since,
        last_success_at=record.last_success_at,
        worked_before=record.last_success_at is not None,
    )
