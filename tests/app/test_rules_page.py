"""The Rules page under AppTest: create a rule, dry-run it, enable and pause it, delete it."""

from __future__ import annotations

from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from lib.jira import BadCredentials
from lib.services import utc_now
from lib.store.models import Anomaly, FailedCheck


def make_anomaly(ident: int, container: str) -> Anomaly:
    return Anomaly(
        ident,
        7,
        "Warehouse",
        container,
        (f"FIELD_{ident}",),
        "record",
        "Active",
        None,
        datetime(2026, 3, 1, 9, ident),
        "desc",
        5,
        ("crm",),
        (FailedCheck(100 + ident, "notNull", "values are null"),),
    )


@pytest.fixture
def svc(sandbox_services):
    sandbox_services.anomalies.upsert_many(
        [make_anomaly(1, "ORDERS"), make_anomaly(2, "ORDERS"), make_anomaly(3, "STOCK")], utc_now()
    )
    return sandbox_services


@pytest.fixture
def at(svc, page_path):
    app = AppTest.from_file(page_path("rules"), default_timeout=30)
    app.run()
    assert not app.exception
    return app


def create(at, name: str, tables: str = "ORDERS", group: str = "table") -> None:
    at.text_input(key="rules_new_name").set_value(name)
    at.text_input(key="rules_new_tables").set_value(tables)
    at.selectbox(key="rules_new_group").set_value(group)
    at.button(key="rules_new_save").click().run()
    assert not at.exception


def test_create_dry_run_enable_pause_and_delete_a_rule(at, svc, jira_sandbox):
    assert at.title[0].value == "Rules"
    assert "No rules yet." in at.info[0].value
    create(at, "orders")
    [rule] = svc.rules.rules()
    assert rule.paused and rule.conditions.containers == ("ORDERS",)
    assert "Saved orders, paused" in at.success[0].value
    at.button(key=f"rules_{rule.id}_dry").click().run()
    assert any("Dry run: 2 anomalies" in i.value for i in at.info)
    plan = at.dataframe[0].value
    assert list(plan["anomaly_id"]) == [1, 2]
    assert list(plan["action"]) == ["create", "link"]
    assert jira_sandbox.runtime.state.issues == {}  # nothing was sent
    at.button(key=f"rules_{rule.id}_toggle").click().run()
    assert svc.rules.get(rule.id).paused is False
    at.button(key=f"rules_{rule.id}_toggle").click().run()
    assert svc.rules.get(rule.id).paused is True
    at.button(key=f"rules_{rule.id}_delete").click().run()
    assert "Delete rule orders?" in at.warning[0].value
    assert svc.rules.rules() != []  # asked, not done
    at.button(key=f"rules_{rule.id}_delete_yes").click().run()
    assert svc.rules.rules() == []
    assert "Deleted rule orders." in at.success[0].value


def test_keep_it_cancels_the_delete(at, svc):
    create(at, "orders")
    [rule] = svc.rules.rules()
    at.button(key=f"rules_{rule.id}_delete").click().run()
    at.button(key=f"rules_{rule.id}_delete_no").click().run()
    assert [r.id for r in svc.rules.rules()] == [rule.id]
    assert not at.warning


def test_a_bad_rule_is_refused_and_nothing_is_saved(at, svc):
    at.text_input(key="rules_new_name").set_value("spaces")
    at.text_input(key="rules_new_labels").set_value("two words")
    at.button(key="rules_new_save").click().run()
    assert "Fix the fields marked below." in at.error[0].value
    assert any("ticket.labels: Labels have no spaces." in c.value for c in at.caption)
    assert svc.rules.rules() == []


def test_run_now_and_what_rules_did(at, svc, jira_sandbox):
    create(at, "orders")
    [rule] = svc.rules.rules()
    at.button(key=f"rules_{rule.id}_toggle").click().run()
    at.button(key="rules_run").click().run()
    assert any("2 anomalies handled." in i.value for i in at.info)
    assert len(jira_sandbox.runtime.state.issues) == 1
    at.run()
    done = at.dataframe[0].value
    assert sorted(done["outcome"]) == ["created", "linked"]


def test_the_pause_reason_and_resume(at, svc):
    connection = svc.jira().connection_id
    svc.health.record_failure(connection, BadCredentials("Jira said 401"))
    at.run()
    banner = at.error[0].value
    assert "automation is paused" in banner and "credentials" in banner.lower()
    assert any("Rules wait" in c.value for c in at.caption)
    at.button(key="health_resume").click().run()
    assert svc.rules.paused() is None
    assert not at.error


def open_edit(at, rule_id: int) -> str:
    at.button(key=f"rules_{rule_id}_edit").click().run()
    assert not at.exception
    return f"rules_{rule_id}_form"


def test_edit_a_rules_conditions_and_ticket_settings(at, svc):
    create(at, "orders")
    [rule] = svc.rules.rules()
    form = open_edit(at, rule.id)
    assert at.text_input(key=f"{form}_name").value == "orders"  # pre-filled from the rule
    assert at.text_input(key=f"{form}_tables").value == "ORDERS"
    assert at.selectbox(key=f"{form}_group").value == "table"
    at.text_input(key=f"{form}_name").set_value("stock")
    at.text_input(key=f"{form}_tables").set_value("STOCK, ORDERS")
    at.multiselect(key=f"{form}_types").set_value(["record"])
    at.number_input(key=f"{form}_wmin").set_value(3)
    at.text_input(key=f"{form}_tags").set_value("crm")
    at.text_input(key=f"{form}_project").set_value("OPS")
    at.text_input(key=f"{form}_priority").set_value("High")
    at.text_input(key=f"{form}_labels").set_value("dq, late")
    at.text_input(key=f"{form}_assignee").set_value("acc-1")
    at.selectbox(key=f"{form}_group").set_value("datastore")
    at.number_input(key=f"{form}_window").set_value(30)
    at.button(key=f"{form}_save").click().run()
    assert not at.exception
    saved = svc.rules.get(rule.id)
    c, t = saved.conditions, saved.ticket
    assert saved.name == "stock" and saved.paused and saved.position == rule.position
    assert c.containers == ("STOCK", "ORDERS") and c.anomaly_types == ("record",)
    assert c.weight_min == 3 and c.tags == ("crm",)
    assert (t.project, t.priority, t.labels, t.assignee) == ("OPS", "High", ("dq", "late"), "acc-1")
    assert (saved.group_by, saved.window_minutes) == ("datastore", 30)
    assert "Saved changes to stock." in at.success[0].value
    assert not [w for w in at.text_input if w.key == f"{form}_name"]  # the form closed
    at.button(key=f"rules_{rule.id}_dry").click().run()
    plan = at.dataframe[0].value
    assert list(plan["anomaly_id"]) == [1, 2, 3]  # one datastore: all three, as one group
    assert list(plan["action"]) == ["create", "link", "link"]


def test_a_refused_edit_changes_nothing(at, svc):
    create(at, "orders")
    [before] = svc.rules.rules()
    form = open_edit(at, before.id)
    at.text_input(key=f"{form}_tables").set_value("STOCK")
    at.text_input(key=f"{form}_labels").set_value("two words")
    at.number_input(key=f"{form}_wmin").set_value(9)
    at.number_input(key=f"{form}_wmax").set_value(2)
    at.button(key=f"{form}_save").click().run()
    assert not at.exception
    assert "Fix the fields marked below." in at.error[0].value
    shown = [c.value for c in at.caption]
    assert "ticket.labels: Labels have no spaces." in shown
    assert "conditions.weight_max: The highest weight is below the lowest." in shown
    assert svc.rules.get(before.id) == before  # nothing saved
    assert at.text_input(key=f"{form}_tables").value == "STOCK"  # what was typed stays
    assert not at.success


def test_cancel_closes_the_edit_and_keeps_the_rule(at, svc):
    create(at, "orders")
    [before] = svc.rules.rules()
    form = open_edit(at, before.id)
    at.text_input(key=f"{form}_name").set_value("renamed")
    at.button(key=f"{form}_cancel").click().run()
    assert not at.exception
    assert svc.rules.get(before.id) == before
    assert not [w for w in at.text_input if w.key == f"{form}_name"]
    form = open_edit(at, before.id)
    assert at.text_input(key=f"{form}_name").value == "orders"  # pre-filled afresh
