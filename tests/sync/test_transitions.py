"""Ticket moves on archive and reopen, against the sandbox over HTTP, both flavours."""

from __future__ import annotations

import pytest
import requests

from lib.anomalies.changes import Mode
from lib.outbox.health import HealthState
from lib.store.connections import (
    CheckRecord,
    CheckStatus,
    ConnectionRepository,
    ConnectionValues,
    TicketMovesRecord,
    TransitionBy,
)
from lib.store.links import LinkRepository
from lib.tickets.description import status_text
from tests.sync.conftest import CHANGE_TIME

TRANSITIONS_PATH = "/issue/{key}/transitions"
EXPECTED_RESOLUTION = {  # Cloud's default resolutions have no "Fixed"
    ("cloud", "Resolved"): "Done",
    ("dc", "Resolved"): "Fixed",
    ("cloud", "Duplicate"): "Duplicate",
    ("dc", "Duplicate"): "Duplicate",
    ("cloud", "Invalid"): "Won't Do",
    ("dc", "Discarded"): "Won't Do",
}


def moves_on(h, *, enabled=True, by=TransitionBy.CATEGORY, done=None, reopen=None) -> None:
    """The harness's connection (id 1) stored, with its ticket-move setting."""
    repo = ConnectionRepository(h.db)
    if repo.get(1) is None:
        values = ConnectionValues(
            "sandbox", h.flavour, h.sandbox.base_url, "basic", "u", "sealed", None, True, None
        )
        check = CheckRecord(CheckStatus.OK, CHANGE_TIME, "ok")
        assert repo.insert_user(values, check, activate=True, now=CHANGE_TIME) == 1
    repo.save_ticket_moves(1, TicketMovesRecord(enabled, by, done, reopen), now=CHANGE_TIME)


def linked_ticket(h, anomaly_id: int = 1) -> str:
    return h.tickets.create_ticket(anomaly_id, summary="s", actor="alice").key


def workflow(h, **rules) -> None:
    url = h.sandbox.base_url + "/_sandbox/workflow"
    requests.post(url, json=rules, timeout=5).raise_for_status()


def category(h, key: str) -> str:
    from lib.jira.sandbox.state import status_by_id

    return status_by_id(h.state.get(key).status_id).category_key


def resolution(h, key: str) -> str | None:
    from lib.jira.sandbox.workflow import find_resolution

    found = find_resolution(h.state.get(key).resolution)
    return found.name if found else None


def transition_posts(h, key: str) -> tuple[int, int]:
    """(received, applied) POSTs to the issue's transitions on the sandbox."""
    path = f"POST /rest/api/{3 if h.flavour == 'cloud' else 2}" + TRANSITIONS_PATH.format(key=key)
    stats = h.stats()
    return stats["received"].get(path, 0), stats["applied"].get(path, 0)


def archive(h, reason: str = "Resolved", anomaly_id: int = 1) -> None:
    h.changes.archive(anomaly_id, reason, "alice", mode=Mode.MANUAL)
    h.drain()


@pytest.mark.parametrize("reason", ["Resolved", "Duplicate", "Invalid", "Discarded"])
def test_archive_moves_the_ticket_to_done_with_the_mapped_resolution(harness, reason):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    before = len(h.log_rows())
    archive(h, reason)
    assert category(h, key) == "done"
    want = EXPECTED_RESOLUTION.get((h.flavour, reason), "Won't Do")
    assert resolution(h, key) == want
    rows = h.log_rows()[before:]
    # The status comment first, then the move: a Done issue may be read-only.
    assert [(r.action, r.status, r.ticket_key) for r in rows] == [
        ("comment", "ok", key),
        ("transition", "ok", key),
    ]
    assert f'"resolution":"{want}"' in rows[1].response_json
    assert h.comments(key)[-1] == status_text(CHANGE_TIME, "Archived", reason)
    assert LinkRepository(h.db).for_anomaly(1)[0].status_category == "done"
    assert transition_posts(h, key) == (1, 1)


def test_reopen_moves_it_out_of_done_before_the_comment(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    archive(h)
    before = len(h.log_rows())
    h.changes.reopen(1, "alice", mode=Mode.MANUAL)
    h.drain()
    assert category(h, key) == "indeterminate" and resolution(h, key) is None
    rows = h.log_rows()[before:]
    assert [(r.action, r.status) for r in rows] == [("transition", "ok"), ("comment", "ok")]
    assert h.comments(key)[-1] == status_text(CHANGE_TIME, "Active", None)


def test_reopen_goes_to_the_start_when_no_in_progress_is_offered(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    archive(h)
    workflow(h, hidden_categories=["indeterminate"])
    h.changes.reopen(1, "alice", mode=Mode.MANUAL)
    h.drain()
    assert category(h, key) == "new"


def test_a_ticket_already_done_is_skipped(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    h.state.get(key).status_id = "10001"  # a colleague closed it in Jira
    archive(h)
    move = h.log_rows(action="transition")[-1]
    assert move.status == "ok" and '"skipped":"already there"' in move.response_json
    assert transition_posts(h, key) == (0, 0)
    assert resolution(h, key) is None  # nothing was sent, so nothing changed


@pytest.mark.parametrize("status", [400, 409])
def test_a_refusing_workflow_falls_back_to_a_comment_and_says_so_in_the_log(harness, status):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    workflow(h, refuse=True, status=status, message="A fix version is required")
    archive(h)
    assert category(h, key) == "new"
    move = h.log_rows(action="transition")[-1]
    why = f"A fix version is required (HTTP {status})"
    assert (move.status, move.error) == (
        "failed",
        f"transition refused by the workflow: {why}; status comment sent instead",
    )
    status_comment = status_text(CHANGE_TIME, "Archived", "Resolved")
    assert h.comments(key)[-2:] == [
        status_comment,
        f"{status_comment}. Anomaly Desk could not move this ticket to Done, the workflow "
        f"refused: {why}. Please move it by hand.",
    ]
    assert all(r.status == "ok" for r in h.log_rows(action="comment"))
    # The workflow saying no is not an outage: the integration stays healthy.
    assert h.engine.health.current(1).state == HealthState.CONNECTED


def test_no_transition_into_done_falls_back_too(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    workflow(h, hidden_categories=["done"])
    archive(h)
    move = h.log_rows(action="transition")[-1]
    assert move.status == "failed" and "no transition into the Done category" in move.error
    assert (
        "could not move this ticket to Done, the workflow refused: no transition"
        in (h.comments(key)[-1])
    )
    assert transition_posts(h, key) == (0, 0)


def test_a_chosen_transition_id_is_used_and_an_unknown_one_refused(harness):
    h = harness
    moves_on(h, by=TransitionBy.ID, done="999")
    key = linked_ticket(h)
    archive(h)
    move = h.log_rows(action="transition")[-1]
    assert move.status == "failed" and "transition 999 is not available from 'To Do'" in move.error
    # Retry once the connection names the right id: the same row is sent again.
    moves_on(h, by=TransitionBy.ID, done="31")
    h.engine.retry(move.id)  # the row keeps its plan: still 999
    h.drain()
    assert h.engine.log.get(move.id).status == "failed"
    h.changes.reopen(1, "alice", mode=Mode.MANUAL)
    archive(h)
    assert category(h, key) == "done" and h.log_rows(action="transition")[-1].status == "ok"


def test_retry_of_a_refused_move_sends_it_once_the_workflow_allows(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    workflow(h, refuse=True)
    archive(h)
    move = h.log_rows(action="transition")[-1]
    workflow(h)
    h.engine.retry(move.id)
    h.drain()
    assert h.engine.log.get(move.id).status == "ok" and category(h, key) == "done"


def test_setting_off_sends_only_the_comments(harness):
    h = harness
    moves_on(h, enabled=False)
    key = linked_ticket(h)
    archive(h)
    h.changes.reopen(1, "alice", mode=Mode.MANUAL)
    h.drain()
    assert h.log_rows(action="transition") == []
    assert category(h, key) == "new"
    assert h.comments(key)[-2:] == [
        status_text(CHANGE_TIME, "Archived", "Resolved"),
        status_text(CHANGE_TIME, "Active", None),
    ]
    assert not any("/transitions" in path for path in h.stats()["received"])


def test_a_lost_answer_is_checked_on_jira_and_never_sent_twice(harness):
    h = harness
    moves_on(h)
    key = linked_ticket(h)
    h.fault(kind="drop_after_apply", method="POST", path="/transitions$")
    archive(h)
    move = h.log_rows(action="transition")[-1]
    assert move.status == "ok" and move.attempts == 2
    assert '"skipped":"found moved after a lost answer"' in move.response_json
    assert transition_posts(h, key) == (1, 1)
    assert category(h, key) == "done"


def test_an_import_that_archives_moves_the_ticket_too(harness):
    from tests.anomalies.test_changes_sync import export_of
    from tests.sync.conftest import make_anomaly

    h = harness
    moves_on(h)
    key = linked_ticket(h)
    result = h.changes.import_file(
        "a.json",
        export_of(make_anomaly(1), status="Archived", archive_reason="Duplicate"),
        mode=Mode.MANUAL,
    )
    assert result.queued == 2
    h.drain()
    assert category(h, key) == "done" and resolution(h, key) == "Duplicate"


def test_a_move_queued_while_the_create_is_unconfirmed_waits_for_it(harness):
    h = harness
    moves_on(h)
    h.fault(kind="drop_after_apply", method="POST", path="/issue$")
    created = h.tickets.create_ticket(1, summary="lost answer", actor="alice")
    assert created.status == "pending"
    h.changes.archive(1, "Resolved", "alice", mode=Mode.MANUAL)
    move = h.log_rows(action="transition")[-1]
    assert move.waits_on is not None and move.ticket_key is None
    h.drain()
    move = h.engine.log.get(move.id)
    assert move.status == "ok" and category(h, move.ticket_key) == "done"
    assert move.link_id == h.tickets.links_for(1)[0].id
    assert len(h.state.all_issues()) == 1


def test_a_transition_row_without_a_plan_fails_instead_of_looping(cloud_harness):
    from lib.store.sync_log import SyncLog

    h = cloud_harness
    key = linked_ticket(h)
    with h.db.transaction() as cur:
        row_id = SyncLog.insert_in(
            cur,
            now=CHANGE_TIME,
            action="transition",
            mode="manual",
            status="pending",
            connection_id=1,
            ticket_key=key,
            request_json="{}",
            next_attempt_at=CHANGE_TIME,
        )
    h.drain()
    row = h.engine.log.get(row_id)
    assert row.status == "failed" and "not a ticket move" in row.error and row.attempts == 1


def test_automatic_moves_are_held_to_the_update_limit(cloud_harness):
    from lib.outbox.policy import UpdateLimit
    from lib.outbox.worker import SyncWorker

    h = cloud_harness
    moves_on(h)
    key = linked_ticket(h)
    h.worker = SyncWorker(
        h.engine,
        h.tickets,
        poll_s=0.05,
        refresh_interval_s=0,
        update_limit=lambda: UpdateLimit(1, 3600),
    )
    h.changes.archive(1, "Resolved", "automation", mode=Mode.AUTOMATIC)
    h.worker.run_once()
    h.worker.run_once()
    comment, move = h.log_rows(anomaly_id=1)[-2:]
    assert (comment.action, comment.status) == ("comment", "ok")
    assert (move.action, move.mode, move.status) == ("transition", "automatic", "deferred")
    assert category(h, key) == "new"


@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
def test_the_move_on_the_wire_is_what_the_spec_accepts(cloud_harness, openapi_for):
    """The engine's POST body (transition id and resolution) checked against Atlassian's spec."""
    from tests.jira.conftest import check_cloud_contract

    h = cloud_harness
    moves_on(h)
    key = linked_ticket(h)
    archive(h, "Duplicate")
    [sent] = [
        b
        for b in h.stats()["bodies"]
        if b["path"].endswith("/transitions") and b["method"] == "POST"
    ]
    assert sent["body"] == {"transition": {"id": "31"}, "fields": {"resolution": {"id": "10002"}}}
    url = f"{h.sandbox.base_url}/rest/api/3/issue/{key}/transitions"

    class Call:
        request = requests.Request("POST", url, json=sent["body"]).prepare()
        response = None

    assert check_cloud_contract([Call()], openapi_for(h.sandbox.base_url)) == 1
