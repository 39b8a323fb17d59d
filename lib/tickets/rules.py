"""Auto-ticket rules: keep them, dry-run one, and run them when anomalies arrive and on a schedule.

Decisions, and why:

- One planning function (``lib.tickets.rule_plan.plan``) for the dry run and
  the run: the dry run of a paused rule is the plan with that rule treated as
  enabled, in its place among the others, so what it shows is what the rule
  then does (tested).
- A new rule starts paused: a person looks at its dry run, then enables it.
- Runs happen on the worker thread (``run_due``: when anomalies arrived, and
  every ``RUN_EVERY``), and when a person asks (the page's Run rules
  now); one run at a time: a second one asked meanwhile returns at once
  (never two plans for the same anomalies, never a page waiting on Jira).
- Rules do not run while the integration is failing
  (``IntegrationHealth.automation_paused``): they would only add failures.
  A person resumes it on the Rules page (or any page's banner).
- At most ``RUN_BATCH`` steps per run, oldest anomalies first; the next run
  takes the rest, so a bad load does not hold the worker for minutes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lib.outbox.engine import SyncEngine
from lib.outbox.health import Health
from lib.outbox.policy import ActiveJira
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import ANOMALY_TYPES
from lib.store.rules import Application, KnownTicket, RuleDraft, RuleStore, TicketRule
from lib.tickets.rule_plan import Step, StepKind, plan
from lib.tickets.rule_run import JiraTrouble, StepResult, StepRunner
from lib.tickets.service import TicketService

log = logging.getLogger("anomaly_desk.rules")

ACTIONS = ("ticket", "skip")
GROUP_BY = ("none", "table", "datastore", "check")
NAME_LIMIT = 100
MAX_WINDOW_MINUTES = 30 * 24 * 60
MAX_REOPEN_DAYS = 365
RUN_EVERY = timedelta(minutes=5)
RUN_BATCH = 200  # steps per run
CANDIDATE_LIMIT = 5000  # anomalies looked at per plan


class RuleRefused(ValueError):
    """A rule that cannot be saved or found; ``field_errors`` names each bad field."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})


class RuleNotFound(RuleRefused):
    """No rule has that id."""


@dataclass(frozen=True)
class RunReport:
    """What one run (or dry run) did or would do."""

    steps: list[Step] = field(default_factory=list)  # the plan
    results: list[StepResult] = field(default_factory=list)  # empty for a dry run
    paused: Health | None = None  # the breaker's state when it kept the run from starting
    message: str = ""


def check_draft(draft: RuleDraft) -> dict[str, str]:
    """Field errors of a rule as a person gave it (empty: it can be saved)."""
    errors: dict[str, str] = {}
    name = (draft.name or "").strip()
    if not name or len(name) > NAME_LIMIT:
        errors["name"] = f"Give the rule a name of 1 to {NAME_LIMIT} characters."
    if draft.action not in ACTIONS:
        errors["action"] = "Choose ticket or skip (do not ticket)."
    if draft.group_by not in GROUP_BY:
        errors["group_by"] = "Group by none, table, datastore or check."
    if not 1 <= int(draft.window_minutes) <= MAX_WINDOW_MINUTES:
        errors["window_minutes"] = f"A window of 1 to {MAX_WINDOW_MINUTES} minutes."
    if not 0 <= int(draft.reopen_days) <= MAX_REOPEN_DAYS:
        errors["reopen_days"] = f"0 to {MAX_REOPEN_DAYS} days."
    errors.update(_condition_errors(draft))
    for name in ("labels", "components"):
        values = getattr(draft.ticket, name)
        if any(not v.strip() or len(v) > 255 for v in values):
            errors[f"ticket.{name}"] = "Each is 1 to 255 characters."
    if any(" " in label for label in draft.ticket.labels):
        errors["ticket.labels"] = "Labels have no spaces."
    return errors


def _condition_errors(draft: RuleDraft) -> dict[str, str]:
    c, errors = draft.conditions, {}
    for name in ("weight_min", "weight_max"):
        value = getattr(c, name)
        if value is not None and value < 0:
            errors[f"conditions.{name}"] = "A weight is 0 or more."
    if c.weight_min is not None and c.weight_max is not None and c.weight_min > c.weight_max:
        errors["conditions.weight_max"] = "The highest weight is below the lowest."
    unknown = [t for t in c.anomaly_types if t.lower() not in ANOMALY_TYPES]
    if unknown:
        errors["conditions.anomaly_types"] = f"Types are {' or '.join(ANOMALY_TYPES)}."
    return errors


def _clean(draft: RuleDraft) -> RuleDraft:
    """Trimmed text, empty entries dropped, types lower-case."""
    c, t = draft.conditions, draft.ticket

    def texts(values) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))

    conditions = replace(
        c,
        containers=texts(c.containers),
        anomaly_types=tuple(v.lower() for v in texts(c.anomaly_types)),
        tags=texts(c.tags),
        rule_types=texts(c.rule_types),
    )
    ticket = replace(
        t,
        project=(t.project or "").strip() or None,
        issue_type=(t.issue_type or "").strip() or None,
        priority=(t.priority or "").strip() or None,
        assignee=(t.assignee or "").strip() or None,
        labels=texts(t.labels),
        components=texts(t.components),
    )
    return replace(draft, name=(draft.name or "").strip(), conditions=conditions, ticket=ticket)


class _Lookup:
    """The store's tickets, for one connection."""

    def __init__(self, store: RuleStore, connection_id: int):
        self._store, self._connection = store, connection_id

    def group_ticket(self, rule_id: int, group_key: str) -> KnownTicket | None:
        return self._store.group_ticket(self._connection, rule_id, group_key)

    def fingerprint_ticket(self, fingerprint: str) -> KnownTicket | None:
        return self._store.fingerprint_ticket(self._connection, fingerprint)


class RuleService:
    """The Rules page's and the API's use case, and the worker's scheduled run."""

    def __init__(
        self,
        db: Database,
        engine: SyncEngine,
        tickets: TicketService,
        *,
        clock: Callable[[], datetime] | None = None,
    ):
        self._db = db
        self._engine = engine
        self._tickets = tickets
        self._clock = clock or engine.clock
        self.store = RuleStore(db)
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._next_run: datetime | None = None

    # -- rules ---------------------------------------------------------------
    def rules(self) -> list[TicketRule]:
        return self.store.all()

    def get(self, rule_id: int) -> TicketRule:
        """Raises: RuleRefused when there is no such rule."""
        rule = self.store.get(rule_id)
        if rule is None:
            raise RuleNotFound(f"There is no rule {rule_id}.")
        return rule

    def create(self, draft: RuleDraft, position: int | None = None) -> TicketRule:
        """Save a new rule (last, or at ``position``). Raises: RuleRefused with field errors."""
        draft = self._checked(draft)
        rule = self.store.add(draft, self._clock())
        if position is not None:
            self.store.move(rule.id, position)
        return self.get(rule.id)

    def update(self, rule_id: int, draft: RuleDraft, position: int | None = None) -> TicketRule:
        """Replace a rule's settings. Raises: RuleRefused (unknown rule, or field errors)."""
        self.get(rule_id)
        self.store.update(rule_id, self._checked(draft), self._clock())
        if position is not None:
            self.store.move(rule_id, position)
        return self.get(rule_id)

    def set_paused(self, rule_id: int, paused: bool) -> TicketRule:
        self.get(rule_id)
        rule = self.store.set_paused(rule_id, paused, self._clock())
        if not paused:
            self.anomalies_arrived()  # an enabled rule looks at what is there now
        return rule

    def move(self, rule_id: int, position: int) -> TicketRule:
        self.get(rule_id)
        self.store.move(rule_id, position)
        return self.get(rule_id)

    def delete(self, rule_id: int) -> None:
        """Raises: RuleRefused when there is no such rule."""
        if not self.store.delete(rule_id):
            raise RuleNotFound(f"There is no rule {rule_id}.")

    def _checked(self, draft: RuleDraft) -> RuleDraft:
        draft = _clean(draft)
        errors = check_draft(draft)
        if errors:
            raise RuleRefused("Fix the fields marked below.", errors)
        return draft

    def datastores(self) -> list[tuple[int, str]]:
        """(id, name) of the datastores anomalies come from (the page's condition choices)."""
        return AnomalyRepository(self._db).datastores()

    def applications(self, limit: int = 200) -> list[Application]:
        active = self._engine.client_provider()
        return self.store.applications(active.connection_id, limit) if active else []

    # -- health --------------------------------------------------------------
    def paused(self) -> Health | None:
        """The breaker's failing state while rules are paused, else None."""
        active = self._engine.client_provider()
        return self._engine.health.automation_paused(active.connection_id if active else None)

    def resume(self, actor: str) -> Health | None:
        active = self._engine.client_provider()
        if active is None:
            return None
        health = self._engine.health.resume(active.connection_id, actor)
        self.anomalies_arrived()
        return health

    # -- plans and runs --------------------------------------------------------
    def dry_run(self, rule_id: int) -> RunReport:
        """What the rule would do now to the anomalies present, as if it were enabled.

        Raises:
            RuleRefused: no such rule, or no Jira connection is active.
        """
        rule = self.get(rule_id)
        active = self._active_or_refuse()
        rules = [replace(r, paused=False) if r.id == rule.id else r for r in self.store.all()]
        steps, _ = self._plan(rules, active, None)
        mine = [s for s in steps if s.rule_id == rule.id]
        return RunReport(mine, message=f"{len(mine)} anomalies match {rule.name} now.")

    def run(self) -> RunReport:
        """Plan with the enabled rules and carry out the first ``RUN_BATCH`` steps."""
        active = self._engine.client_provider()
        if active is None:
            return RunReport(message="No Jira connection is active: rules wait.")
        if not self._lock.acquire(blocking=False):  # the worker's run, say: never wait on Jira
            return RunReport(message="A run is under way; its results show here when it ends.")
        try:
            paused = self._engine.health.automation_paused(active.connection_id)
            if paused is not None:
                return RunReport(paused=paused, message=f"Rules are paused: {paused.reason}")
            self.store.observe_closures(active.connection_id)
            rules = self.store.all()
            steps, anomalies = self._plan(rules, active, RUN_BATCH)
            return self._carry_out(steps, rules, anomalies, active)
        finally:
            self._lock.release()

    def anomalies_arrived(self, *_ignored) -> None:
        """Anomalies came in (an import, the API): the worker runs the rules on its next pass."""
        self._arrived.set()
        self._engine.notify()

    def run_due(self, now: datetime) -> RunReport | None:
        """The worker's hook: a run when anomalies arrived or ``RUN_EVERY`` passed."""
        if not self._arrived.is_set() and self._next_run is not None and now < self._next_run:
            return None
        self._arrived.clear()
        self._next_run = now + RUN_EVERY
        if not any(not r.paused for r in self.store.all()):
            active = self._engine.client_provider()
            if active is not None:  # paused rules' dry runs still need close times
                self.store.observe_closures(active.connection_id)
            return None
        report = self.run()
        if report.results:
            log.info("rules.run steps=%d", len(report.results))
        return report

    def _active_or_refuse(self) -> ActiveJira:
        active = self._engine.client_provider()
        if active is None:
            raise RuleRefused("No Jira connection is active: connect to Jira first.")
        return active

    def _plan(self, rules, active: ActiveJira, steps: int | None):
        """(at most ``steps`` steps, the anomalies by id): the dry run's and the run's plan."""
        lookup = _Lookup(self.store, active.connection_id)
        anomalies = self.store.candidates(active.connection_id, CANDIDATE_LIMIT)
        enabled = [r for r in rules if not r.paused]
        planned = plan(enabled, anomalies, lookup, self._clock(), steps)
        return planned, {a.id: a for a in anomalies}

    def _carry_out(self, steps: list[Step], rules, anomalies, active: ActiveJira) -> RunReport:
        by_id = {r.id: r for r in rules}
        runner = StepRunner(self.store, self._tickets, self._engine, active)
        results: list[StepResult] = []
        for step in steps:
            if self._engine.health.automation_paused(active.connection_id) is not None:
                return RunReport(steps, results, message="Rules paused during the run.")
            try:
                results.append(runner.run(step, by_id[step.rule_id], anomalies[step.anomaly_id]))
            except JiraTrouble as exc:
                return RunReport(steps, results, message=f"Stopped: Jira is failing ({exc}).")
        done = sum(1 for r in results if r.outcome != "waiting")
        return RunReport(steps, results, message=f"{done} anomalies handled.")


def step_rows(report: RunReport) -> list[dict]:
    """A report as table rows (the page and the API show the same words)."""
    outcomes = {r.step.anomaly_id: r for r in report.results}
    rows = []
    for step in report.steps:
        result = outcomes.get(step.anomaly_id)
        rows.append(
            {
                "anomaly_id": step.anomaly_id,
                "rule": step.rule_name,
                "action": str(step.kind),
                "ticket": step.target,
                "comment": step.comment or "",
                "what": step.describe(),
                "outcome": result.outcome if result else "",
                "result": (result.ticket_key or result.message) if result else "",
            }
        )
    return rows


__all__ = [
    "RuleNotFound",
    "RuleRefused",
    "RuleService",
    "RunReport",
    "StepKind",
    "check_draft",
    "step_rows",
]
