"""Writes Jira applies after the client's timeout are found, not sent twice.

Scaled down 50x: the client's timeout is 0.6 s (30 s in production), Jira's
search lag 0.1 s (5 s), and Jira applies the comment 0.1 s (5 s) and the
create 0.3 s (15 s) after the client gave up. The engine is given no wait of
its own: it derives the late-write wait from the client's timeout.
"""

from __future__ import annotations

import pytest

from lib.anomalies.changes import Mode
from tests.sync.conftest import build_harness

TIMEOUT_S = 0.6
SCALE = TIMEOUT_S / 30


@pytest.fixture
def late(sandboxes, db):
    sandbox = sandboxes["cloud"]
    sandbox.runtime.reset()
    h = build_harness(
        sandbox,
        "cloud",
        db,
        client_timeout=TIMEOUT_S,
        reconcile_confirm_s=5 * SCALE,
        late_write_s=None,
    )
    yield h
    h.worker.stop(timeout=2)


def _late_ms(seconds_after_timeout: float) -> int:
    return int((TIMEOUT_S + seconds_after_timeout * SCALE) * 1000)


def test_the_late_write_wait_comes_from_the_client_timeout(late):
    assert late.engine.late_write_wait(late.client) == pytest.approx(2 * TIMEOUT_S)


def test_a_comment_applied_5_s_after_the_timeout_is_not_sent_twice(late):
    h = late
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.fault(kind="apply_late", method="POST", path=r"/comment$", latency_ms=_late_ms(5))
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.drain(timeout=20)
    assert h.comments(key) == ["[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"]
    [row] = h.log_rows(action="comment")
    assert row.status == "ok" and "lost answer" in row.response_json
    assert h.stats()["received"][f"POST /rest/api/3/issue/{key}/comment"] == 1


def test_a_create_applied_15_s_after_the_timeout_is_not_sent_twice(late):
    h = late
    h.fault(kind="apply_late", method="POST", path=r"/issue$", latency_ms=_late_ms(15))
    result = h.tickets.create_ticket(1, summary="late", actor="alice")
    assert result.status == "pending"
    h.drain(timeout=20)
    assert [i.key for i in h.state.all_issues()] == ["DQ-1"]
    assert [link.issue_key for link in h.tickets.links_for(1)] == ["DQ-1"]
    assert h.stats()["received"]["POST /rest/api/3/issue"] == 1
    assert h.engine.log.get(result.log_id).status == "ok"


def test_a_ticket_move_applied_15_s_after_the_timeout_is_not_sent_twice(late):
    from tests.sync.test_transitions import category, moves_on, transition_posts

    h = late
    moves_on(h)
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.fault(kind="apply_late", method="POST", path=r"/transitions$", latency_ms=_late_ms(15))
    h.changes.archive(1, "Resolved", "alice", mode=Mode.MANUAL)
    h.drain(timeout=20)
    [move] = h.log_rows(action="transition")
    assert move.status == "ok" and "found moved after a lost answer" in move.response_json
    assert transition_posts(h, key) == (1, 1) and category(h, key) == "done"
