"""The automation command end to end: parse, create, idempotent retry, queued updates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.outbox.policy import UpdateLimit
from lib.tickets.automation import AutomationService, JiraRefused, guid_label
from lib.tickets.automation_command import AutomationRefused
from tests.sync.conftest import plain

COMMAND = "job-42|CREATE|summary;Disk full on orders|priority;High|labels;dq,orders"


@pytest.fixture
def auto(cloud_harness):
    h = cloud_harness
    return AutomationService(h.db, h.engine, lambda: h.holder["active"])


def requests_received(h) -> int:
    return sum(h.stats()["received"].values())


def test_create_makes_the_ticket_with_defaults_and_the_guid_label(cloud_harness, auto):
    h = cloud_harness
    result = auto.run(COMMAND)
    assert (result.status, result.ticket_key, result.ok) == ("created", "DQ-1", True)
    assert result.ticket_url.endswith("/browse/DQ-1")
    issue = h.state.get("DQ-1")
    assert issue.summary == "Disk full on orders" and issue.priority == "High"
    assert issue.labels == ["dq", "orders", "anomaly-desk-auto-job-42"]
    assert issue.issuetype_id == "10001" and issue.project_key == "DQ"  # the connection's defaults
    assert issue.properties["anomaly-desk"]["automation_guid"] == "job-42"
    stored = auto.ticket_for("job-42")
    assert (stored.ticket_key, stored.connection_id) == ("DQ-1", 1) and stored.created_at
    [row] = h.log_rows()
    assert (row.action, row.mode, row.status, row.ticket_key) == (
        "create",
        "automatic",
        "ok",
        "DQ-1",
    )
    assert row.anomaly_id is None and row.actor == "automation"


def test_create_for_a_known_guid_answers_the_ticket_without_sending(cloud_harness, auto):
    h = cloud_harness
    first = auto.run(COMMAND)
    before = requests_received(h)
    again = auto.run(COMMAND.replace("Disk full", "Other words"))
    assert (again.status, again.ticket_key, again.ok) == ("existing", first.ticket_key, True)
    assert requests_received(h) == before
    assert len(h.state.all_issues()) == 1 and len(h.log_rows()) == 1


def test_update_is_queued_as_automatic_and_delivered_by_the_worker(cloud_harness, auto):
    h = cloud_harness
    key = auto.run(COMMAND).ticket_key
    queued = auto.run("job-42|UPDATE|priority;Low|description;Freed 20 GB")
    assert (queued.status, queued.row_status, queued.ticket_key) == ("queued", "pending", key)
    assert h.state.get(key).priority == "High"  # nothing sent yet: the worker sends it
    assert h.worker.run_once() == 1
    assert h.state.get(key).priority == "Low"
    assert "Freed 20 GB" in plain(h.state.get(key).description)
    state = auto.update_state(queued.log_id)
    assert (state.status, state.row_status) == ("sent", "ok")
    assert [(r.action, r.mode, r.status) for r in h.log_rows()] == [
        ("create", "automatic", "ok"),
        ("update", "automatic", "ok"),
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ("unknown-guid|UPDATE|priority;Low", "has no ticket"),
        ("job-42|DELETE|priority;Low", "Part 2 (action) 'DELETE'"),
        ("job-42|CREATE|summary Disk full", "has no ';'"),
        ("job-42|CREATE", "Expected GUID|ACTION"),
    ],
)
def test_refused_commands_send_and_write_nothing(cloud_harness, auto, text, words):
    h = cloud_harness
    before = requests_received(h)
    with pytest.raises(AutomationRefused) as refused:
        auto.run(text)
    assert words in str(refused.value)
    assert requests_received(h) == before
    assert h.log_rows() == [] and auto.ticket_for("job-42") is None


def test_jira_field_errors_refuse_and_free_the_guid(cloud_harness, auto):
    h = cloud_harness
    with pytest.raises(JiraRefused) as refused:
        auto.run("job-7|CREATE|summary;x|customfield_10010;5")
    assert "customfield_10010" in refused.value.field_errors
    assert "customfield_10010" in str(refused.value)
    assert auto.ticket_for("job-7") is None
    [row] = h.log_rows()
    assert (row.status, row.permanent, row.mode) == ("failed", True, "automatic")
    assert auto.run("job-7|CREATE|summary;x").status == "created"


def test_a_lost_create_answer_is_found_by_label_not_created_twice(cloud_harness, auto):
    h = cloud_harness
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue$")
    lost = auto.run(COMMAND)
    assert (lost.status, lost.ok) == ("pending", False)
    assert "never creates a second one" in lost.message
    found = auto.run(COMMAND)
    assert (found.status, found.ticket_key) == ("created", "DQ-1")
    assert "earlier attempt" in found.message
    assert h.stats()["applied"]["POST /rest/api/3/issue"] == 1
    assert auto.run("job-42|UPDATE|priority;Low").status == "queued"


def test_a_lost_create_not_on_jira_is_sent_again_after_the_confirmation_wait(cloud_harness, auto):
    h = cloud_harness
    h.fault(kind="drop", method="POST", path=r"/issue$")  # dropped before it was applied
    assert auto.run(COMMAND).status == "pending"
    assert auto.ticket_for("job-42") is None  # only a confirmed create names the ticket
    h.drain()  # the worker looks twice, finds nothing, sends it again
    again = auto.run(COMMAND)
    assert (again.status, again.ticket_key) == ("existing", "DQ-1")
    assert len(h.state.all_issues()) == 1
    assert h.stats()["received"]["POST /rest/api/3/issue"] == 2


def test_updates_past_the_limit_wait_deferred_with_a_planned_time(cloud_harness, auto):
    h = cloud_harness
    h.worker._update_limit = lambda: UpdateLimit(2, 60)
    key = auto.run(COMMAND).ticket_key
    ids = [auto.run(f"job-42|UPDATE|summary;take {n}").log_id for n in range(3)]
    for _ in range(3):
        h.worker.run_once()
    rows = [h.engine.log.get(i) for i in ids]
    assert [r.status for r in rows] == ["ok", "ok", "deferred"]
    assert rows[2].next_attempt_at >= rows[0].sent_at + timedelta(seconds=59)
    assert h.state.get(key).summary == "take 1"
    state = auto.update_state(ids[2])
    assert state.row_status == "deferred" and state.planned_at == rows[2].next_attempt_at
    assert "past the update limit, planned for" in state.message


def test_update_ticket_sends_a_manual_put_now(cloud_harness, auto):
    h = cloud_harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="before")
    delivery = auto.update_ticket(issue.key.lower(), {"summary": "after"}, "alice")
    assert (delivery.status, delivery.ticket_key) == ("ok", issue.key)
    assert h.state.get(issue.key).summary == "after"
    [row] = h.log_rows()
    assert (row.action, row.mode, row.actor) == ("update", "manual", "alice")
    with pytest.raises(AutomationRefused, match="not an issue key"):
        auto.update_ticket("nope", {"summary": "x"}, "alice")


def test_guid_label_is_a_valid_jira_label():
    assert guid_label("Job.42:A b") == "anomaly-desk-auto-job-42-a-b"
    assert " " not in guid_label("x" * 128) and len(guid_label("x" * 300)) <= 255


def test_a_guid_sent_by_an_older_version_without_an_answer_is_looked_for_first(cloud_harness, auto):
    h = cloud_harness
    # Before 006 the GUID's row was written before the POST; its answer was lost.
    made = h.state.create_issue("DQ", issuetype_id="10001", summary="Disk full on orders")
    made.labels.append(guid_label("job-42"))
    made.properties["anomaly-desk"] = {"automation_guid": "job-42", "request_id": "old-request"}
    with h.db.transaction() as cur:
        cur.execute(
            "INSERT INTO automation_tickets (guid, connection_id, attempted_at, request_id)"
            " VALUES ('job-42', 1, now()::TIMESTAMP, 'old-request')"
        )
    found = auto.run(COMMAND)
    assert (found.status, found.ticket_key) == ("created", made.key)
    assert "POST /rest/api/3/issue" not in h.stats()["received"]
    assert auto.ticket_for("job-42").ticket_key == made.key
