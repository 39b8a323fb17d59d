"""The Linked tickets section and its dialogs, against a sandbox over real HTTP."""

import json
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from lib.anomalies.changes import Mode
from lib.anomalies.importing import import_file
from lib.anomalies.overview import AnomalyOverview
from lib.connections.models import ConnectionInput
from lib.connections.validation import sandbox_credentials
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.jira.sandbox.state import STATUSES
from lib.services import services_for
from lib.store.models import AnomalyFilter
from lib.store.sync_log import SyncLog

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
    "failed_checks": [
        {
            "check_id": 1,
            "rule_type": "entityResolution",
            "message": "8 values in CUSTOMER_NAME were resolved to 7 distinct entities",
        }
    ],
}


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


@pytest.fixture
def svc(tmp_settings, sandbox):
    services = services_for(tmp_settings)
    import_file(services.db, "a.json", json.dumps([ROW, {**ROW, "id": 8}]).encode(), NOW)
    services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    return services


@pytest.fixture
def app(page_path, svc):
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = "7"
    at.run()
    assert not at.exception
    return at


def comments_on(sandbox, key):
    return [c.body for c in sandbox.runtime.state.get(key).comments]


def test_new_ticket_dialog_creates_links_and_status_changes_reach_jira(app, svc, sandbox):
    app.button(key="tickets_new").click().run()
    assert app.text_input(key="tickets_summary").value.startswith("[Anomaly 7]")
    assert "View in Anomaly Desk" in app.text_area(key="tickets_description").value
    assert app.selectbox(key="tickets_priority").options  # from the project's allowedValues
    app.button(key="tickets_create").click().run()
    assert not app.exception
    links = svc.tickets.links_for(7)
    assert len(links) == 1 and links[0].issue_key.startswith("DQ-")
    assert any(links[0].issue_key in s.value for s in app.success)
    issue = sandbox.runtime.state.get(links[0].issue_key)
    assert "anomaly-desk-7" in issue.labels
    app.button(key="anomalies_ack").click().run()
    assert svc.worker.run_once() == 1
    texts = [json.dumps(b) for b in comments_on(sandbox, links[0].issue_key)]
    assert len(texts) == 1 and "Anomaly Status: Acknowledged" in texts[0]


def test_empty_summary_is_shown_next_to_the_field_and_nothing_is_linked(app, svc):
    app.button(key="tickets_new").click().run()
    app.text_input(key="tickets_summary").input("   ").run()
    app.button(key="tickets_create").click().run()
    assert any("Summary is required" in e.value for e in app.error)
    assert svc.tickets.links_for(7) == []


def test_link_existing_by_key_then_duplicate_is_refused_and_unlink_keeps_the_issue(
    app, svc, sandbox
):
    created = svc.tickets.create_ticket(
        8, summary="Orders are late", project="DQ", issue_type="Task", actor="ana"
    )
    key = created.key
    app.button(key="tickets_link").click().run()
    app.text_input(key="tickets_query").input(key).run()
    app.button(key=f"tickets_pick_{key}").click().run()
    assert [link.issue_key for link in svc.tickets.links_for(7)] == [key]
    assert any("Anomaly Linked" in json.dumps(b) for b in comments_on(sandbox, key))
    app.button(key="tickets_link").click().run()
    app.text_input(key="tickets_query").input(key).run()
    app.button(key=f"tickets_pick_{key}").click().run()
    assert any("already linked" in e.value for e in app.error)
    link_id = svc.tickets.links_for(7)[0].id
    app.button(key=f"tickets_unlink_{link_id}").click().run()
    app.button(key=f"tickets_unlink_yes_{link_id}").click().run()
    assert svc.tickets.links_for(7) == []
    assert sandbox.runtime.state.get(key) is not None


def test_search_with_quotes_and_backslashes_is_safe(app):
    app.button(key="tickets_link").click().run()
    app.text_input(key="tickets_query").input('foo "bar" \\ baz').run()
    assert not app.exception and [e.value for e in app.error] == []
    assert any("No issue matches" in i.value for i in app.info)


def test_unknown_key_says_so(app):
    app.button(key="tickets_link").click().run()
    app.text_input(key="tickets_query").input("DQ-99999").run()
    assert not app.exception
    shown = [e.value for e in app.error] + [i.value for i in app.info]
    assert shown and all("Traceback" not in t for t in shown), shown
    assert any("DQ-99999" in t or "No issue matches" in t for t in shown), shown


# -- the first hour of a new analyst -------------------------------------------


def _linked(svc, anomaly_id=7, summary="Orders are late"):
    created = svc.tickets.create_ticket(
        anomaly_id, summary=summary, project="DQ", issue_type="Task", actor="ana"
    )
    return created.link


def test_unlink_asks_first_and_cancel_keeps_the_link(app, svc):
    link = _linked(svc)
    app.run()
    app.button(key=f"tickets_unlink_{link.id}").click().run()
    assert [x.issue_key for x in svc.tickets.links_for(7)] == [link.issue_key]
    assert any(f"Unlink {link.issue_key}" in w.value for w in app.warning)
    app.button(key=f"tickets_unlink_no_{link.id}").click().run()
    assert [x.issue_key for x in svc.tickets.links_for(7)] == [link.issue_key]
    assert not any("Unlink" in w.value for w in app.warning)
    app.button(key=f"tickets_unlink_{link.id}").click().run()
    app.button(key=f"tickets_unlink_yes_{link.id}").click().run()
    assert svc.tickets.links_for(7) == []


def test_link_search_by_words_shows_each_hits_status(app, svc, sandbox):
    key = _linked(svc, 8, summary="Invoices arrive twice").issue_key
    issue = sandbox.runtime.state.get(key)
    name = next(s.name for s in STATUSES if s.id == issue.status_id)
    app.button(key="tickets_link").click().run()
    app.text_input(key="tickets_query").input("Invoices twice").run()
    assert app.button(key=f"tickets_pick_{key}")
    shown = [c.value for c in app.caption]
    assert name in shown, shown
    hits = svc.tickets.search_issues("Invoices twice")
    assert [(h.key, h.status_name) for h in hits] == [(key, name)]


def test_the_list_shows_ticket_keys_and_queued_or_failed_updates(page_path, svc):
    key = _linked(svc).issue_key
    svc.changes.acknowledge(7, "ana", mode=Mode.MANUAL)  # queued: no worker runs here
    with svc.db.transaction() as cur:
        SyncLog.insert_in(
            cur,
            now=NOW,
            action="create",
            mode="manual",
            status="failed",
            anomaly_id=8,
            connection_id=svc.jira.connection().id,
            error="Jira said no",
        )
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.run()
    table = at.dataframe[0].value.set_index("id")
    assert table.loc[7, "tickets"] == key and table.loc[7, "jira"] == "1 queued"
    assert table.loc[8, "tickets"] == "" and table.loc[8, "jira"] == "1 failed"


def test_a_superseded_failure_is_quiet_and_can_be_dismissed(page_path, svc):
    with svc.db.transaction() as cur:
        failed = SyncLog.insert_in(
            cur,
            now=NOW,
            action="create",
            mode="manual",
            status="failed",
            anomaly_id=7,
            connection_id=svc.jira.connection().id,
            error="Jira said no",
        )
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = "7"
    at.run()
    assert any("Jira said no" in e.value for e in at.error)
    key = _linked(svc).issue_key
    at.run()
    assert not any("Jira said no" in e.value for e in at.error)
    assert any("Jira said no" in c.value and key in c.value for c in at.caption)
    assert at.dataframe  # sanity: the details are drawn
    at.button(key=f"tickets_dismiss_{failed}").click().run()
    assert not any("Jira said no" in c.value for c in at.caption)
    overview = AnomalyOverview.of(svc)
    assert (
        overview.list_page(AnomalyFilter(), sort="id", descending=False, limit=5, offset=0)
        .tickets[7]
        .failed
        == 0
    )


def test_a_ticket_changed_on_the_tickets_page_shows_its_new_summary(page_path, svc):
    link = _linked(svc)
    delivery = svc.automation.update_ticket(
        link.issue_key,
        {"summary": "Orders arrive a day late", "priority": {"name": "Highest"}},
        "ana",
    )
    assert delivery.outcome == "ok"
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = "7"
    at.run()
    assert any("Orders arrive a day late" in m.value for m in at.markdown)
    assert any("priority Highest" in c.value for c in at.caption)
    assert svc.tickets.links_for(7)[0].summary == "Orders arrive a day late"


def test_a_double_click_on_comment_reaches_the_ticket_once(app, svc):
    link = _linked(svc)
    app.run()
    (box,) = [t for t in app.text_area if t.label == "Add a comment"]
    box.input("Seen upstream")
    app.button(key="anomalies_comment").click().run()
    app.button(key="anomalies_comment").click().run()
    queued = [
        r
        for r in svc.sync.log.for_anomaly(7)
        if r.action == "comment" and "Seen upstream" in (r.body_text or "")
    ]
    assert [r.ticket_key for r in queued] == [link.issue_key]
    assert not app.error  # the echo of a double click is not an error either


def _as_colleague(sandbox, method, path, body=None):
    import requests

    from lib.jira.sandbox.config import OTHER_CLOUD_API_TOKEN, OTHER_CLOUD_EMAIL

    response = requests.request(
        method,
        f"{sandbox.base_url}/rest/api/3{path}",
        json=body,
        auth=(OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN),
        timeout=5,
    )
    assert response.status_code < 300, response.text


def _opened(page_path, anomaly_id=7):
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = str(anomaly_id)
    at.run()
    assert not at.exception
    return at


def test_jiras_side_shows_status_colour_assignee_and_only_jiras_comments(page_path, svc, sandbox):
    key = _linked(svc).issue_key
    svc.changes.acknowledge(7, "ana", mode=Mode.MANUAL)
    svc.worker.run_once()  # our status comment reaches Jira: it must not show as Jira activity
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Fixed upstream"}]}],
    }
    _as_colleague(sandbox, "POST", f"/issue/{key}/comment", {"body": body})
    _as_colleague(sandbox, "PUT", f"/issue/{key}/assignee", {"accountId": "sandbox-account-2"})
    _as_colleague(sandbox, "POST", f"/issue/{key}/transitions", {"transition": {"id": "31"}})
    svc.inbound.poll(svc.jira())
    at = _opened(page_path)
    shown = " ".join(m.value for m in at.markdown)
    assert ":green-badge[Done]" in shown
    assert "resolution Done" in shown and "assignee Other Sandbox User" in shown
    assert [e.label for e in at.expander if e.label.startswith("Jira activity")] == [
        "Jira activity (1)"
    ]
    texts = [t.value for t in at.text]
    assert "Fixed upstream" in texts
    assert not any("Anomaly Status" in t for t in texts)


def test_a_ticket_deleted_in_jira_is_shown_as_such(page_path, svc, sandbox):
    key = _linked(svc).issue_key
    _as_colleague(sandbox, "DELETE", f"/issue/{key}")
    svc.inbound.poll(svc.jira(), sweep=True)
    at = _opened(page_path)
    assert any("Deleted in Jira or not visible" in m.value for m in at.markdown)


def test_refresh_from_jira_brings_a_jira_comment_at_once(page_path, svc, sandbox):
    key = _linked(svc).issue_key
    at = _opened(page_path)
    assert not [e for e in at.expander if e.label.startswith("Jira activity")]
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "On it"}]}],
    }
    _as_colleague(sandbox, "POST", f"/issue/{key}/comment", {"body": body})
    at.button(key="tickets_refresh_all").click().run()
    assert not at.exception
    assert "On it" in [t.value for t in at.text]


def test_a_links_refresh_brings_jiras_comment_assignee_and_resolution_at_once(
    page_path, svc, sandbox
):
    link = _linked(svc)
    other = _linked(svc, summary="Stock is late")
    at = _opened(page_path)
    assert not [e for e in at.expander if e.label.startswith("Jira activity")]
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Looking now"}]}],
    }
    for key in (link.issue_key, other.issue_key):
        _as_colleague(sandbox, "POST", f"/issue/{key}/comment", {"body": body})
        _as_colleague(sandbox, "PUT", f"/issue/{key}/assignee", {"accountId": "sandbox-account-2"})
    _as_colleague(
        sandbox, "POST", f"/issue/{link.issue_key}/transitions", {"transition": {"id": "31"}}
    )
    at.button(key=f"tickets_refresh_{link.id}").click().run()
    assert not at.exception
    assert [e.label for e in at.expander if e.label.startswith("Jira activity")] == [
        "Jira activity (1)"
    ]  # only the refreshed link's comment: the other waits for the poll
    assert "Looking now" in [t.value for t in at.text]
    view = svc.inbound.ticket_view(link.id)
    assert view.state.assignee == "Other Sandbox User" and view.state.resolution == "Done"
    assert svc.tickets.links_for(7)[0].status_name == "Done"
    assert svc.inbound.ticket_view(other.id).state is None
    reads = [r for r in SyncLog(svc.db).recent(20) if r.action == "refresh"]
    assert reads and all(r.mode == "manual" and r.status == "ok" for r in reads)
    assert {r.request["path"] for r in reads} == {"/search/jql"}  # by id, as the poll reads


def test_a_links_refresh_of_an_unchanged_ticket_says_when_it_read(page_path, svc, sandbox):
    link = _linked(svc)
    svc.tickets.read_from_jira(link.id, "ana")
    first = svc.tickets.links_for(7)[0].last_synced_at
    at = _opened(page_path)
    at.button(key=f"tickets_refresh_{link.id}").click().run()
    assert not at.exception
    assert svc.tickets.links_for(7)[0].last_synced_at > first


def test_a_links_refresh_finds_a_ticket_deleted_in_jira(page_path, svc, sandbox):
    link = _linked(svc)
    at = _opened(page_path)
    _as_colleague(sandbox, "DELETE", f"/issue/{link.issue_key}")
    at.button(key=f"tickets_refresh_{link.id}").click().run()
    assert not at.exception
    assert any("Deleted in Jira or not visible" in m.value for m in at.markdown)
    assert [x.issue_key for x in svc.tickets.links_for(7)] == [link.issue_key]  # the link stays
