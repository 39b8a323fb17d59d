"""Carrying out a rule plan: each step through the path every other caller uses.

Decisions, and why:

- A new ticket is ``TicketService.create_ticket`` (the one create path: an
  outbox row, the anomaly's label, reconciled if its answer is lost); a link
  to a group's ticket is ``link_existing`` (its details comment queued, not
  sent at once, so the worker holds it to the update limit). Everything is
  logged as Automatic.
- "Seen again" links the new anomaly to the open ticket (no Jira call: the
  ticket's record is copied from an existing link) and queues one comment,
  so the ticket gets one comment, not the details and the count.
- Reopening is a transition to the first status outside Jira's done
  category that the workflow offers now; when it offers none, or refuses,
  a new ticket is made instead (and the step says so). A network or server
  failure, a 429 or a refused credential stops the run: the anomaly is
  handled by the next run, and the breaker (``IntegrationHealth``) counts it.
- A step whose ticket is the new ticket of an earlier anomaly in this run
  waits for the next run when that create is not confirmed yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from lib.jira import Issue, JiraError, error_kind
from lib.jira.errors import ErrorKind
from lib.outbox.engine import SyncEngine
from lib.outbox.policy import ActiveJira, enqueue_comment_in
from lib.store.links import DuplicateLink, LinkRepository, TicketLink
from lib.store.models import Anomaly
from lib.store.rules import Application, RuleStore, TicketRule
from lib.store.sync_log import SyncAction, SyncLog, SyncMode, SyncStatus, to_json
from lib.tickets.creating import TicketRefused
from lib.tickets.rule_plan import Step, StepKind
from lib.tickets.service import TicketService

# Kinds that say Jira (or the way to it) is in trouble, not that this one step is wrong.
TROUBLE_KINDS = frozenset(
    {ErrorKind.NETWORK, ErrorKind.SERVER, ErrorKind.RATE_LIMITED, ErrorKind.AUTHENTICATION}
)


@dataclass(frozen=True)
class StepResult:
    """What the run did with one planned step."""

    step: Step
    outcome: str  # skipped | created | linked | seen_again | reopened | failed | waiting
    ticket_key: str | None = None
    message: str = ""


class JiraTrouble(Exception):
    """Stop the run: Jira is failing (the breaker decides when automation pauses)."""


class StepRunner:
    """Executes planned steps for one active Jira connection."""

    def __init__(
        self, store: RuleStore, tickets: TicketService, engine: SyncEngine, active: ActiveJira
    ):
        self._store = store
        self._tickets = tickets
        self._engine = engine
        self._active = active
        self._new_tickets: dict[int, str | None] = {}  # anomaly id -> the key its create got

    def run(self, step: Step, rule: TicketRule, anomaly: Anomaly) -> StepResult:
        """Carry out one step.

        Raises:
            JiraTrouble: Jira is failing; the step was not recorded (the next run does it).
        """
        if step.kind == StepKind.SKIP:
            return self._record(step, "skipped", None, "not ticketed")
        if step.kind == StepKind.WAIT:
            return StepResult(step, "waiting", None, "its ticket is not confirmed yet")
        if step.kind == StepKind.CREATE:
            return self._create(step, rule)
        key = step.ticket_key or self._new_tickets.get(step.same_as)
        if key is None:
            return StepResult(step, "waiting", None, "its ticket is not confirmed yet")
        if step.kind == StepKind.LINK:
            return self._link(step, rule, key)
        if step.kind == StepKind.REOPEN:
            return self._reopen(step, rule, anomaly, key)
        return self._seen_again(step, rule, key, step.comment or "")

    # -- steps ---------------------------------------------------------------
    def _create(self, step: Step, rule: TicketRule, note: str = "") -> StepResult:
        t = rule.ticket
        extra: dict = {}
        if t.components:
            extra["components"] = [{"name": name} for name in t.components]
        if t.assignee:
            cloud = self._active.client.cloud
            extra["assignee"] = {"accountId": t.assignee} if cloud else {"name": t.assignee}
        try:
            result = self._tickets.create_ticket(
                step.anomaly_id,
                summary=step.summary or f"Anomaly {step.anomaly_id}",
                priority=t.priority,
                issue_type=t.issue_type,
                project=t.project,
                extra_fields=extra or None,
                labels=t.labels,
                actor=_actor(rule),
                mode=SyncMode.AUTOMATIC,
            )
        except TicketRefused as exc:
            return self._record(step, "failed", None, f"{note}{exc}".strip())
        self._new_tickets[step.anomaly_id] = result.key
        message = f"{note}{result.message}".strip()
        return self._record(step, "created", result.key, message, create_log_id=result.log_id)

    def _link(self, step: Step, rule: TicketRule, key: str) -> StepResult:
        try:
            self._tickets.link_existing(
                step.anomaly_id, key, _actor(rule), mode=SyncMode.AUTOMATIC, send_now=False
            )
        except TicketRefused as exc:
            if exc.kind in TROUBLE_KINDS:
                raise JiraTrouble(str(exc)) from None
            return self._record(step, "failed", key, str(exc))
        return self._record(step, "linked", key, f"linked to {key}; its details are queued")

    def _seen_again(self, step: Step, rule: TicketRule, key: str, text: str) -> StepResult:
        now = self._engine.clock()
        outcome = "reopened" if step.kind == StepKind.REOPEN else "seen_again"
        with self._engine.db.transaction() as cur:
            earlier = _active_link_in(cur, self._active.connection_id, key)
            if earlier is None:
                link = None
            else:
                link = _quiet_link_in(
                    cur, self._engine.links, earlier, step.anomaly_id, _actor(rule), now
                )
            if link is not None:
                enqueue_comment_in(
                    cur,
                    link,
                    text=text,
                    doc=None,
                    mode=SyncMode.AUTOMATIC,
                    actor=_actor(rule),
                    now=now,
                )
                RuleStore.record_in(cur, self._application(step, outcome, key, now, text))
        if link is None:  # nobody's link of that ticket is left: link it the usual way
            return self._link(step, rule, key)
        self._engine.notify()
        return StepResult(step, outcome, key, text)

    def _reopen(self, step: Step, rule: TicketRule, anomaly: Anomaly, key: str) -> StepResult:
        client = self._active.client
        try:
            offered = client.transitions(key)
            target = next((t for t in offered if t.to_category and t.to_category != "done"), None)
            if target is None:
                note = f"{key} cannot be reopened (the workflow offers no way back); "
                return self._create(step, rule, note)
            started = time.monotonic()
            client.do_transition(key, target.id)
        except JiraError as exc:
            self._engine.health.record_failure(self._active.connection_id, exc)
            self._log_transition(step, rule, key, None, exc, 0.0)
            if error_kind(exc) in TROUBLE_KINDS:
                raise JiraTrouble(str(exc)) from None
            return self._create(step, rule, f"{key} could not be reopened ({exc}); ")
        self._engine.health.record_success(self._active.connection_id)
        self._log_transition(
            step, rule, key, target, None, round((time.monotonic() - started) * 1000, 1)
        )
        with self._engine.db.transaction() as cur:
            RuleStore.mark_status_in(
                cur, self._active.connection_id, key, target.to_status, target.to_category
            )
            RuleStore.note_closed_in(cur, self._active.connection_id, key, None)
        return self._seen_again(step, rule, key, step.comment or "")

    # -- records -------------------------------------------------------------
    def _log_transition(self, step, rule, key, target, error, latency) -> None:
        now = self._engine.clock()
        body = {"transition": {"id": target.id}} if target else None
        with self._engine.db.transaction() as cur:
            SyncLog.insert_in(
                cur,
                now=now,
                action=SyncAction.TRANSITION,
                mode=SyncMode.AUTOMATIC,
                status=SyncStatus.OK if error is None else SyncStatus.FAILED,
                permanent=error is not None,
                anomaly_id=step.anomaly_id,
                connection_id=self._active.connection_id,
                ticket_key=key,
                actor=_actor(rule),
                error=str(error) if error else None,
                error_kind=str(error_kind(error)) if error else None,
                latency_ms=latency,
                attempts=1,
                sent_at=now,
                finished_at=now,
                request_json=to_json(
                    {"method": "POST", "path": f"/issue/{key}/transitions", "body": body}
                ),
                response_json=to_json(
                    {"status": target.to_status, "category": target.to_category}
                    if target
                    else {"status": getattr(error, "status", None)}
                ),
            )

    def _record(
        self,
        step: Step,
        outcome: str,
        key: str | None,
        message: str,
        create_log_id: int | None = None,
    ) -> StepResult:
        now = self._engine.clock()
        self._store.record(self._application(step, outcome, key, now, message, create_log_id))
        return StepResult(step, outcome, key, message)

    def _application(
        self,
        step: Step,
        outcome: str,
        key: str | None,
        now: datetime,
        note: str,
        create_log_id: int | None = None,
    ) -> Application:
        return Application(
            step.anomaly_id,
            self._active.connection_id,
            step.rule_id,
            outcome,
            step.fingerprint,
            step.group_key,
            step.detected_at,
            now,
            key,
            create_log_id,
            note[:500] if note else None,
        )


def _actor(rule: TicketRule) -> str:
    return f"rule {rule.name}"


def _active_link_in(cur, connection_id: int, key: str) -> TicketLink | None:
    row = cur.execute(
        "SELECT id FROM ticket_links WHERE connection_id = ? AND upper(issue_key) = upper(?)"
        " AND unlinked_at IS NULL ORDER BY last_synced_at DESC NULLS LAST, id DESC LIMIT 1",
        [connection_id, key],
    ).fetchone()
    return LinkRepository.get_in(cur, row[0]) if row else None


def _quiet_link_in(
    cur, links: LinkRepository, earlier: TicketLink, anomaly_id: int, actor: str, now
) -> TicketLink:
    """Link the anomaly to the ticket ``earlier`` links (its record copied, no Jira call)."""
    issue = Issue(
        earlier.issue_id,
        earlier.issue_key,
        earlier.summary,
        earlier.status_name,
        earlier.status_category,
        earlier.priority,
        None,
        (),
        earlier.url,
    )
    try:
        link = links.add_in(
            cur,
            anomaly_id=anomaly_id,
            connection_id=earlier.connection_id,
            issue=issue,
            created_by_us=False,
            actor=actor,
            now=now,
        )
    except DuplicateLink:
        return LinkRepository.find_active_in(
            cur, anomaly_id, earlier.connection_id, issue.key, issue.id
        )
    _log_link_in(cur, link, actor, now)
    return link


def _log_link_in(cur, link: TicketLink, actor: str, now) -> None:
    """The Log's row for a link rules made (no Jira call: nothing was sent)."""
    SyncLog.link_event_in(
        cur, link, action=SyncAction.LINK, mode=SyncMode.AUTOMATIC, actor=actor, now=now, attempts=0
    )
