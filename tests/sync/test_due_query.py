"""The worker's due query in SQL picks exactly what ``policy.pick_due`` picks from every row.

``pick_due`` over ``unfinished()`` is the reference (read whole, it cost 430 ms
a pass at 60,000 unfinished rows); ``OutboxQueue.due_heads`` must agree on random
mixes of queues, states, NULLs and times, with and without the near-limit order.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from lib.outbox.policy import pick_due
from lib.store.db import Database
from lib.store.outbox_queue import OutboxQueue
from lib.store.sync_log import SyncLog

T0 = datetime(2026, 1, 1, 12, 0, 0)
STATUSES = ("pending", "pending", "sending", "deferred", "ok", "failed", "cancelled")


def _random_row(rnd: random.Random, earlier: list[int]) -> dict:
    action = rnd.choice(("create", "comment", "comment", "update"))
    anomaly = rnd.choice((None, 1, 2, 3))
    values = {
        "action": action,
        "mode": rnd.choice(("manual", "automatic")),
        "status": rnd.choice(STATUSES),
        "anomaly_id": anomaly,
        "connection_id": rnd.choice((None, 1, 1, 2)),
        "ticket_key": rnd.choice((None, "DQ-1", "DQ-2", "DQ-3")),
        "idempotency_key": rnd.choice((None, "anomaly-desk-1", "anomaly-desk-auto-x")),
        "next_attempt_at": rnd.choice((None, T0 - timedelta(seconds=5), T0, T0 + timedelta(1))),
    }
    if action != "create" and earlier and rnd.random() < 0.2:
        values["waits_on"] = rnd.choice(earlier)
    return values


def _fill(db: Database, seed: int, count: int) -> None:
    rnd = random.Random(seed)
    ids: list[int] = []
    with db.transaction() as cur:
        for _ in range(count):
            ids.append(SyncLog.insert_in(cur, now=T0, **_random_row(rnd, ids)))


@pytest.mark.parametrize("seed", range(8))
def test_due_heads_match_pick_due(tmp_path, seed):
    db = Database(tmp_path / f"due{seed}.duckdb")
    try:
        _fill(db, seed, 120)
        log = SyncLog(db)
        queue = OutboxQueue(db)
        rows = log.unfinished()
        checked = 0
        for now in (T0 - timedelta(seconds=10), T0, T0 + timedelta(2)):
            for near in (False, True):
                for limit in (3, 50):
                    expected = [r.id for r in pick_due(rows, now, near_limit=near, limit=limit)]
                    got = [r.id for r in queue.due_heads(now, near_limit=near, limit=limit)]
                    assert got == expected, (now, near, limit)
                    checked += len(expected)
        assert checked > 0  # the mix leaves something due: the comparison is not of empties
        heads: dict[tuple, object] = {}
        for row in rows:
            heads.setdefault(row.ticket, row)
        planned = [
            r.next_attempt_at
            for r in heads.values()
            if r.status != "sending" and not r.waiting and r.next_attempt_at
        ]
        assert queue.next_head_attempt_at() == min(planned, default=None)
        with db.read() as cur:  # every queue kind: issue, create per anomaly, create per label
            for row in rows:
                ahead = sum(1 for r in rows if r.id < row.id and r.ticket == row.ticket)
                assert OutboxQueue.earlier_in_queue_in(cur, row) == ahead, row
        oldest = min((r.created_at for r in rows), default=None)
        assert queue.depth() == (len(rows), oldest) and len(rows) > 0
    finally:
        db.close()


def test_earlier_in_queue_counts_only_the_rows_ahead_in_the_same_queue(tmp_path):
    db = Database(tmp_path / "queue.duckdb")
    try:
        with db.transaction() as cur:
            common = {"now": T0, "mode": "manual", "connection_id": 1}
            first = SyncLog.insert_in(
                cur, action="comment", status="pending", ticket_key="DQ-1", **common
            )
            SyncLog.insert_in(cur, action="comment", status="ok", ticket_key="DQ-1", **common)
            other = SyncLog.insert_in(
                cur, action="comment", status="pending", ticket_key="DQ-2", **common
            )
            second = SyncLog.insert_in(
                cur, action="comment", status="pending", ticket_key="DQ-1", **common
            )
            create = SyncLog.insert_in(
                cur, action="create", status="sending", anomaly_id=7, **common
            )
            waiting = SyncLog.insert_in(
                cur, action="comment", status="pending", anomaly_id=7, waits_on=create, **common
            )
        log = SyncLog(db)
        with db.read() as cur:
            counts = {i: OutboxQueue.earlier_in_queue_in(cur, log.get(i)) for i in (first, other)}
            counts[second] = OutboxQueue.earlier_in_queue_in(cur, log.get(second))
            counts[waiting] = OutboxQueue.earlier_in_queue_in(cur, log.get(waiting))
        assert counts == {first: 0, other: 0, second: 1, waiting: 1}
    finally:
        db.close()


def test_claim_head_claims_only_a_still_due_head(tmp_path):
    db = Database(tmp_path / "claim.duckdb")
    try:
        common = {"now": T0, "mode": "manual", "connection_id": 1, "action": "comment"}
        with db.transaction() as cur:
            first = SyncLog.insert_in(cur, status="pending", ticket_key="DQ-1", **common)
            second = SyncLog.insert_in(cur, status="pending", ticket_key="DQ-1", **common)
        log = SyncLog(db)
        head, behind = log.get(first), log.get(second)
        with db.transaction() as cur:
            assert OutboxQueue.claim_head_in(cur, behind, token="t", now=T0) is None
            claimed = OutboxQueue.claim_head_in(cur, head, token="t", now=T0)
            assert (claimed.status, claimed.claimed_by, claimed.attempts) == ("sending", "t", 1)
            assert OutboxQueue.claim_head_in(cur, head, token="u", now=T0) is None  # taken
            assert (
                OutboxQueue.claim_head_in(cur, behind, token="t", now=T0) is None
            )  # head in flight
        assert log.get(second).status == "pending"
    finally:
        db.close()
