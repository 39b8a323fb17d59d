"""The repositories the reporting and connections layers stand on, against a real DuckDB file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lib.outbox.policy import UpdateLimit, load_update_limit, save_update_limit
from lib.store.app_settings import (
    MAX_AGE_KEY,
    MAX_UPDATES_KEY,
    AppSettings,
    LogRetention,
)
from lib.store.connections import (
    DEMO_ID,
    CheckRecord,
    CheckStatus,
    ConnectionRepository,
    ConnectionValues,
    DefaultsRecord,
)
from lib.store.db import Database
from lib.store.log_queries import LogAction, LogFilter, LogQueries, LogStatus, LogType, where
from lib.store.retention import LogCleanup
from lib.store.statistics import Counts, StatisticsRepository
from lib.store.stats_rollup import rebuild_from_log_in

T0 = datetime(2026, 5, 1, 12, 0)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "repos.duckdb")
    with database.transaction() as cur:
        for i, (action, status, mode) in enumerate(
            [
                ("create", "ok", "manual"),
                ("comment", "ok", "automatic"),
                ("update", "failed", "automatic"),
                ("create", "sending", "automatic"),
                ("update", "ok", "automatic"),
                ("link", "ok", "manual"),
            ],
            start=1,
        ):
            cur.execute(
                "INSERT INTO sync_log (id, created_at, action, mode, status, anomaly_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [i, T0 + timedelta(hours=i), action, mode, status, i],
            )
    yield database
    database.close()


def test_log_filter_takes_the_enums_and_folds_sending_into_pending(db):
    queries = LogQueries(db)
    pending = queries.page(LogFilter(statuses=(LogStatus.PENDING,)))
    assert [(r.id, r.status) for r in pending.rows] == [(4, "Pending")]
    manual_creates = queries.page(LogFilter(types=(LogType.MANUAL,), actions=(LogAction.CREATE,)))
    assert [r.id for r in manual_creates.rows] == [1]
    # Both types (or the same one twice) filter nothing out.
    both = LogFilter(types=(LogType.MANUAL, LogType.AUTOMATIC))
    assert where(both) == ("", []) and queries.page(both).total == 6
    assert where(LogFilter(actions=("drop table",))) == ("", [])  # unknown words are ignored


def test_log_record_is_the_row_as_stored(db):
    record = LogQueries(db).record(4)
    assert (record.id, record.action, record.status, record.attempts) == (4, "create", "sending", 0)
    assert LogQueries(db).record(99) is None


def test_counts_give_all_time_then_each_window(db):
    repo = StatisticsRepository(db)
    assert repo.counts([]) == (Counts(0, 0),)  # nothing counted until the rollup has it
    with db.transaction() as cur:
        rebuild_from_log_in(cur)
    found = repo.counts([(T0 + timedelta(hours=2), T0 + timedelta(hours=5))])
    assert found == (Counts(1, 2), Counts(0, 1))  # comment 2 + update 5; only row 2 in [2h, 5h)


def test_baselines_hold_the_counts_at_the_reset_and_the_newest_comes_first(db):
    repo = StatisticsRepository(db)
    assert repo.baselines() == []
    with db.transaction() as cur:
        rebuild_from_log_in(cur)
    first = repo.add_baseline(T0, "ana")
    second = repo.add_baseline(T0 + timedelta(days=1), "bo")
    assert (first.created, first.updated, first.total, first.reset_by) == (1, 2, 3, "ana")
    assert repo.baselines() == [second, first]
    assert repo.baselines(1) == [second]


def test_cleanup_removes_only_finished_rows_and_stamps_the_run(db):
    removed = LogCleanup(db).remove_finished(
        older_than=T0 + timedelta(hours=3, minutes=30), keep_newest=1, now=T0
    )
    # Age: ok/failed rows 1, 2, 3; count: of the finished 5 and 6, 5 goes; 4 is unsent work.
    assert (removed.by_age, removed.by_count, removed.removed) == (3, 1, 4)
    with db.read() as cur:
        assert [r[0] for r in cur.execute("SELECT id FROM sync_log ORDER BY id").fetchall()] == [
            4,
            6,
        ]
    assert AppSettings(db).retention_last_run() == T0


def test_settings_read_forgivingly_and_write_together(db):
    settings = AppSettings(db)
    assert settings.log_retention_text() == ("0", "0")
    settings.save_log_retention(LogRetention(500, 7))
    assert settings.values(MAX_AGE_KEY) == {MAX_AGE_KEY: "7"}
    assert load_update_limit(db) == UpdateLimit()
    save_update_limit(db, UpdateLimit(4, 20))
    assert load_update_limit(db) == UpdateLimit(4, 20.0)
    settings.put({MAX_UPDATES_KEY: "lots"})  # hand-edited
    assert load_update_limit(db) == UpdateLimit()
    with pytest.raises(ValueError):
        save_update_limit(db, UpdateLimit(-1, 20))
    assert settings.values(MAX_UPDATES_KEY) == {MAX_UPDATES_KEY: "lots"}  # nothing stored


def _values(host: str) -> ConnectionValues:
    return ConnectionValues("dc", "dc", host, "bearer", None, "sealed-bytes", None, True, None)


def test_connections_keep_one_active_row_and_soft_delete(db):
    repo = ConnectionRepository(db)
    check = CheckRecord(CheckStatus.OK, T0, "Connected as A", "A")
    first = repo.insert_user(_values("https://a.corp"), check, activate=True, now=T0)
    second = repo.insert_user(_values("https://b.corp"), check, activate=True, now=T0)
    assert repo.active_user_id() == second
    assert [r.active for r in repo.list_user()] == [False, True]
    repo.activate(first)
    assert repo.active_user_id() == first
    repo.record_check(first, CheckRecord(CheckStatus.FAILED, T0, "HTTP 401"))
    assert (repo.get(first).check_status, repo.get(first).account_name) == ("failed", "A")
    repo.save_defaults(first, DefaultsRecord("DQ", None, "Task", None, None), now=T0)
    assert (repo.get(first).project_key, repo.get(first).issue_type_name) == ("DQ", "Task")
    repo.soft_delete(first, now=T0)
    assert repo.active_user_id() is None and [r.id for r in repo.list_user()] == [second]
    assert repo.get(first).deleted_at == T0  # kept as history
    assert repo.get(DEMO_ID).source == "demo" and repo.get(999) is None
