"""The rules' one planning function, on plain records: matching, grouping, recurrence, order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from lib.store.models import Anomaly, FailedCheck
from lib.store.rules import KnownTicket, RuleConditions, TicketRule, TicketTemplate
from lib.tickets.rule_plan import StepKind, fingerprint, group_key, matches, plan

NOW = datetime(2026, 3, 2, 12, 0, 0)
T0 = datetime(2026, 3, 1, 9, 0, 0)


def anomaly(ident, *, container="ORDERS", fields=("AMOUNT",), check=1, minutes=0, **kw):
    values = {
        "weight": 5,
        "tags": ("crm",),
        "anomaly_type": "record",
        "datastore_id": 7,
        "rule_type": "notNull",
    }
    values.update(kw)
    return Anomaly(
        ident,
        values["datastore_id"],
        "Warehouse",
        container,
        tuple(fields),
        values["anomaly_type"],
        "Active",
        None,
        T0 + timedelta(minutes=minutes),
        "",
        values["weight"],
        tuple(values["tags"]),
        (FailedCheck(check, values["rule_type"], "nulls"),),
    )


def rule(ident=1, **kw) -> TicketRule:
    values = dict(
        id=ident,
        position=ident,
        name=f"r{ident}",
        paused=False,
        action="ticket",
        conditions=RuleConditions(),
        ticket=TicketTemplate(),
        group_by="none",
        window_minutes=60,
        reopen_days=7,
        created_at=T0,
        updated_at=T0,
    )
    values.update(kw)
    return TicketRule(**values)


class Known:
    def __init__(self, groups=None, fingerprints=None):
        self.groups = groups or {}
        self.fingerprints = fingerprints or {}

    def group_ticket(self, rule_id, key):
        return self.groups.get((rule_id, key))

    def fingerprint_ticket(self, fp):
        return self.fingerprints.get(fp)


def ticket(key="DQ-1", *, category="new", closed_days=None, started=T0, seen=0) -> KnownTicket:
    closed = NOW - timedelta(days=closed_days) if closed_days is not None else None
    return KnownTicket(key, started, category, NOW, closed, seen)


def kinds(steps):
    return [(s.anomaly_id, s.kind, s.target) for s in steps]


@pytest.mark.parametrize(
    ("conditions", "hit"),
    [
        (RuleConditions(), True),
        (RuleConditions(datastore_ids=(7,)), True),
        (RuleConditions(datastore_ids=(8,)), False),
        (RuleConditions(containers=("orders",)), True),
        (RuleConditions(containers=("stock",)), False),
        (RuleConditions(anomaly_types=("shape",)), False),
        (RuleConditions(weight_min=5, weight_max=5), True),
        (RuleConditions(weight_min=6), False),
        (RuleConditions(weight_max=4), False),
        (RuleConditions(tags=("CRM", "x")), True),
        (RuleConditions(tags=("x",)), False),
        (RuleConditions(rule_types=("notnull",)), True),
        (RuleConditions(rule_types=("between",)), False),
    ],
)
def test_conditions(conditions, hit):
    assert matches(conditions, anomaly(1)) is hit


def test_fingerprint_is_datastore_table_fields_and_checks():
    base = fingerprint(anomaly(1))
    assert fingerprint(anomaly(2, minutes=50, weight=1)) == base
    assert fingerprint(anomaly(3, fields=("PRICE",))) != base
    assert fingerprint(anomaly(4, check=2)) != base
    assert fingerprint(anomaly(5, container="STOCK")) != base
    assert fingerprint(anomaly(6, datastore_id=8)) != base


def test_group_keys():
    a = anomaly(1)
    assert group_key(rule(group_by="none"), a) is None
    assert group_key(rule(group_by="table"), a) == "table:7:orders"
    assert group_key(rule(group_by="datastore"), a) == "datastore:7"
    assert group_key(rule(group_by="check"), a) == "check:1"


def test_group_window_is_counted_from_the_anomaly_that_opened_the_ticket():
    steps = plan(
        [rule(group_by="table", window_minutes=60)],
        [
            anomaly(1, fields=("A",)),
            anomaly(2, fields=("B",), minutes=60),  # at the edge: inside
            anomaly(3, fields=("C",), minutes=61),  # past it: a new ticket
            anomaly(4, fields=("D",), minutes=100),  # within 3's window
        ],
        Known(),
        NOW,
    )
    assert kinds(steps) == [
        (1, StepKind.CREATE, "a new ticket"),
        (2, StepKind.LINK, "the new ticket of anomaly 1"),
        (3, StepKind.CREATE, "a new ticket"),
        (4, StepKind.LINK, "the new ticket of anomaly 3"),
    ]


def test_a_stored_group_ticket_is_used_within_its_window_unless_closed_or_pending():
    r = rule(group_by="table", window_minutes=60)
    key = "table:7:orders"
    late = anomaly(2, fields=("B",), minutes=30)
    assert kinds(plan([r], [late], Known({(1, key): ticket()}), NOW)) == [
        (2, StepKind.LINK, "DQ-1")
    ]
    closed = Known({(1, key): ticket(category="done", closed_days=1)})
    assert plan([r], [late], closed, NOW)[0].kind == StepKind.CREATE
    pending = Known({(1, key): replace(ticket(), key=None)})
    assert plan([r], [late], pending, NOW)[0].kind == StepKind.WAIT
    too_late = anomaly(3, fields=("C",), minutes=90)
    assert plan([r], [too_late], Known({(1, key): ticket()}), NOW)[0].kind == StepKind.CREATE


def test_recurrence_open_recently_closed_and_long_closed():
    a = anomaly(2, minutes=5)
    fp = fingerprint(a)
    open_ = plan([rule()], [a], Known(fingerprints={fp: ticket(seen=2)}), NOW)[0]
    assert (open_.kind, open_.ticket_key, open_.seen_count) == (StepKind.SEEN_AGAIN, "DQ-1", 3)
    assert open_.comment.startswith("Seen again (3).")
    recent = Known(fingerprints={fp: ticket(category="done", closed_days=6.9)})
    reopen = plan([rule(reopen_days=7)], [a], recent, NOW)[0]
    assert (reopen.kind, reopen.ticket_key) == (StepKind.REOPEN, "DQ-1")
    assert "reopened" in reopen.comment
    old = Known(fingerprints={fp: ticket(category="done", closed_days=7.1)})
    assert plan([rule(reopen_days=7)], [a], old, NOW)[0].kind == StepKind.CREATE
    pending = Known(fingerprints={fp: replace(ticket(), key=None)})
    assert plan([rule()], [a], pending, NOW)[0].kind == StepKind.WAIT


def test_the_same_fingerprint_twice_in_one_plan_is_one_ticket_and_a_count():
    steps = plan([rule()], [anomaly(1), anomaly(2, minutes=1), anomaly(3, minutes=2)], Known(), NOW)
    assert [(s.kind, s.seen_count) for s in steps] == [
        (StepKind.CREATE, 0),
        (StepKind.SEEN_AGAIN, 1),
        (StepKind.SEEN_AGAIN, 2),
    ]
    assert steps[2].same_as == 1


def test_first_enabled_match_wins_and_skip_makes_nothing():
    rules = [
        rule(1, paused=True),  # would take everything, but paused
        rule(2, action="skip", conditions=RuleConditions(tags=("noise",))),
        rule(3),
    ]
    steps = plan(rules, [anomaly(1, tags=("noise",)), anomaly(2, container="X")], Known(), NOW)
    assert [(s.anomaly_id, s.rule_id, s.kind) for s in steps] == [
        (1, 2, StepKind.SKIP),
        (2, 3, StepKind.CREATE),
    ]
    assert plan([rule(conditions=RuleConditions(weight_min=9))], [anomaly(1)], Known(), NOW) == []


def test_summaries_follow_the_grouping():
    a = anomaly(1)
    assert plan([rule(group_by="table")], [a], Known(), NOW)[0].summary == (
        "Anomalies in Warehouse.ORDERS"
    )
    assert plan([rule()], [a], Known(), NOW)[0].summary == (
        "Record anomaly in Warehouse.ORDERS: nulls"
    )


def test_a_limited_plan_is_the_first_steps_of_the_whole_plan():
    anomalies = [anomaly(i, fields=(f"F{i % 3}",), check=i % 3, minutes=i) for i in range(1, 12)]
    rules = [rule(group_by="table", window_minutes=4)]
    whole = plan(rules, anomalies, Known(), NOW)
    assert len(whole) == 11 and {s.kind for s in whole} >= {StepKind.CREATE, StepKind.LINK}
    assert plan(rules, anomalies, Known(), NOW, limit=4) == whole[:4]
