"""Several tickets at once: per-ticket order, no double sends, one hang holds one ticket, 429s.

The worker claims due heads in its own thread and a few sender threads make
the calls (``lib.outbox.senders``). What must stay true with several calls in
flight: one ticket's rows go one at a time and in order, nothing is sent
twice, a call hanging to the timeout holds only its own ticket, and a 429 or
the update limit still holds every ticket.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from lib.anomalies.changes import Mode
from lib.outbox.engine import utc_now
from lib.outbox.policy import UpdateLimit
from lib.outbox.worker import SyncWorker
from lib.store.anomalies import AnomalyRepository
from tests.waiting import wait_until

from .conftest import make_anomaly

TICKETS = 6


class CallTracker:
    """Wraps ``add_comment``: how many calls were in flight, overall and per issue."""

    def __init__(self, client):
        self._real = client.add_comment
        self._lock = threading.Lock()
        self._now: Counter = Counter()
        self.max_per_issue = 0
        self.max_overall = 0
        client.add_comment = self

    def __call__(self, key, doc):
        with self._lock:
            self._now[key] += 1
            self.max_per_issue = max(self.max_per_issue, self._now[key])
            self.max_overall = max(self.max_overall, sum(self._now.values()))
        try:
            return self._real(key, doc)
        finally:
            with self._lock:
                self._now[key] -= 1


def _linked_tickets(h, count: int = TICKETS) -> dict[int, str]:
    AnomalyRepository(h.db).upsert_many([make_anomaly(i) for i in range(3, count + 1)], utc_now())
    return {
        i: h.tickets.create_ticket(i, summary=f"s{i}", actor="alice").key
        for i in range(1, count + 1)
    }


def _queue_comments(h, keys: dict[int, str], per_ticket: int, mode=Mode.MANUAL) -> None:
    for n in range(per_ticket):
        for anomaly in keys:
            h.changes.comment(anomaly, "bob", f"c{n}", mode=mode)


def _expected(per_ticket: int) -> list[str]:
    return [f"Comment from Anomaly Desk (bob): c{n}" for n in range(per_ticket)]


def test_several_tickets_at_once_each_in_order_never_twice(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=5)
    h.settings(latency_ms=40)  # calls overlap only if they are really sent at once
    tracker = CallTracker(h.client)
    h.worker.start()
    wait_until(lambda: not h.engine.log.unfinished(), 20, "the outbox draining")
    assert h.worker.stop(timeout=2)
    assert tracker.max_overall >= 2  # several tickets were in flight together
    assert tracker.max_per_issue == 1  # never two calls for one ticket
    for key in keys.values():
        assert h.comments(key) == _expected(5)  # in order, each once


def test_a_pass_from_outside_the_worker_thread_sends_one_head_per_ticket(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=2)
    tracker = CallTracker(h.client)
    assert h.worker.run_once() == TICKETS  # the heads only; returns when they are done
    assert tracker.max_per_issue == 1
    assert all(h.comments(key) == _expected(1) for key in keys.values())
    assert h.worker.run_once() == TICKETS
    assert all(h.comments(key) == _expected(2) for key in keys.values())
    wait_until(  # the pass ended its sender threads: none keeps the database open
        lambda: not [t for t in threading.enumerate() if t.name.startswith("anomaly-desk-sender")],
        3,
        "the sender threads ending",
    )


def test_a_hanging_call_holds_only_its_own_ticket(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=3)
    clock = {"now": utc_now()}
    h.engine.clock = lambda: clock["now"]  # the lost call's retry waits for this clock
    hung = keys[1]
    h.fault(kind="timeout", method="POST", path=f"/issue/{hung}/comment$", count=1)
    h.worker.start()
    others = [key for anomaly, key in keys.items() if anomaly != 1]
    # The call hangs past the client's timeout (1 s of a 2 s hang), then waits
    # for its late-write look: the other tickets are all done meanwhile.
    wait_until(
        lambda: all(len(h.comments(key)) == 3 for key in others), 30, "the other tickets done"
    )
    assert h.comments(hung) == []
    lost = h.log_rows(ticket_key=hung, action="comment")[0]
    wait_until(  # the call timed out: its row waits for its late-write look, on the clock
        lambda: h.engine.log.get(lost.id).needs_reconcile, 10, "the hung call timing out"
    )
    assert h.engine.log.get(lost.id).status == "pending"
    clock["now"] += timedelta(minutes=1)
    h.worker.wake()
    wait_until(lambda: not h.engine.log.unfinished(), 30, "the hung ticket catching up")
    h.worker.stop(timeout=3)
    for key in keys.values():
        assert h.comments(key) == _expected(3)  # the lost one reconciled, not sent twice


def test_a_429_stops_new_claims_until_its_retry_after(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=2)
    clock = {"now": utc_now()}
    h.engine.clock = lambda: clock["now"]
    worker = SyncWorker(
        h.engine, None, refresh_interval_s=0, senders=1, update_limit=lambda: UpdateLimit(0, 60)
    )
    h.fault(kind="status", status=429, retry_after=30, method="POST", path="/comment$", count=1)
    before = h.stats()["received"].copy()
    assert worker.run_once() == 1  # the 429: nothing more is claimed in this pass
    assert worker.rate_limited == 1
    assert worker.run_once() == 0  # paused: the injected clock has not moved
    clock["now"] += timedelta(seconds=29)
    assert worker.run_once() == 0
    after = h.stats()["received"]
    assert sum(after.values()) - sum(before.values()) == 1  # one call during the pause
    clock["now"] += timedelta(seconds=2)
    worker.run_once()
    h.drain()
    for key in keys.values():
        assert h.comments(key) == _expected(2)


def test_a_429_from_one_sender_holds_every_ticket(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=3)
    clock = {"now": utc_now()}
    h.engine.clock = lambda: clock["now"]
    h.fault(kind="status", status=429, retry_after=30, method="POST", path="/comment$", count=1)
    h.worker.run_once()  # four senders: calls already out when the 429 came still finish
    assert h.worker.rate_limited == 1
    limited = [r for r in h.log_rows(action="comment") if r.error_kind == "rate_limited"]
    assert len(limited) == 1 and limited[0].status == "pending"
    assert limited[0].next_attempt_at >= clock["now"] + timedelta(seconds=30)
    sent_first = len(h.log_rows(action="comment", status="ok"))
    assert h.worker.run_once() == 0
    assert len(h.log_rows(action="comment", status="ok")) == sent_first
    clock["now"] += timedelta(seconds=31)
    h.drain()
    for key in keys.values():
        assert h.comments(key) == _expected(3)


def test_the_update_limit_stays_global_across_senders(cloud_harness):
    h = cloud_harness
    keys = _linked_tickets(h)
    _queue_comments(h, keys, per_ticket=1, mode=Mode.AUTOMATIC)
    h.worker._update_limit = lambda: UpdateLimit(3, 60)
    assert h.worker.run_once() == 3
    comments = h.log_rows(action="comment")
    assert Counter(r.status for r in comments) == {"ok": 3, "deferred": TICKETS - 3}
    assert sum(len(h.comments(key)) for key in keys.values()) == 3


def test_a_claim_refuses_a_row_behind_an_unfinished_one_of_its_ticket(cloud_harness):
    h = cloud_harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.changes.comment(1, "bob", "first", mode=Mode.MANUAL)
    h.changes.comment(1, "bob", "second", mode=Mode.MANUAL)
    first, second = h.log_rows(action="comment")
    skipped = h.engine.deliver(second.id)
    assert (skipped.outcome, skipped.message) == ("skipped", "behind an earlier row of its ticket")
    assert h.comments(key) == []
    assert h.engine.deliver(first.id).outcome == "ok"
    assert h.engine.deliver(second.id).outcome == "ok"
    assert h.comments(key) == [
        "Comment from Anomaly Desk (bob): first",
        "Comment from Anomaly Desk (bob): second",
    ]
