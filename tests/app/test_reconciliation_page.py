"""The Reconciliation page: drift reasons read from a real poll of the sandbox, and its actions."""

import json
from datetime import datetime

import pytest
import requests
from streamlit.testing.v1 import AppTest

from lib.anomalies.changes import Mode
from lib.anomalies.importing import import_file
from lib.connections.models import ConnectionInput
from lib.connections.validation import sandbox_credentials
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.jira.sandbox.config import OTHER_CLOUD_API_TOKEN, OTHER_CLOUD_EMAIL
from lib.services import services_for

NOW = datetime(2026, 11, 20, 12, 0)
ROW = {
    "id": 7,
    "datastore_id": 1,
    "datastore_name": "Warehouse",
    "container": "CUSTOMERS",
    "fields": ["CUSTOMER_NAME"],
    "type": "shape",
    "status": "Active",
    "detected_at": "2026-11-20T08:00:00Z",
    "failed_checks": [{"check_id": 1, "rule_type": "notNull", "message": "2 nulls"}],
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
    rows = [{**ROW, "id": n} for n in (7, 8, 9)]
    import_file(services.db, "a.json", json.dumps(rows).encode(), NOW)
    services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    return services


def as_colleague(sandbox, method: str, path: str, body=None) -> None:
    response = requests.request(
        method,
        f"{sandbox.base_url}/rest/api/3{path}",
        json=body,
        auth=(OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN),
        timeout=5,
    )
    assert response.status_code < 300, response.text


def drifted(svc, sandbox) -> dict[int, str]:
    """7 archived here / open in Jira, 8 done in Jira / active here, 9's ticket deleted."""
    keys = {
        n: svc.tickets.create_ticket(
            n, summary=f"s{n}", project="DQ", issue_type="Task", actor="ana"
        ).key
        for n in (7, 8, 9)
    }
    svc.changes.archive(7, "Resolved", "ana", mode=Mode.MANUAL)
    svc.worker.run_once()  # the status comment goes out
    as_colleague(sandbox, "POST", f"/issue/{keys[8]}/transitions", {"transition": {"id": "31"}})
    as_colleague(sandbox, "DELETE", f"/issue/{keys[9]}")
    svc.inbound.poll(svc.jira(), sweep=True)
    return keys


def test_each_drift_reason_is_listed_and_counted(page_path, svc, sandbox):
    keys = drifted(svc, sandbox)
    at = AppTest.from_file(page_path("reconciliation"), default_timeout=30)
    at.run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("anomaly")
    assert table.loc[7, "why"] == "archived here, open in Jira"
    assert table.loc[8, "why"] == "done in Jira, active here"
    assert table.loc[8, "in Jira"] == "done (Done)"
    assert table.loc[9, "why"] == "ticket deleted or not visible"
    assert table.loc[9, "tickets"] == keys[9]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ticket deleted or not visible"] == "1"
    assert metrics["Done in jira, active here"] == "1"
    assert at.get("vega_lite_chart")  # the drift per day, recorded by the poll


def test_apply_jiras_state_archives_as_jira_and_sends_nothing(page_path, svc, sandbox):
    drifted(svc, sandbox)
    queued = len(svc.sync.log.unfinished())
    at = AppTest.from_file(page_path("reconciliation"), default_timeout=30)
    at.run()
    at.multiselect(key="reconciliation_selected").select(8).run()
    at.button(key="reconciliation_apply_here").click().run()
    assert not at.exception
    anomaly = svc.anomalies.get(8)
    assert (anomaly.status, anomaly.archive_reason) == ("Archived", "Resolved")
    assert svc.anomalies.history(8)[0].changed_by == "jira"
    assert len(svc.sync.log.unfinished()) == queued
    assert 8 not in set(at.dataframe[0].value["anomaly"])


def test_apply_ours_queues_the_status_comment_again(page_path, svc, sandbox):
    drifted(svc, sandbox)
    at = AppTest.from_file(page_path("reconciliation"), default_timeout=30)
    at.run()
    at.multiselect(key="reconciliation_selected").select(7).run()
    at.button(key="reconciliation_apply_ours").click().run()
    rows = [r for r in svc.sync.log.unfinished() if r.anomaly_id == 7]
    assert len(rows) == 1 and "Anomaly Status: Archived" in rows[0].body_text


def test_nothing_selected_is_a_clear_message(page_path, svc, sandbox):
    drifted(svc, sandbox)
    at = AppTest.from_file(page_path("reconciliation"), default_timeout=30)
    at.run()
    at.button(key="reconciliation_resync").click().run()
    assert any("Select one or more" in w.value for w in at.warning)


def test_a_moved_ticket_is_listed_until_resync_now(page_path, svc, sandbox):
    key = svc.tickets.create_ticket(
        7, summary="s", project="DQ", issue_type="Task", actor="ana"
    ).key
    moved = requests.post(
        f"{sandbox.base_url}/_sandbox/issues/{key}/move", json={"project": "OPS"}, timeout=5
    ).json()["key"]
    svc.inbound.poll(svc.jira(), sweep=True)
    at = AppTest.from_file(page_path("reconciliation"), default_timeout=30)
    at.run()
    table = at.dataframe[0].value.set_index("anomaly")
    assert table.loc[7, "why"] == "ticket moved"
    assert (table.loc[7, "tickets"], table.loc[7, "moved from"]) == (moved, key)
    at.multiselect(key="reconciliation_selected").select(7).run()
    at.button(key="reconciliation_resync").click().run()
    assert not at.exception
    assert any("Read again from Jira: 1" in s.value for s in at.success)
    assert not at.dataframe or 7 not in set(at.dataframe[0].value["anomaly"])
    assert svc.tickets.links_for(7)[0].issue_key == moved
