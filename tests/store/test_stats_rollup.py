"""The rollup is written by the sync log's transitions, in their transaction, once per outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lib.store.db import Database
from lib.store.stats_rollup import bin_lower_ms, latency_bin
from lib.store.sync_log import SyncLog

T0 = datetime(2026, 5, 1, 12, 7)  # slot 12:00


@pytest.fixture
def db():
    database = Database(":memory:")
    yield database
    database.close()


def rollup(db) -> set[tuple]:
    with db.read() as cur:
        return set(
            cur.execute(
                "SELECT slot, action, outcome, error_kind, calls, latency_calls, waited_s"
                " FROM sync_stats"
            ).fetchall()
        )


def pending(cur, action="comment", **values) -> int:
    return SyncLog.insert_in(cur, now=T0, action=action, mode="manual", status="pending", **values)


def test_each_transition_counts_its_outcome_in_the_rows_slot(db):
    slot = datetime(2026, 5, 1, 12, 0)
    with db.transaction() as cur:
        row = pending(cur)
        SyncLog.claim_in(cur, SyncLog.get_in(cur, row), token="t", now=T0)
        # A 429 answered after 0.5 s, tried again 30 s after it was sent.
        SyncLog.release_in(
            cur, row, error="429", next_attempt_at=T0 + timedelta(seconds=30),
            needs_reconcile=False, latency_ms=500.0, error_kind="rate_limited",
        )  # fmt: skip
        # Waiting for a lost create's confirmation is no retry.
        SyncLog.release_in(cur, row, error="waiting", next_attempt_at=T0, needs_reconcile=True)
        SyncLog.finish_ok_in(cur, row, now=T0, response_json=None, latency_ms=80.0)
    assert rollup(db) == {
        (slot, "comment", "retried", "rate_limited", 1, 1, 29.5),
        (slot, "comment", "ok", "", 1, 1, 0.0),
    }


def test_a_failed_create_counts_the_rows_that_waited_on_it(db):
    with db.transaction() as cur:
        create = pending(cur, action="create")
        pending(cur, waits_on=create)
        pending(cur, waits_on=create)
        SyncLog.fail_in(cur, create, now=T0, error="400", error_kind="validation")
    with db.read() as cur:
        found = cur.execute(
            "SELECT action, error_kind, calls FROM sync_stats ORDER BY action"
        ).fetchall()
    assert found == [("comment", "other", 2), ("create", "validation", 1)]


def test_deferring_counts_once_and_a_retry_that_succeeds_counts_both(db):
    with db.transaction() as cur:
        row = pending(cur, action="update")
        SyncLog.defer_in(cur, row, T0)
        SyncLog.defer_in(cur, row, T0 + timedelta(minutes=1))  # planned again: not counted
        SyncLog.fail_in(cur, row, now=T0, error="403", error_kind="permission")
        SyncLog.requeue_in(cur, row, T0)
        SyncLog.finish_ok_in(cur, row, now=T0, response_json=None, latency_ms=None)
    with db.read() as cur:
        found = cur.execute("SELECT outcome, calls FROM sync_stats ORDER BY outcome").fetchall()
    assert found == [("deferred", 1), ("failed", 1), ("ok", 1)]


def test_a_failed_transaction_counts_nothing(db):
    with pytest.raises(RuntimeError), db.transaction() as cur:
        SyncLog.insert_in(cur, now=T0, action="link", mode="manual", status="ok")
        raise RuntimeError("rolled back")
    assert rollup(db) == set()


def test_latency_bins_are_a_quarter_of_a_doubling_wide():
    assert [latency_bin(ms) for ms in (0.2, 1.0, 1.2, 2.0, 1000.0)] == [0, 0, 1, 4, 39]
    assert bin_lower_ms(39) <= 1000.0 < bin_lower_ms(40)
    assert latency_bin(10**9) == 99  # clamped


def test_migration_009_counts_the_log_as_it_was_and_turns_resets_into_baselines():
    import duckdb

    from lib.store.migrations import apply_migrations, discover

    con = duckdb.connect(":memory:")
    before = [m for m in discover() if m.version < 9]
    apply_migrations(con, before)
    con.execute(
        "INSERT INTO sync_log (created_at, action, mode, status, latency_ms, error_kind) VALUES"
        " ('2026-05-01 12:07', 'create', 'manual', 'ok', 120, NULL),"
        " ('2026-05-01 12:14', 'create', 'manual', 'ok', NULL, NULL),"
        " ('2026-05-01 12:20', 'comment', 'automatic', 'failed', 40, NULL),"
        " ('2026-05-02 08:00', 'update', 'automatic', 'ok', 60, NULL),"
        " ('2026-05-02 09:00', 'update', 'automatic', 'pending', NULL, NULL)"
    )
    con.execute(
        "INSERT INTO stats_resets VALUES ('create', '2026-05-01 13:00', 'ana'),"
        " ('update', '2026-05-02 12:00', NULL)"
    )
    assert apply_migrations(con, [m for m in discover() if m.version <= 9]) == [9]
    assert con.execute(
        "SELECT slot, action, outcome, error_kind, calls, latency_calls FROM sync_stats"
        " ORDER BY slot, action"
    ).fetchall() == [
        (datetime(2026, 5, 1, 12, 0), "create", "ok", "", 2, 1),
        (datetime(2026, 5, 1, 12, 15), "comment", "failed", "other", 1, 1),
        (datetime(2026, 5, 2, 8, 0), "update", "ok", "", 1, 1),
    ]
    assert con.execute("SELECT sum(calls) FROM sync_latency_stats").fetchone()[0] == 3
    assert con.execute(
        "SELECT reset_at, reset_by, created, updated FROM stats_baselines ORDER BY id"
    ).fetchall() == [
        (datetime(2026, 5, 1, 13, 0), "ana", 2, 0),
        (datetime(2026, 5, 2, 12, 0), None, 2, 1),
    ]
    con.close()


def test_the_cleanup_merges_each_keys_rows_and_no_sum_changes(db):
    from lib.store.retention import LogCleanup

    with db.transaction() as cur:
        for minute in (1, 2, 3):
            SyncLog.insert_in(
                cur, now=T0 + timedelta(minutes=minute), action="comment", mode="manual",
                status="ok", latency_ms=100.0 if minute < 3 else 1000.0,
            )  # fmt: skip
    with db.read() as cur:
        assert cur.execute("SELECT count(*) FROM sync_stats").fetchone()[0] == 3  # appended
    LogCleanup(db).remove_finished(older_than=None, keep_newest=1, now=T0)
    with db.read() as cur:
        assert cur.execute(
            "SELECT action, outcome, calls, latency_calls, latency_ms_sum, latency_bin"
            " FROM sync_stats ORDER BY latency_bin"
        ).fetchall() == [("comment", "ok", 2, 2, 200.0, 26), ("comment", "ok", 1, 1, 1000.0, 39)]
        assert cur.execute("SELECT count(*) FROM sync_latency_stats").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM sync_log").fetchone()[0] == 1


def test_a_finished_call_appends_one_rollup_row_with_its_latency_bin(db):
    with db.transaction() as cur:
        timed = pending(cur)
        SyncLog.finish_ok_in(cur, timed, now=T0, response_json=None, latency_ms=80.0)
        untimed = pending(cur)
        SyncLog.finish_ok_in(cur, untimed, now=T0, response_json=None, latency_ms=None)
    with db.read() as cur:
        assert cur.execute(
            "SELECT calls, latency_calls, latency_bin FROM sync_stats ORDER BY latency_bin"
        ).fetchall() == [(1, 1, latency_bin(80.0)), (1, 0, None)]
        assert cur.execute("SELECT count(*) FROM sync_latency_stats").fetchone()[0] == 0


def test_migration_016_keeps_the_latency_counted_before_it_beside_the_new(tmp_path):
    """Percentiles over bins counted before 016 (their own table) and after (on the counters)."""
    from datetime import date

    import duckdb

    from lib.store.migrations import apply_migrations, discover
    from lib.store.statistics import LocalDays, StatisticsRepository

    path = tmp_path / "desk.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con, [m for m in discover() if m.version < 16])
    # Before 016: two calls of ~100 ms on May 1, their bins in their own table.
    con.execute(
        "INSERT INTO sync_stats VALUES ('2026-05-01 12:00', 'comment', 'manual', 'ok', '',"
        " 2, 2, 200.0, 0)"
    )
    con.execute("INSERT INTO sync_latency_stats VALUES ('2026-05-01 12:00', ?, 2)", [26])
    con.close()
    db = Database(path)  # applies 016
    # After: two calls of ~1 s the same day, their bins on their counter rows.
    with db.transaction() as cur:
        for _ in range(2):
            SyncLog.insert_in(
                cur, now=datetime(2026, 5, 1, 13), action="comment", mode="manual",
                status="ok", latency_ms=1000.0,
            )  # fmt: skip
    may_1 = LocalDays((date(2026, 5, 1),), (datetime(2026, 5, 1),), datetime(2026, 5, 2))
    [day] = StatisticsRepository(db).latency_daily(may_1)
    db.close()
    assert latency_bin(100.0) == 26 and latency_bin(1000.0) == 39
    # 4 calls: the median reaches through bin 26's two, the 95th into bin 39's.
    assert (day.calls, day.p50_ms, day.p95_ms) == (
        4,
        round(bin_lower_ms(26 + 2 / 2), 1),
        round(bin_lower_ms(39 + (3.8 - 2) / 2), 1),
    )
