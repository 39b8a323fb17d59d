"""Bulk actions on the Anomalies page (AppTest), against a sandbox over real HTTP."""

import json
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from lib.anomalies.importing import import_file
from lib.connections.models import ConnectionInput, TicketDefaults
from lib.connections.validation import sandbox_credentials
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.jira.sandbox.faults import Fault
from lib.services import services_for
from tests.waiting import wait_until

NOW = datetime(2026, 11, 20, 12, 0)
ROW = {
    "datastore_id": 1,
    "datastore_name": "Warehouse",
    "container": "CUSTOMERS",
    "fields": ["CUSTOMER_NAME"],
    "type": "shape",
    "status": "Active",
    "detected_at": "2026-11-20T08:00:00Z",
    "failed_checks": [{"check_id": 1, "rule_type": "notNull", "message": "3 nulls"}],
}


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


@pytest.fixture
def svc(tmp_settings, sandbox):
    sandbox.runtime.reset()
    services = services_for(tmp_settings)
    rows = [{**ROW, "id": i} for i in (7, 8, 9)]
    import_file(services.db, "a.json", json.dumps(rows).encode(), NOW)
    connection, _ = services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    services.connections.save_defaults(
        connection.id, TicketDefaults(project_key="DQ", issue_type_name="Task")
    )
    return services


@pytest.fixture
def app(page_path, svc):
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.run()
    at.toggle(key="anomalies_bulk_mode").set_value(True).run()
    assert not at.exception
    return at


def drain(svc) -> None:
    def drained() -> bool:
        if svc.sync.log.unfinished():
            svc.worker.run_once()
        return not svc.sync.log.unfinished()

    wait_until(drained, 15, "the outbox draining", interval=0.02)


def results(at) -> dict:
    frame = next(d.value for d in at.dataframe if "result" in d.value.columns)
    return dict(zip(frame["anomaly"], zip(frame["result"], frame["ticket"], frame["error"])))


def run(at, action: str, **inputs) -> None:
    at.selectbox(key="anomalies_bulk_action").select(action)
    for key, value in inputs.items():
        at.text_input(key=key).input(value)
    at.button(key="anomalies_bulk_run").click().run()
    assert not at.exception


def test_the_table_ticks_rows_and_a_group_ticket_links_them_all(app, svc, sandbox):
    at = app
    assert at.button(key="anomalies_bulk_run").disabled  # nothing selected yet
    at.multiselect(key="anomalies_bulk_ids").select(7).select(9).run()
    run(at, "One ticket for the group", anomalies_bulk_summary="Nulls in customers")
    assert at.get("progress")  # the bar, while the worker has not sent it yet
    drain(svc)
    at.run()
    [issue] = sandbox.runtime.state.all_issues()
    assert issue.summary == "Nulls in customers"
    assert results(at) == {7: ("Done", issue.key, ""), 9: ("Done", issue.key, "")}
    assert [link.issue_key for link in svc.tickets.links_for(7)] == [issue.key]
    assert svc.tickets.links_for(8) == []


def test_acknowledge_all_matching_the_filters(app, svc):
    at = app
    at.checkbox(key="anomalies_bulk_all").check().run()
    assert at.checkbox(key="anomalies_bulk_all").label == "All 3 matching these filters"
    run(at, "Acknowledge")
    assert {svc.anomalies.get(i).status for i in (7, 8, 9)} == {"Acknowledged"}
    assert {r[0] for r in results(at).values()} == {"Done"}


def test_cancel_a_job_before_the_worker_sends_it_and_a_jira_failure_is_worded(app, svc, sandbox):
    at = app
    at.multiselect(key="anomalies_bulk_ids").select(7).select(8).run()
    run(at, "One ticket per anomaly")
    at.button(key="anomalies_bulk_cancel").click().run()
    drain(svc)
    assert {r[0] for r in results(at).values()} == {"Cancelled"}
    assert sandbox.runtime.state.all_issues() == []
    sandbox.runtime.faults.update_settings({"error_rate": 1.0})  # Jira fails (5xx) for a while
    run(at, "Link all to an existing ticket", anomalies_bulk_key="DQ-1")
    assert "Jira" in at.error[0].value  # worded, no traceback
    sandbox.runtime.faults.update_settings({"error_rate": 0.0})


def test_a_bad_ticket_key_is_refused_with_nothing_changed(app, svc):
    at = app
    at.multiselect(key="anomalies_bulk_ids").select(8).run()
    run(at, "Link all to an existing ticket", anomalies_bulk_key="not a key")
    assert "is not an issue key" in at.error[0].value
    assert svc.bulk.recent() == [] and svc.tickets.links_for(8) == []


def test_retry_the_failed_ones(app, svc, sandbox):
    at = app
    sandbox.runtime.faults.add_faults(
        [Fault("status", method="POST", path=r"/issue/bulk$", status=400)]
    )
    at.multiselect(key="anomalies_bulk_ids").select(7).select(8).run()
    run(at, "One ticket per anomaly")
    drain(svc)
    at.run()
    assert {r[0] for r in results(at).values()} == {"Failed"}
    assert all("HTTP 400" in r[2] for r in results(at).values())
    at.button(key="anomalies_bulk_retry").click().run()
    drain(svc)
    at.run()
    keys = sorted(r[1] for r in results(at).values())
    assert keys == sorted(i.key for i in sandbox.runtime.state.all_issues()) and len(keys) == 2
