"""Create, search, link, unlink and refresh against the sandbox, with bad input."""

from __future__ import annotations

import pytest

from lib.anomalies.changes import Mode
from lib.jira.richtext import Doc, Paragraph, Text
from lib.store.links import NOT_FOUND_STATUS
from lib.tickets.service import TicketRefused


@pytest.mark.parametrize(
    "summary, message", [("", "required"), ("   ", "required"), ("x" * 256, "256 characters")]
)
def test_bad_summary_is_refused_before_any_call(harness, summary, message):
    with pytest.raises(TicketRefused) as caught:
        harness.tickets.create_ticket(1, summary=summary, actor="alice")
    assert message in caught.value.field_errors["summary"]
    assert harness.stats()["received"] == {} and harness.log_rows() == []


def test_too_long_description_is_refused(harness):
    with pytest.raises(TicketRefused) as caught:
        harness.tickets.create_ticket(1, summary="ok", description="d" * 40_000, actor="alice")
    assert "32767" in caught.value.field_errors["description"]


def test_jira_field_errors_are_returned_and_nothing_is_linked(harness):
    h = harness
    with pytest.raises(TicketRefused) as caught:
        h.tickets.create_ticket(1, summary="ok", priority="Urgent!", actor="alice")
    assert "priority" in caught.value.field_errors
    row = h.engine.log.get(caught.value.log_id)
    assert row.status == "failed" and row.permanent and "priority" in row.response_json
    assert h.tickets.links_for(1) == [] and h.state.all_issues() == []


def test_create_with_own_description_priority_and_labels(harness):
    doc = Doc((Paragraph((Text("custom body"),)),))
    result = harness.tickets.create_ticket(
        1, summary="s", description=doc, priority="High", labels=["dq"], actor="alice"
    )
    issue = harness.state.get(result.key)
    assert issue.priority == "High" and issue.labels == ["anomaly-desk-1", "dq"]
    assert result.link.priority == "High"


def test_search_by_key_words_and_hostile_text(harness):
    h = harness
    h.state.create_issue("DQ", issuetype_id="10001", summary="Null spike in orders")
    h.state.create_issue("DQ", issuetype_id="10001", summary='foo "bar" \\ baz')
    h.state.create_issue("OPS", issuetype_id="10001", summary="Null spike elsewhere")
    assert [hit.key for hit in h.tickets.search_issues("dq-1")] == ["DQ-1"]
    assert h.tickets.search_issues("DQ-99") == []
    assert [hit.key for hit in h.tickets.search_issues("null spike")] == ["DQ-1"]
    hits = h.tickets.search_issues('foo "bar" \\ baz')
    assert [hit.key for hit in hits] == ["DQ-2"] and hits[0].summary == 'foo "bar" \\ baz'
    assert h.tickets.search_issues("   ") == []


def test_link_refuses_unknown_keys_non_keys_and_duplicates(harness):
    h = harness
    with pytest.raises(TicketRefused, match="no issue DQ-404"):
        h.tickets.link_existing(1, "DQ-404", "alice")
    assert h.log_rows(action="link")[0].status == "failed"
    with pytest.raises(TicketRefused, match="not an issue key"):
        h.tickets.link_existing(1, 'x" OR 1=1', "alice")
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="existing")
    h.tickets.link_existing(1, issue.key, "alice")
    with pytest.raises(TicketRefused, match="already linked"):
        h.tickets.link_existing(1, issue.key.lower(), "bob")
    assert len(h.tickets.links_for(1)) == 1 and len(h.comments(issue.key)) == 1
    h.tickets.link_existing(2, issue.key, "alice")  # another anomaly may link it too


def test_unlink_is_logged_and_leaves_jira_alone(harness):
    h = harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="existing")
    link = h.tickets.link_existing(1, issue.key, "alice").link
    before = h.stats()["received"]
    gone = h.tickets.unlink(link.id, "bob")
    assert gone.unlinked_at is not None and gone.unlinked_by == "bob"
    assert h.stats()["received"] == before and h.state.get(issue.key) is not None
    assert h.log_rows(action="unlink")[0].status == "ok"
    assert h.tickets.links_for(1) == [] and len(h.tickets.links_for(1, include_unlinked=True)) == 1
    with pytest.raises(TicketRefused):
        h.tickets.unlink(link.id, "bob")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    assert h.engine.log.unfinished() == []  # no updates for an unlinked ticket
    h.tickets.link_existing(1, issue.key, "alice")  # and it can be linked again


def test_refresh_reads_status_and_marks_missing(harness):
    h = harness
    link = h.tickets.create_ticket(1, summary="s", actor="alice").link
    issue = h.state.get(link.issue_key)
    issue.status_id, issue.priority, issue.summary = "3", "Low", "renamed"
    fresh = h.tickets.refresh(link.id)
    assert (fresh.status_name, fresh.status_category, fresh.priority, fresh.summary) == (
        "In Progress",
        "indeterminate",
        "Low",
        "renamed",
    )
    del h.state.issues[link.issue_key]
    missing = h.tickets.refresh(link.id)
    assert missing.status_name == NOT_FOUND_STATUS and missing.active
    rows = h.log_rows(action="refresh")
    assert [(r.status, r.permanent) for r in rows] == [("ok", False), ("failed", True)]


def test_no_connection_is_a_clear_refusal(harness):
    harness.holder["active"] = None
    with pytest.raises(TicketRefused, match="connect to Jira"):
        harness.tickets.create_ticket(1, summary="s", actor="alice")
