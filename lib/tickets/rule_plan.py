"""What auto-ticket rules would do to anomalies: one pure planning function for runs and dry runs.

``plan`` walks the anomalies oldest first and gives each the first rule that
matches (paused rules are not passed in), then decides, in this order:

1. "do not ticket": nothing is made; the anomaly is marked handled.
2. Recurrence, by fingerprint (same datastore, table, fields and checks): an
   earlier ticket that is open gets a "Seen again (n)" comment; one closed
   less than the rule's ``reopen_days`` ago is reopened (the executor falls
   back to a new ticket when the workflow allows no reopening); one closed
   longer ago lets a new ticket be made. Never a second open ticket.
3. Grouping (table, datastore or check): an open group ticket opened within
   the rule's window by an anomaly detected no more than ``window_minutes``
   earlier takes the anomaly as a link (the link use case adds its details as
   a comment).
4. Otherwise a new ticket.

A ticket whose create Jira has not confirmed yet makes the anomaly wait for
the next run, so no second ticket is made meanwhile. Decisions made earlier
in the same plan count (an overlay over what the store knows), so the dry run
of ten anomalies of one table shows one create and nine links, exactly what
the run then does: the run executes this same plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from lib.store.models import Anomaly
from lib.store.rules import KnownTicket, RuleConditions, TicketRule

SUMMARY_CUT = 250


class StepKind(StrEnum):
    SKIP = "skip"  # "do not ticket"
    CREATE = "create"
    LINK = "link"  # to the group's ticket, with the anomaly's details as a comment
    SEEN_AGAIN = "seen_again"  # a "Seen again (n)" comment on the open ticket
    REOPEN = "reopen"  # transition out of done, then the comment
    WAIT = "wait"  # its ticket's create is not confirmed yet: the next run


@dataclass(frozen=True)
class Step:
    """One decision for one anomaly; ``ticket_key`` or ``same_as`` names the ticket it uses."""

    anomaly_id: int
    rule_id: int
    rule_name: str
    kind: StepKind
    fingerprint: str
    group_key: str | None
    detected_at: datetime
    ticket_key: str | None = None  # an existing ticket
    same_as: int | None = None  # the anomaly whose new ticket (made in this run) it uses
    summary: str | None = None  # a new ticket's summary
    comment: str | None = None  # the comment it adds (seen again, reopened)
    seen_count: int = 0

    @property
    def target(self) -> str:
        """The ticket it touches, in words."""
        if self.ticket_key:
            return self.ticket_key
        if self.same_as is not None:
            return f"the new ticket of anomaly {self.same_as}"
        return "a new ticket" if self.kind == StepKind.CREATE else "-"

    def describe(self) -> str:
        words = {
            StepKind.SKIP: "not ticketed (the rule says do not ticket)",
            StepKind.CREATE: f"a new ticket: {self.summary}",
            StepKind.LINK: f"linked to {self.target}, with its details as a comment",
            StepKind.SEEN_AGAIN: f"comment on {self.target}: {self.comment}",
            StepKind.REOPEN: (
                f"reopen {self.target} and comment: {self.comment} "
                "(a new ticket if the workflow allows no reopening)"
            ),
            StepKind.WAIT: "waits: the ticket it would share is not confirmed by Jira yet",
        }
        return f"Anomaly {self.anomaly_id} ({self.rule_name}): {words[self.kind]}"


class TicketLookup(Protocol):
    """What the store knows of tickets rules made (``RuleStore`` bound to one connection)."""

    def group_ticket(self, rule_id: int, group_key: str) -> KnownTicket | None: ...

    def fingerprint_ticket(self, fingerprint: str) -> KnownTicket | None: ...


@dataclass(frozen=True)
class _Planned:
    """A ticket this plan opened or touched: by key, or the new ticket of an anomaly."""

    key: str | None
    same_as: int | None
    started_at: datetime
    seen: int = 0


def fingerprint(anomaly: Anomaly) -> str:
    """Same datastore, table, fields and checks: the same problem seen again."""
    parts = [
        anomaly.datastore_id,
        anomaly.container.lower(),
        sorted(f.lower() for f in anomaly.fields),
        sorted(c.check_id for c in anomaly.failed_checks),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def group_key(rule: TicketRule, anomaly: Anomaly) -> str | None:
    if rule.group_by == "table":
        return f"table:{anomaly.datastore_id}:{anomaly.container.lower()}"
    if rule.group_by == "datastore":
        return f"datastore:{anomaly.datastore_id}"
    if rule.group_by == "check":
        first = anomaly.failed_checks[0].check_id if anomaly.failed_checks else "-"
        return f"check:{first}"
    return None


def matches(conditions: RuleConditions, anomaly: Anomaly) -> bool:
    c = conditions
    lowered = {t.lower() for t in anomaly.tags}
    rule_types = {check.rule_type.lower() for check in anomaly.failed_checks}
    return (
        (not c.datastore_ids or anomaly.datastore_id in c.datastore_ids)
        and (not c.containers or anomaly.container.lower() in _lower(c.containers))
        and (not c.anomaly_types or anomaly.anomaly_type.lower() in _lower(c.anomaly_types))
        and (c.weight_min is None or anomaly.weight >= c.weight_min)
        and (c.weight_max is None or anomaly.weight <= c.weight_max)
        and (not c.tags or bool(lowered & _lower(c.tags)))
        and (not c.rule_types or bool(rule_types & _lower(c.rule_types)))
    )


def _lower(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def first_match(rules: Sequence[TicketRule], anomaly: Anomaly) -> TicketRule | None:
    return next((r for r in rules if not r.paused and matches(r.conditions, anomaly)), None)


def summary_for(rule: TicketRule, anomaly: Anomaly) -> str:
    where = f"{anomaly.datastore_name}.{anomaly.container}"
    if rule.group_by == "table":
        text = f"Anomalies in {where}"
    elif rule.group_by == "datastore":
        text = f"Anomalies in {anomaly.datastore_name}"
    elif rule.group_by == "check" and anomaly.failed_checks:
        check = anomaly.failed_checks[0]
        text = f"Check {check.check_id} ({check.rule_type}) failing"
    else:
        first = anomaly.failed_checks[0].message if anomaly.failed_checks else ""
        text = f"{anomaly.anomaly_type.capitalize()} anomaly in {where}" + (
            f": {first}" if first else ""
        )
    return text if len(text) <= SUMMARY_CUT else text[: SUMMARY_CUT - 1] + "…"


def seen_again_text(anomaly: Anomaly, count: int, *, reopened: bool = False) -> str:
    when = anomaly.detected_at.strftime("%Y-%m-%d %H:%M:%S")
    head = f"Seen again ({count})" + (": Anomaly Desk reopened this ticket" if reopened else "")
    return (
        f"{head}. Anomaly {anomaly.id} in {anomaly.datastore_name}.{anomaly.container} "
        f"was detected at {when} UTC with the same fields and checks."
    )


def plan(
    rules: Sequence[TicketRule],
    anomalies: Sequence[Anomaly],
    known: TicketLookup,
    now: datetime,
    limit: int | None = None,
) -> list[Step]:
    """Each matched anomaly's step, in the order the run carries them out.

    ``limit`` stops after that many steps: a plan is decided in order, so its
    first N steps are the same with or without it (a run takes a batch).
    """
    planner = _Planner(known, now)
    steps: list[Step] = []
    for anomaly in sorted(anomalies, key=lambda a: (a.detected_at, a.id)):
        if limit is not None and len(steps) >= limit:
            break
        rule = first_match(rules, anomaly)
        if rule is not None:
            steps.append(planner.decide(rule, anomaly))
    return steps


class _Planner:
    def __init__(self, known: TicketLookup, now: datetime):
        self._known = known
        self._now = now
        self._by_fingerprint: dict[str, _Planned] = {}
        self._by_group: dict[tuple[int, str], _Planned] = {}

    def decide(self, rule: TicketRule, anomaly: Anomaly) -> Step:
        fp, group = fingerprint(anomaly), group_key(rule, anomaly)
        base = Step(anomaly.id, rule.id, rule.name, StepKind.SKIP, fp, group, anomaly.detected_at)
        if rule.action == "skip":
            return base
        step = self._recurrence(rule, anomaly, base) or self._grouped(rule, anomaly, base)
        if step is None:
            step = replace(base, kind=StepKind.CREATE, summary=summary_for(rule, anomaly))
        self._remember(step, anomaly)
        return step

    def _recurrence(self, rule: TicketRule, anomaly: Anomaly, base: Step) -> Step | None:
        planned = self._by_fingerprint.get(base.fingerprint)
        if planned is not None:  # this plan already gave the fingerprint an open ticket
            count = planned.seen + 1
            return replace(
                base,
                kind=StepKind.SEEN_AGAIN,
                ticket_key=planned.key,
                same_as=planned.same_as,
                seen_count=count,
                comment=seen_again_text(anomaly, count),
            )
        earlier = self._known.fingerprint_ticket(base.fingerprint)
        if earlier is None:
            return None
        if earlier.key is None:
            return replace(base, kind=StepKind.WAIT)
        count = earlier.seen_count + 1
        if not earlier.done:
            text = seen_again_text(anomaly, count)
            return replace(
                base,
                kind=StepKind.SEEN_AGAIN,
                ticket_key=earlier.key,
                seen_count=count,
                comment=text,
            )
        if self._now - closed_at(earlier, self._now) < timedelta(days=rule.reopen_days):
            text = seen_again_text(anomaly, count, reopened=True)
            return replace(
                base,
                kind=StepKind.REOPEN,
                ticket_key=earlier.key,
                seen_count=count,
                comment=text,
                summary=summary_for(rule, anomaly),  # for a new ticket if it cannot be reopened
            )
        return None  # closed long ago: a new ticket (or the group's)

    def _grouped(self, rule: TicketRule, anomaly: Anomaly, base: Step) -> Step | None:
        if base.group_key is None:
            return None
        window = timedelta(minutes=rule.window_minutes)
        planned = self._by_group.get((rule.id, base.group_key))
        if planned is not None and anomaly.detected_at - planned.started_at <= window:
            return replace(
                base, kind=StepKind.LINK, ticket_key=planned.key, same_as=planned.same_as
            )
        if planned is not None:
            return None  # this plan's group ticket is older than the window
        earlier = self._known.group_ticket(rule.id, base.group_key)
        if earlier is None or earlier.done or anomaly.detected_at - earlier.started_at > window:
            return None
        if earlier.key is None:
            return replace(base, kind=StepKind.WAIT)
        return replace(base, kind=StepKind.LINK, ticket_key=earlier.key)

    def _remember(self, step: Step, anomaly: Anomaly) -> None:
        if step.kind == StepKind.CREATE:
            planned = _Planned(None, anomaly.id, anomaly.detected_at)
            self._by_fingerprint[step.fingerprint] = planned
            if step.group_key is not None:
                self._by_group[(step.rule_id, step.group_key)] = planned
        elif step.kind in (StepKind.LINK, StepKind.SEEN_AGAIN, StepKind.REOPEN):
            self._by_fingerprint[step.fingerprint] = _Planned(
                step.ticket_key, step.same_as, anomaly.detected_at, step.seen_count
            )


def closed_at(ticket: KnownTicket, now: datetime) -> datetime:
    """When the ticket was closed, as rules know it: first seen closed, else its last read."""
    return ticket.closed_seen_at or ticket.last_synced_at or now
