"""Auto-ticket rules against the sandbox over HTTP: grouping, recurrence, skip, order, dry run, breaker."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import requests

from lib.anomalies.changes import AnomalyChanges
from lib.jira import BadCredentials
from lib.outbox.engine import SyncEngine
from lib.outbox.policy import ActiveJira, Backoff, UpdateLimit
from lib.outbox.worker import SyncWorker
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import Anomaly, FailedCheck
from lib.store.rules import RuleConditions, RuleDraft, TicketTemplate
from lib.store.sync_log import SyncAction, SyncMode
from lib.tickets.rule_plan import StepKind
from lib.tickets.rules import RuleRefused, RuleService
from lib.tickets.service import TicketService
from tests.sync.conftest import PUBLIC_URL, FixedClock, make_client, plain
from tests.waiting import wait_until

T0 = datetime(2026, 3, 1, 9, 0, 0)


def anomaly(
    ident: int,
    *,
    container: str = "ORDERS",
    fields: tuple[str, ...] = ("AMOUNT",),
    check: int = 500,
    minutes: int = 0,
    tags: tuple[str, ...] = ("crm",),
    weight: int = 5,
    rule_type: str = "notNull",
) -> Anomaly:
    return Anomaly(
        ident,
        7,
        "Warehouse",
        container,
        fields,
        "record",
        "Active",
        None,
        T0 + timedelta(minutes=minutes),
        "desc",
        weight,
        tags,
        (FailedCheck(check, rule_type, f"values in {fields[0]} are null"),),
    )


class Rig:
    def __init__(self, sandbox, flavour: str, db: Database):
        self.sandbox = sandbox
        self.db = db
        self.clock = FixedClock(T0 + timedelta(hours=1))
        client = make_client(sandbox.base_url, flavour)
        self.active = ActiveJira(1, client, default_project="DQ", default_issue_type="Task")
        self.holder = {"active": self.active}
        self.engine = SyncEngine(
            db,
            lambda: self.holder["active"],
            clock=self.clock,
            backoff=Backoff(base=0.05, cap=0.3),
            reconcile_confirm_s=0.2,
            late_write_s=0.2,
            claim_token=f"rules-{id(self)}",
        )
        self.tickets = TicketService(db, self.engine, PUBLIC_URL)
        self.worker = SyncWorker(
            self.engine, self.tickets, refresh_interval_s=0, update_limit=lambda: UpdateLimit(0, 60)
        )
        self.rules = RuleService(db, self.engine, self.tickets)
        self.repo = AnomalyRepository(db)

    def add(self, *anomalies: Anomaly) -> None:
        self.repo.upsert_many(list(anomalies), self.clock())

    def rule(self, **values) -> int:
        values.setdefault("name", "orders")
        values.setdefault("paused", False)
        return self.rules.create(RuleDraft(**values)).id

    def issues(self) -> list:
        return list(self.sandbox.runtime.state.issues.values())

    def comments(self, key: str) -> list[str]:
        return [plain(c.body) for c in self.sandbox.runtime.state.get(key).comments]

    def key_of(self, anomaly_id: int) -> str | None:
        links = self.tickets.links_for(anomaly_id)
        return links[0].issue_key if links else None

    def drain(self) -> None:
        def drained() -> bool:
            self.clock.now += timedelta(seconds=1)  # the outbox's waits pass on this clock
            if self.engine.log.unfinished():
                self.worker.run_once()
            return not self.engine.log.unfinished()

        wait_until(drained, 15, "the outbox draining", interval=0.02)

    def close(self, key: str, *, days_ago: float) -> None:
        """Close the ticket on Jira and let the refresh read it ``days_ago`` before now."""
        self.active.client.do_transition(key, "31")  # the sandbox's "Done"
        later = self.clock.now
        self.clock.now = later - timedelta(days=days_ago)
        with self.db.read() as cur:
            ids = [
                r[0]
                for r in cur.execute(
                    "SELECT id FROM ticket_links WHERE issue_key = ? AND unlinked_at IS NULL", [key]
                ).fetchall()
            ]
        for link_id in ids:
            self.tickets.refresh(link_id, mode=SyncMode.AUTOMATIC)
        self.rules.run()  # a run sees it closed (and remembers when)
        self.clock.now = later


@pytest.fixture(params=["cloud", "dc"])
def rig(request, sandboxes, tmp_path):
    sandbox = sandboxes[request.param]
    sandbox.runtime.reset()
    db = Database(tmp_path / "rules.duckdb")
    yield Rig(sandbox, request.param, db)
    db.close()


@pytest.fixture
def cloud_rig(sandboxes, tmp_path):
    sandbox = sandboxes["cloud"]
    sandbox.runtime.reset()
    db = Database(tmp_path / "rules.duckdb")
    yield Rig(sandbox, "cloud", db)
    db.close()


def test_grouping_shares_one_ticket_within_the_window_and_not_outside(rig):
    rig.rule(group_by="table", window_minutes=60)
    rig.add(
        anomaly(1, fields=("AMOUNT",), minutes=0),
        anomaly(2, fields=("PRICE",), check=501, minutes=30),
        anomaly(3, fields=("TAX",), check=502, minutes=90),  # outside the first one's hour
    )
    report = rig.rules.run()
    assert [(r.step.anomaly_id, r.outcome) for r in report.results] == [
        (1, "created"),
        (2, "linked"),
        (3, "created"),
    ]
    assert rig.key_of(1) == rig.key_of(2) != rig.key_of(3)
    assert len(rig.issues()) == 2
    rig.drain()
    assert any("anomaly 2" in c.lower() or "PRICE" in c for c in rig.comments(rig.key_of(1)))


def test_a_later_run_links_into_the_group_ticket_within_the_window(cloud_rig):
    rig = cloud_rig
    rig.rule(group_by="datastore", window_minutes=120)
    rig.add(anomaly(1, container="ORDERS"))
    rig.rules.run()
    rig.add(anomaly(2, container="CUSTOMERS", check=600, minutes=100))
    report = rig.rules.run()
    assert [(r.outcome, r.ticket_key) for r in report.results] == [("linked", rig.key_of(1))]
    assert len(rig.issues()) == 1


def test_recurrence_while_open_comments_seen_again_n(cloud_rig):
    rig = cloud_rig
    rig.rule()
    rig.add(anomaly(1))
    rig.rules.run()
    key = rig.key_of(1)
    rig.add(anomaly(2, minutes=10))
    rig.rules.run()
    rig.add(anomaly(3, minutes=20))
    rig.rules.run()
    rig.drain()
    assert len(rig.issues()) == 1
    assert rig.key_of(2) == rig.key_of(3) == key
    texts = rig.comments(key)
    assert sum("Seen again (1)" in c for c in texts) == 1
    assert sum("Seen again (2)" in c for c in texts) == 1
    comment_rows = rig.engine.log.recent(100)
    assert all(r.mode == SyncMode.AUTOMATIC for r in comment_rows if r.action == "comment")


def test_recurrence_recently_closed_reopens_the_ticket(rig):
    rig.rule(reopen_days=7)
    rig.add(anomaly(1))
    rig.rules.run()
    key = rig.key_of(1)
    rig.close(key, days_ago=2)
    rig.add(anomaly(2, minutes=10))
    report = rig.rules.run()
    assert [(r.outcome, r.ticket_key) for r in report.results] == [("reopened", key)]
    issue = rig.sandbox.runtime.state.get(key)
    assert issue.status_id != "10001"  # out of Done
    assert len(rig.issues()) == 1
    rig.drain()
    assert any("reopened" in c for c in rig.comments(key))
    transitions = [r for r in rig.engine.log.recent(100) if r.action == SyncAction.TRANSITION]
    assert [(t.status, t.mode) for t in transitions] == [("ok", "automatic")]


def test_recurrence_long_closed_opens_a_new_ticket(cloud_rig):
    rig = cloud_rig
    rig.rule(reopen_days=7)
    rig.add(anomaly(1))
    rig.rules.run()
    old = rig.key_of(1)
    rig.close(old, days_ago=30)
    rig.add(anomaly(2, minutes=10))
    report = rig.rules.run()
    assert [r.outcome for r in report.results] == ["created"]
    assert rig.key_of(2) not in (None, old)
    assert rig.sandbox.runtime.state.get(old).status_id == "10001"  # left closed
    assert len(rig.issues()) == 2
    # The new one is now the fingerprint's open ticket: the next is a comment on it.
    rig.add(anomaly(3, minutes=20))
    assert [r.outcome for r in rig.rules.run().results] == ["seen_again"]
    assert rig.key_of(3) == rig.key_of(2)


def test_do_not_ticket_and_first_match_wins(cloud_rig):
    rig = cloud_rig
    rig.rule(name="noise", action="skip", conditions=RuleConditions(tags=("noise",)))
    rig.rule(name="all")
    rig.add(anomaly(1, tags=("noise",)), anomaly(2, container="CUSTOMERS", check=9))
    report = rig.rules.run()
    assert [(r.step.anomaly_id, r.step.rule_name, r.outcome) for r in report.results] == [
        (1, "noise", "skipped"),
        (2, "all", "created"),
    ]
    assert rig.key_of(1) is None and len(rig.issues()) == 1
    assert rig.rules.run().results == []  # handled once: a later run does nothing


def test_paused_rules_are_passed_over_and_order_can_change(cloud_rig):
    rig = cloud_rig
    first = rig.rule(name="heavy", conditions=RuleConditions(weight_min=8), paused=True)
    rig.rule(name="rest", action="skip")
    rig.add(anomaly(1, weight=9))
    steps = rig.rules.dry_run(first).steps
    assert [(s.rule_name, s.kind) for s in steps] == [("heavy", StepKind.CREATE)]
    rig.rules.move(first, 2)  # now behind "rest", which takes every anomaly
    assert rig.rules.dry_run(first).steps == []
    report = rig.rules.run()
    assert [(r.step.rule_name, r.outcome) for r in report.results] == [("rest", "skipped")]


def test_dry_run_equals_what_the_rule_then_does(rig):
    rig.rule(name="earlier")  # handles anomaly 10 first, so its ticket is known
    rig.add(anomaly(10, container="STOCK", fields=("QTY",), check=70))
    rig.rules.run()
    stock_key = rig.key_of(10)
    new = rig.rule(
        name="grouped",
        group_by="table",
        window_minutes=60,
        conditions=RuleConditions(containers=("orders", "stock")),
        ticket=TicketTemplate(labels=("dq-rule",), priority="High"),
        paused=True,
    )
    rig.rules.move(new, 1)
    rig.add(
        anomaly(1, minutes=0),
        anomaly(2, fields=("PRICE",), check=501, minutes=20),
        anomaly(3, minutes=30),  # the fingerprint of 1: seen again on 1's new ticket
        anomaly(4, fields=("TAX",), check=502, minutes=120),  # outside the window
        anomaly(5, container="STOCK", fields=("QTY",), check=70, minutes=40),  # 10 again
    )
    before = {i.key for i in rig.issues()}
    dry = rig.rules.dry_run(new)
    assert len(rig.issues()) == len(before)  # a dry run sends nothing
    planned = [(s.anomaly_id, s.kind, s.target, s.comment) for s in dry.steps]
    assert [p[1] for p in planned] == [
        StepKind.CREATE,
        StepKind.LINK,
        StepKind.SEEN_AGAIN,
        StepKind.SEEN_AGAIN,
        StepKind.CREATE,
    ]
    assert planned[3][2] == stock_key
    rig.rules.set_paused(new, False)
    report = rig.rules.run()
    assert [(s.anomaly_id, s.kind, s.target, s.comment) for s in report.steps] == planned
    outcome = {StepKind.CREATE: "created", StepKind.LINK: "linked"}
    assert [r.outcome for r in report.results] == [
        outcome.get(kind, "seen_again") for _, kind, _, _ in planned
    ]
    made = {i.key for i in rig.issues()} - before
    assert len(made) == sum(1 for p in planned if p[1] == StepKind.CREATE)
    assert rig.key_of(1) == rig.key_of(2) == rig.key_of(3) != rig.key_of(4)
    assert rig.key_of(5) == stock_key
    labels = rig.sandbox.runtime.state.get(rig.key_of(1)).labels
    assert "dq-rule" in labels
    rig.drain()
    texts = rig.comments(stock_key)
    assert any(planned[3][3] in t for t in texts)


def test_the_breaker_keeps_rules_from_running_until_resumed(cloud_rig):
    rig = cloud_rig
    rig.rule()
    rig.add(anomaly(1))
    rig.engine.health.record_failure(1, BadCredentials("401 from Jira"))
    report = rig.rules.run()
    assert report.paused is not None and report.results == []
    assert "credentials" in rig.rules.paused().reason
    assert rig.issues() == []
    rig.rules.resume("ana")
    assert rig.rules.paused() is None
    assert [r.outcome for r in rig.rules.run().results] == ["created"]


def test_failures_during_a_run_open_the_breaker_and_stop_it(cloud_rig):
    rig = cloud_rig
    rig.engine.health.failing_after = 2
    rig.rule()
    rig.add(*(anomaly(i, container=f"T{i}", check=i) for i in range(1, 5)))
    requests.post(
        rig.sandbox.base_url + "/_sandbox/faults",
        json={"kind": "status", "status": 500, "method": "POST", "path": r"/issue$", "count": None},
        timeout=5,
    ).raise_for_status()
    report = rig.rules.run()
    assert len(report.results) == 2  # the third waits: the breaker opened
    assert "paused" in report.message
    assert rig.rules.paused() is not None
    requests.delete(rig.sandbox.base_url + "/_sandbox/faults", timeout=5)
    assert rig.rules.run().paused is not None


def test_anomalies_arriving_by_import_run_the_rules_on_the_worker(cloud_rig):
    rig = cloud_rig
    rig.rule()
    changes = AnomalyChanges(rig.db, rig.clock, on_imported=rig.rules.anomalies_arrived)
    assert rig.rules.run_due(rig.clock()).results == []  # the first run: nothing there yet
    assert rig.rules.run_due(rig.clock()) is None  # not due again until anomalies arrive
    record = {
        "id": 77,
        "datastore_id": 7,
        "datastore_name": "Warehouse",
        "container": "ORDERS",
        "fields": ["AMOUNT"],
        "type": "record",
        "status": "Active",
        "detected_at": "2026-03-01T09:00:00",
        "failed_checks": [{"check_id": 5, "rule_type": "notNull", "message": "nulls"}],
    }
    changes.import_file("new.json", json.dumps([record]).encode(), mode=SyncMode.MANUAL)
    worker = SyncWorker(
        rig.engine, rig.tickets, refresh_interval_s=0, poll_s=0.05, scheduled=rig.rules.run_due
    )
    worker.start()
    try:
        wait_until(lambda: rig.key_of(77), 15, "the rule's ticket for the imported anomaly")
    finally:
        worker.stop(timeout=5)
    assert len(rig.issues()) == 1


def test_bad_rules_are_refused_with_field_errors(cloud_rig):
    with pytest.raises(RuleRefused) as refused:
        cloud_rig.rules.create(
            RuleDraft(
                name="",
                group_by="week",
                window_minutes=0,
                conditions=RuleConditions(weight_min=5, weight_max=2, anomaly_types=("odd",)),
                ticket=TicketTemplate(labels=("two words",)),
            )
        )
    assert set(refused.value.field_errors) == {
        "name",
        "group_by",
        "window_minutes",
        "conditions.weight_max",
        "conditions.anomaly_types",
        "ticket.labels",
    }
    assert cloud_rig.rules.rules() == []


def test_a_create_waiting_for_confirmation_makes_its_group_wait_not_a_second_ticket(cloud_rig):
    rig = cloud_rig
    rig.rule(group_by="table", window_minutes=60)
    rig.add(anomaly(1, fields=("A",)), anomaly(2, fields=("B",), check=2, minutes=5))
    requests.post(
        rig.sandbox.base_url + "/_sandbox/faults",
        json={"kind": "drop", "method": "POST", "path": r"/issue$"},
        timeout=5,
    ).raise_for_status()
    first = rig.rules.run()
    assert [(r.step.anomaly_id, r.outcome) for r in first.results] == [
        (1, "created"),
        (2, "waiting"),
    ]
    assert rig.key_of(1) is None  # Jira's answer was lost: not confirmed yet
    assert [r.outcome for r in rig.rules.run().results] == ["waiting"]
    rig.drain()  # reconciled, then sent again: one ticket
    key = rig.key_of(1)
    assert key is not None
    assert [(r.outcome, r.ticket_key) for r in rig.rules.run().results] == [("linked", key)]
    assert len(rig.issues()) == 1


def test_rule_comments_are_automatic_and_held_to_the_update_limit(cloud_rig):
    rig = cloud_rig
    rig.rule()
    rig.add(anomaly(1))
    rig.rules.run()
    rig.add(*(anomaly(i, minutes=i) for i in (2, 3, 4)))
    assert [r.outcome for r in rig.rules.run().results] == ["seen_again"] * 3
    limited = SyncWorker(
        rig.engine, rig.tickets, refresh_interval_s=0, update_limit=lambda: UpdateLimit(1, 60)
    )
    for _ in range(3):  # one row per ticket and pass: the second meets the limit
        limited.run_once()
    comments = [r for r in rig.engine.log.recent(100) if r.action == SyncAction.COMMENT]
    assert {r.mode for r in comments} == {SyncMode.AUTOMATIC}
    assert sorted(r.status for r in comments) == ["deferred", "ok", "pending"]


def test_a_rule_ticket_carries_project_type_priority_labels_components_and_assignee(rig):
    assignee = "sandbox-account-1" if rig.active.client.cloud else "admin"
    rig.rule(
        ticket=TicketTemplate(
            project="DQ",
            issue_type="Bug",
            priority="High",
            labels=("dq-rule", "orders"),
            components=("Pipelines",),
            assignee=assignee,
        )
    )
    rig.add(anomaly(1))
    assert [r.outcome for r in rig.rules.run().results] == ["created"]
    issue = rig.sandbox.runtime.state.get(rig.key_of(1))
    assert (issue.project_key, issue.issuetype_id, issue.priority) == ("DQ", "10002", "High")
    assert {"dq-rule", "orders", "anomaly-desk-1"} <= set(issue.labels)
    assert issue.components == ["10100"] and issue.assignee == assignee
    [create] = [r for r in rig.engine.log.recent(10) if r.action == SyncAction.CREATE]
    assert create.mode == SyncMode.AUTOMATIC and create.actor == "rule orders"


def test_a_ticket_jira_refuses_is_recorded_as_failed_and_not_tried_again(cloud_rig):
    rig = cloud_rig
    rig.rule(ticket=TicketTemplate(components=("Nope",)))
    rig.add(anomaly(1))
    [result] = rig.rules.run().results
    assert result.outcome == "failed" and "Nope" in result.message
    assert rig.rules.run().results == []
    assert rig.issues() == []
    assert [a.outcome for a in rig.rules.applications()] == ["failed"]


def test_dry_run_equals_the_run_for_reopen_and_new_tickets_before_a_later_skip_rule(cloud_rig):
    rig = cloud_rig
    early = rig.rule(name="early", reopen_days=7)
    rig.add(anomaly(1), anomaly(2, container="STOCK", check=2))
    rig.rules.run()
    rig.close(rig.key_of(1), days_ago=1)
    rig.close(rig.key_of(2), days_ago=20)
    rig.rules.set_paused(early, True)
    new = rig.rule(name="new", reopen_days=7, paused=True)
    rig.rule(name="quiet", action="skip", conditions=RuleConditions(tags=("noise",)))
    rig.rules.move(new, 1)
    rig.add(
        anomaly(3, minutes=10),  # 1 again, closed a day ago: reopen
        anomaly(4, container="STOCK", check=2, minutes=10),  # 2 again, closed 20 days ago
        anomaly(5, container="LOGS", check=3, tags=("noise",), minutes=10),  # new takes it
    )
    planned = [(s.anomaly_id, s.kind, s.target) for s in rig.rules.dry_run(new).steps]
    assert planned == [
        (3, StepKind.REOPEN, rig.key_of(1)),
        (4, StepKind.CREATE, "a new ticket"),
        (5, StepKind.CREATE, "a new ticket"),
    ]
    rig.rules.set_paused(new, False)
    report = rig.rules.run()
    assert [(s.anomaly_id, s.kind, s.target) for s in report.steps] == planned
    assert [r.outcome for r in report.results] == ["reopened", "created", "created"]
    assert rig.key_of(3) == rig.key_of(1) and rig.key_of(4) not in (None, rig.key_of(2))


def test_a_ticket_that_cannot_be_reopened_gives_way_to_a_new_one(cloud_rig):
    rig = cloud_rig
    rig.rule(reopen_days=7)
    rig.add(anomaly(1))
    rig.rules.run()
    old = rig.key_of(1)
    rig.close(old, days_ago=1)
    rig.add(anomaly(2, minutes=10))
    requests.post(
        rig.sandbox.base_url + "/_sandbox/faults",
        json={"kind": "status", "status": 403, "method": "GET", "path": r"/transitions$"},
        timeout=5,
    ).raise_for_status()
    [result] = rig.rules.run().results
    assert result.outcome == "created" and f"{old} could not be reopened" in result.message
    new = rig.key_of(2)
    assert new not in (None, old)
    assert rig.sandbox.runtime.state.get(new).summary.startswith("Record anomaly in Warehouse")
    assert rig.rules.paused() is None  # a refusal about one ticket is not the integration failing
    [failed] = [r for r in rig.engine.log.recent(50) if r.action == SyncAction.TRANSITION]
    assert failed.status == "failed" and failed.error_kind == "permission"


def test_one_run_at_a_time(cloud_rig):
    rig = cloud_rig
    rig.rule()
    rig.add(anomaly(1))
    with rig.rules._lock:  # a run under way (the worker's)
        second = rig.rules.run()
    assert second.results == [] and "under way" in second.message
    assert rig.issues() == []
    assert [r.outcome for r in rig.rules.run().results] == ["created"]


def test_a_ticket_closed_long_ago_stays_long_closed_however_often_it_is_refreshed(cloud_rig):
    rig = cloud_rig
    rig.rule(reopen_days=7)
    rig.add(anomaly(1))
    rig.rules.run()
    old = rig.key_of(1)
    rig.close(old, days_ago=30)  # the refresh 30 days ago read it done; a run noted it
    rig.tickets.refresh(rig.tickets.links_for(1)[0].id)  # read again now: still done
    rig.add(anomaly(2, minutes=10))
    assert [s.kind for s in rig.rules.dry_run(1).steps] == [StepKind.CREATE]
    assert [r.outcome for r in rig.rules.run().results] == ["created"]
    assert rig.sandbox.runtime.state.get(old).status_id == "10001"


def test_close_times_are_noted_while_every_rule_is_paused(cloud_rig):
    rig = cloud_rig
    rule_id = rig.rule(reopen_days=7)
    rig.add(anomaly(1))
    rig.rules.run()
    old = rig.key_of(1)
    rig.rules.set_paused(rule_id, True)
    rig.active.client.do_transition(old, "31")
    now = rig.clock.now
    rig.clock.now = now - timedelta(days=20)
    rig.tickets.refresh(rig.tickets.links_for(1)[0].id)
    assert rig.rules.run_due(rig.clock()) is None  # no enabled rule: only the close time
    rig.clock.now = now
    rig.tickets.refresh(rig.tickets.links_for(1)[0].id)
    rig.add(anomaly(2, minutes=10))
    assert [s.kind for s in rig.rules.dry_run(rule_id).steps] == [StepKind.CREATE]
