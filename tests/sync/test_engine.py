"""The sync engine end to end against the sandbox over real HTTP, both flavours."""

from __future__ import annotations

import json

from lib.anomalies.changes import Mode
from lib.tickets.description import status_text
from tests.sync.conftest import CHANGE_TIME, PUBLIC_URL
from tests.waiting import wait_until


def test_create_acknowledge_comment_archive_leaves_the_expected_comments(harness):
    h = harness
    result = h.tickets.create_ticket(
        1, summary="Customer names resolve to fewer entities", actor="alice"
    )
    assert result.status == "created" and result.key == "DQ-1"
    issue = h.state.get("DQ-1")
    assert "anomaly-desk-1" in issue.labels
    assert issue.properties["anomaly-desk"]["anomaly_id"] == 1
    link = result.link
    # One round trip: the status is not in the create answer; the refresh reads it later.
    assert link.created_by_us and link.status_name is None and link.url.endswith("/browse/DQ-1")

    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.change_clock.now = CHANGE_TIME.replace(minute=31)
    h.changes.comment(1, "bob", "Looking into it [see wiki] {code}", mode=Mode.MANUAL)
    h.change_clock.now = CHANGE_TIME.replace(minute=45)
    h.changes.archive(1, "Resolved", "alice", mode=Mode.MANUAL)
    h.drain()

    assert h.comments("DQ-1") == [
        "[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged",
        "Comment from Anomaly Desk (bob): Looking into it [see wiki] {code}",
        "[2024-01-15 10:45:00 UTC] Anomaly Status: Archived (Resolved)",
    ]
    rows = h.log_rows()
    assert [(r.action, r.mode, r.status) for r in rows] == [
        ("create", "manual", "ok"),
        ("comment", "manual", "ok"),  # a person's changes keep their mode
        ("comment", "manual", "ok"),
        ("comment", "manual", "ok"),
    ]
    assert all(r.ticket_key == "DQ-1" and r.attempts == 1 and r.latency_ms > 0 for r in rows)
    assert rows[0].ticket_url.endswith("/browse/DQ-1") and rows[0].request_id
    assert "Authorization" not in rows[0].request_json
    sent = json.loads(rows[1].request_json)
    assert sent["path"] == "/issue/DQ-1/comment"
    stats = h.stats()["applied"]
    api = "3" if h.flavour == "cloud" else "2"
    assert stats[f"POST /rest/api/{api}/issue"] == 1
    assert stats[f"POST /rest/api/{api}/issue/DQ-1/comment"] == 3


def test_reopen_text_and_one_row_per_link(harness):
    h = harness
    first = h.tickets.create_ticket(2, summary="first", actor="alice")
    other = h.state.create_issue("DQ", issuetype_id="10001", summary="an existing one")
    linked = h.tickets.link_existing(2, other.key, "alice")
    assert linked.comment.outcome == "ok"
    h.changes.acknowledge(2, "alice", mode=Mode.MANUAL)
    h.change_clock.now = CHANGE_TIME.replace(hour=11)
    h.changes.reopen(2, "alice", mode=Mode.MANUAL)
    h.drain()
    for key in (first.key, other.key):
        texts = h.comments(key)
        assert texts[-2:] == [
            status_text(CHANGE_TIME, "Acknowledged", None),
            "[2024-01-15 11:30:00 UTC] Anomaly Status: Active",
        ]
    details = h.comments(other.key)[0]
    assert "Anomaly Linked [" in details.splitlines()[0] and f"{PUBLIC_URL}/?anomaly=2" in details
    assert len(h.log_rows(action="comment", status="ok")) == 5


# -- faults: every change delivered exactly once --------------------------------


def _api(h) -> str:
    return "3" if h.flavour == "cloud" else "2"


def test_dropped_answer_to_a_comment_is_found_not_resent(harness):
    h = harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.fault(kind="drop_after_apply", method="POST", path=r"/comment$")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.worker.run_once()
    row = h.log_rows(action="comment")[0]
    assert row.status == "pending" and row.needs_reconcile
    h.drain()
    assert h.comments(key) == ["[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"]
    row = h.engine.log.get(row.id)
    assert row.status == "ok" and "lost answer" in row.response_json
    assert h.stats()["applied"][f"POST /rest/api/{_api(h)}/issue/{key}/comment"] == 1


def test_dropped_answer_to_a_create_is_reconciled_by_label(harness):
    h = harness
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue$")
    result = h.tickets.create_ticket(1, summary="lost answer", actor="alice")
    assert result.status == "pending" and "waiting for Jira's confirmation" in result.message
    assert h.tickets.links_for(1) == []
    h.drain()
    links = h.tickets.links_for(1)
    assert [link.issue_key for link in links] == ["DQ-1"]
    assert len(h.state.all_issues()) == 1
    assert h.stats()["applied"][f"POST /rest/api/{_api(h)}/issue"] == 1
    row = h.engine.log.get(result.log_id)
    assert row.status == "ok" and row.ticket_key == "DQ-1" and not row.needs_reconcile


def test_a_new_create_reconciles_the_lost_one_first(cloud_harness):
    h = cloud_harness
    h.fault(kind="timeout_after_apply", method="POST", path=r"/issue$")
    first = h.tickets.create_ticket(1, summary="slow", actor="alice")
    assert first.status == "pending"
    again = h.tickets.create_ticket(1, summary="slow", actor="alice")
    assert again.status == "created" and again.key == "DQ-1"
    assert "no second ticket" in again.message
    assert len(h.state.all_issues()) == 1


def test_a_create_lost_before_jira_applied_it_is_sent_again_after_the_confirmed_miss(cloud_harness):
    h = cloud_harness
    h.fault(kind="drop", method="POST", path=r"/issue$")
    result = h.tickets.create_ticket(1, summary="never arrived", actor="alice")
    assert result.status == "pending"
    h.drain()
    assert [i.key for i in h.state.all_issues()] == ["DQ-1"]
    row = h.engine.log.get(result.log_id)
    # attempts: the send, the first miss, the confirmed miss that re-sent it
    assert row.status == "ok" and row.attempts == 3
    stats = h.stats()
    assert stats["received"]["POST /rest/api/3/search/jql"] == 2
    assert stats["received"]["POST /rest/api/3/issue"] == 2
    assert stats["applied"]["POST /rest/api/3/issue"] == 1


def test_503_429_and_timeouts_recover_with_each_change_once(harness):
    h = harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.fault(kind="status", status=503, method="POST", path=r"/comment$")
    h.fault(kind="status", status=429, retry_after=1, method="POST", path=r"/comment$")
    h.fault(kind="timeout", method="POST", path=r"/comment$")
    h.fault(kind="timeout_after_apply", method="POST", path=r"/comment$")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.changes.comment(1, "bob", "one", mode=Mode.MANUAL)
    h.changes.comment(1, "bob", "two", mode=Mode.MANUAL)
    h.drain(timeout=20)
    assert h.comments(key) == [
        "[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged",
        "Comment from Anomaly Desk (bob): one",
        "Comment from Anomaly Desk (bob): two",
    ]
    assert h.worker.rate_limited >= 1
    rows = h.log_rows(action="comment")
    assert all(r.status == "ok" for r in rows) and rows[0].attempts >= 4


def test_a_row_left_sending_by_a_dead_worker_is_reconciled_not_resent(harness, sandboxes):
    from tests.sync.conftest import build_harness

    h = harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    row = h.log_rows(action="comment")[0]
    # The dead worker claimed the row and its POST reached Jira; then it died.
    h.engine.deliver(row.id)
    h.engine.log.mark_sending(row.id, "dead-process")
    h.changes.comment(1, "bob", "after the crash", mode=Mode.MANUAL)
    fresh = build_harness(h.sandbox, h.flavour, h.db, connection_id=1)
    fresh.worker.start()
    try:
        wait_until(lambda: not fresh.engine.log.unfinished(), 10, "the fresh worker draining")
    finally:
        assert fresh.worker.stop(timeout=2)
    assert h.comments(key) == [
        "[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged",
        "Comment from Anomaly Desk (bob): after the crash",
    ]
    assert h.stats()["applied"][f"POST /rest/api/{_api(h)}/issue/{key}/comment"] == 2


def test_permanent_failure_stops_and_retry_requeues(cloud_harness):
    h = cloud_harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.fault(kind="status", status=403, method="POST", path=r"/comment$")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.drain()
    row = h.log_rows(action="comment")[0]
    assert row.status == "failed" and row.permanent and "403" in row.error
    assert h.comments(key) == []
    h.engine.retry(row.id)
    h.drain()
    assert h.engine.log.get(row.id).status == "ok"
    assert h.comments(key) == ["[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"]
