"""Every create is one outbox row through the one engine: retry, one round trip, waiting changes."""

from __future__ import annotations

import pytest

from lib.anomalies.changes import Mode
from lib.tickets.automation import AutomationService, JiraRefused
from tests.sync.conftest import PUBLIC_URL

COMMAND = "job-42|CREATE|summary;Disk full on orders|priority;High"


@pytest.fixture
def auto(cloud_harness):
    h = cloud_harness
    return AutomationService(h.db, h.engine, lambda: h.holder["active"])


def _api(h) -> str:
    return "3" if h.flavour == "cloud" else "2"


def test_a_failed_automation_create_is_retried_from_the_log_and_makes_one_issue(
    cloud_harness, auto
):
    h = cloud_harness
    h.fault(kind="status", status=400, method="POST", path=r"/issue$")
    with pytest.raises(JiraRefused, match="Jira refused the ticket"):
        auto.run(COMMAND)
    [row] = h.log_rows(action="create")
    assert row.status == "failed" and row.anomaly_id is None
    assert row.idempotency_key == "anomaly-desk-auto-job-42"
    h.engine.retry(row.id)  # what the Log page's Retry calls
    h.drain()
    assert h.engine.log.get(row.id).status == "ok"
    assert [i.key for i in h.state.all_issues()] == ["DQ-1"]
    assert "anomaly-desk-auto-job-42" in h.state.get("DQ-1").labels
    # The GUID now knows its ticket: the same command answers it without sending.
    again = auto.run(COMMAND)
    assert (again.status, again.ticket_key) == ("existing", "DQ-1")
    with pytest.raises(ValueError):
        h.engine.retry(row.id)  # no longer failed: nothing to send again
    assert len(h.state.all_issues()) == 1


def test_a_retried_automation_create_whose_guid_got_a_ticket_meanwhile_is_refused(
    cloud_harness, auto
):
    h = cloud_harness
    h.fault(kind="status", status=400, method="POST", path=r"/issue$")
    with pytest.raises(JiraRefused, match="Jira refused"):
        auto.run(COMMAND)
    assert auto.run(COMMAND).ticket_key == "DQ-1"  # a corrected command went through
    failed = h.log_rows(action="create", status="failed")[0]
    with pytest.raises(ValueError, match="DQ-1 was already made for job-42"):
        h.engine.retry(failed.id)
    assert len(h.state.all_issues()) == 1


@pytest.mark.parametrize("path", ["dialog", "automation"])
def test_a_create_makes_one_http_call(cloud_harness, auto, path):
    h = cloud_harness
    if path == "dialog":
        result = h.tickets.create_ticket(1, summary="one call", actor="alice")
        key, url = result.key, result.link.url
    else:
        result = auto.run(COMMAND)
        key, url = result.ticket_key, result.ticket_url
    assert key == "DQ-1" and url == f"{h.sandbox.base_url}/browse/DQ-1"
    assert h.stats()["received"] == {"POST /rest/api/3/issue": 1}
    [row] = h.log_rows(action="create")
    assert row.status == "ok" and row.ticket_url == url and '"self"' in row.response_json


def test_acknowledge_and_comment_while_a_create_is_unconfirmed_reach_the_ticket_once(harness):
    h = harness
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue$")
    created = h.tickets.create_ticket(1, summary="lost answer", actor="alice")
    assert created.status == "pending" and h.tickets.links_for(1) == []
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.changes.comment(1, "bob", "while waiting", mode=Mode.MANUAL)
    waiting = h.log_rows(action="comment")
    assert [r.waits_on for r in waiting] == [created.log_id] * 2
    assert all(r.ticket_key is None for r in waiting)
    h.drain()
    assert [link.issue_key for link in h.tickets.links_for(1)] == ["DQ-1"]
    assert h.comments("DQ-1") == [
        "[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged",
        "Comment from Anomaly Desk (bob): while waiting",
    ]
    rows = h.log_rows(action="comment")
    assert all(r.status == "ok" and r.ticket_key == "DQ-1" and r.attempts == 1 for r in rows)
    assert rows[0].link_id == h.tickets.links_for(1)[0].id
    assert h.stats()["applied"][f"POST /rest/api/{_api(h)}/issue/DQ-1/comment"] == 2
    assert len(h.state.all_issues()) == 1


def test_an_automation_update_while_its_create_is_unconfirmed_waits_for_it(cloud_harness, auto):
    h = cloud_harness
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue$")
    assert auto.run(COMMAND).status == "pending"
    queued = auto.run("job-42|UPDATE|priority;Low")
    assert queued.status == "queued" and "once Jira confirms" in queued.message
    h.drain()
    assert h.state.get("DQ-1").priority == "Low"
    assert auto.update_state(queued.log_id).row_status == "ok"


def test_a_second_create_of_the_same_dialog_returns_the_first_ticket(cloud_harness):
    h = cloud_harness
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue$")
    submission = h.tickets.new_submission()  # one per opening of the dialog
    first = h.tickets.create_ticket(1, summary="once", actor="alice", submission=submission)
    assert first.status == "pending"
    h.drain()  # the worker confirms the first ticket
    again = h.tickets.create_ticket(1, summary="once", actor="alice", submission=submission)
    assert (again.status, again.key) == ("created", "DQ-1")
    assert again.link.issue_key == "DQ-1" and "no second ticket" in again.message
    assert len(h.state.all_issues()) == 1
    other = h.tickets.create_ticket(1, summary="another", actor="alice", submission="new-open")
    assert other.key == "DQ-2"  # a new opening of the dialog is a new ticket


def test_the_generated_description_is_stored_as_a_doc_and_rendered_per_flavour(harness):
    h = harness
    result = h.tickets.create_ticket(1, summary="s", actor="alice")
    row = h.engine.log.get(result.log_id)
    assert '"description"' in row.rich_fields and row.body_doc is None
    issue = h.state.get(result.key)
    if h.flavour == "cloud":
        assert issue.description["type"] == "doc"
    else:
        assert isinstance(issue.description, str) and "h3. " in issue.description
    assert f"{PUBLIC_URL}/?anomaly=1" in str(issue.description)


def test_changes_waiting_on_a_create_that_fails_fail_with_it_and_retry_takes_them_along(
    cloud_harness,
):
    h = cloud_harness
    h.fault(kind="drop", method="POST", path=r"/issue$")  # lost, never applied
    h.fault(kind="status", status=400, method="POST", path=r"/issue$")  # the resend is refused
    created = h.tickets.create_ticket(1, summary="refused later", actor="alice")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.drain()  # nothing may wait forever on a create that failed
    create = h.engine.log.get(created.log_id)
    [waiting] = h.log_rows(action="comment")
    assert create.status == "failed" and waiting.status == "failed"
    assert f"log row {create.id}" in waiting.error
    h.engine.retry(create.id)
    h.drain()
    assert h.comments("DQ-1") == ["[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"]
    assert h.engine.log.get(waiting.id).status == "ok" and len(h.state.all_issues()) == 1


def _sent(h, method: str, path_end: str) -> list[dict]:
    return [
        b["body"]["fields"]
        for b in h.stats()["bodies"]
        if b["method"] == method and b["path"].endswith(path_end)
    ]


def test_rich_text_in_any_field_is_stored_as_a_doc_and_rendered_per_flavour(harness):
    h = harness
    auto = AutomationService(h.db, h.engine, lambda: h.holder["active"])
    result = auto.run("job-9|CREATE|summary;s|environment;Disk *full* on {code}")
    assert result.ticket_key  # the sandbox's create screen has an environment field
    [row] = h.log_rows(action="create")
    assert '"environment"' in row.rich_fields  # a doc, not one flavour's rendering
    [sent] = _sent(h, "POST", "/issue")
    if h.flavour == "cloud":
        assert sent["environment"]["type"] == "doc"
    else:
        assert isinstance(sent["environment"], str) and "\\{code\\}" in sent["environment"]
