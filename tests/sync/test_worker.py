"""The worker thread: prompt stop, wake-up, update limit, periodic refresh, connections."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from lib.anomalies.changes import Mode
from lib.outbox.engine import utc_now
from lib.outbox.policy import UpdateLimit, load_update_limit, save_update_limit
from tests.sync.conftest import FixedClock
from tests.waiting import wait_until


def count_passes(worker) -> list[int]:
    """The worker's finished passes (what each attempted), so a test waits on passes, not time."""
    passes: list[int] = []
    real = worker.run_once

    def counted() -> int:
        done = real()
        passes.append(done)
        return done

    worker.run_once = counted  # an instance attribute: the thread's loop calls it
    return passes


def test_started_worker_delivers_on_wake_and_stops_promptly(cloud_harness):
    h = cloud_harness
    h.worker.poll_s = 30  # only the wake-up can make it send quickly
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    passes = count_passes(h.worker)
    h.worker.start()
    wait_until(lambda: passes, 3, "the worker's first pass")  # now it idles for poll_s
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    wait_until(lambda: len(h.comments(key)) == 1, 3, "the acknowledgement reaching Jira")
    # The stop latency is the point here, so it is measured on the wall clock.
    started = time.monotonic()
    assert h.worker.stop(timeout=2)
    assert time.monotonic() - started < 0.5


def test_update_limit_defers_in_order_with_planned_times(cloud_harness):
    # The engine's clock stands still between passes and is moved by hand to the
    # planned times: a slow machine cannot let the window pass while the test runs.
    h = cloud_harness
    clock = FixedClock(utc_now())
    h.engine.clock = clock
    h.worker._update_limit = lambda: UpdateLimit(2, 1.0)
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    for n in range(4):
        h.changes.comment(1, "bob", f"c{n}", mode=Mode.AUTOMATIC)  # the limit holds automation only
    h.worker.run_once()
    h.worker.run_once()
    h.worker.run_once()
    rows = h.log_rows(action="comment")
    assert [r.status for r in rows] == ["ok", "ok", "deferred", "pending"]
    assert rows[0].sent_at == rows[1].sent_at == clock.now
    planned = rows[2].next_attempt_at
    assert planned == clock.now + timedelta(seconds=1)  # when the first two leave the window
    clock.now = planned - timedelta(milliseconds=1)
    h.worker.run_once()
    assert h.log_rows(action="comment")[2].status == "deferred"  # not a moment early
    clock.now = planned
    for _ in range(3):  # the deferred row, then the one behind it (room in the new window)
        h.worker.run_once()
    assert h.engine.log.unfinished() == []
    assert h.comments(key) == [f"Comment from Anomaly Desk (bob): c{n}" for n in range(4)]
    sent = [r.sent_at for r in h.log_rows(action="comment")]
    assert sent == [sent[0], sent[0], planned, planned]


def test_update_limit_setting_is_stored(db):
    assert load_update_limit(db) == UpdateLimit(10, 60.0)
    save_update_limit(db, UpdateLimit(3, 30))
    assert load_update_limit(db) == UpdateLimit(3, 30.0)
    with pytest.raises(ValueError):
        save_update_limit(db, UpdateLimit(-1, 30))


def test_periodic_refresh_updates_linked_tickets(cloud_harness):
    h = cloud_harness
    link = h.tickets.create_ticket(1, summary="s", actor="alice").link
    h.state.get(link.issue_key).status_id = "10001"
    h.worker.refresh_interval_s = 60
    later = utc_now() + timedelta(minutes=5)  # the link was last read 5 minutes ago
    h.engine.clock = lambda: later
    h.worker.run_once()
    fresh = h.tickets.links_for(1)[0]
    assert fresh.status_name == "Done" and fresh.status_category == "done"
    assert h.log_rows(action="refresh", mode="automatic")[0].status == "ok"


def test_rows_of_another_connection_fail_with_a_reason(cloud_harness):
    h = cloud_harness
    h.tickets.create_ticket(1, summary="s", actor="alice")
    h.changes.acknowledge(1, "alice", mode=Mode.MANUAL)
    h.holder["active"] = type(h.active)(2, h.client, "DQ", "Task")
    h.worker.run_once()
    row = h.log_rows(action="comment")[0]
    assert row.status == "failed" and "connection 1 is not the active one" in row.error


def test_a_failed_change_rolls_back_its_queued_comments(cloud_harness):
    h = cloud_harness
    h.tickets.create_ticket(1, summary="s", actor="alice")
    with pytest.raises(ValueError):
        h.changes.reopen(1, "alice", mode=Mode.MANUAL)  # already Active
    with pytest.raises(ValueError):
        h.changes.comment(1, "bob", "   ", mode=Mode.MANUAL)
    assert h.engine.log.unfinished() == []


def test_housekeeping_runs_in_the_worker_and_a_failure_does_not_stop_it(cloud_harness):
    from lib.outbox.worker import SyncWorker

    calls = []

    def housekeeping(now):
        calls.append(now)
        raise RuntimeError("disk full")

    worker = SyncWorker(
        cloud_harness.engine, cloud_harness.tickets, poll_s=0.05, housekeeping=housekeeping
    )
    passes = count_passes(worker)
    worker.start()
    wait_until(lambda: len(calls) >= 1, 5, "the first housekeeping")
    # Housekeeping runs after every pass unless it is not due: three more passes.
    after = len(passes)
    wait_until(lambda: len(passes) >= after + 3, 5, "three more worker passes")
    assert worker.running  # the exception was logged, the thread goes on
    assert len(calls) == 1  # asked again only after HOUSEKEEPING_EVERY, not on every pass
    assert worker.stop(timeout=2)
