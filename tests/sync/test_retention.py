from datetime import datetime, timedelta

import pandas as pd
import pytest

from lib.reporting import retention
from lib.reporting.retention import LogRetention
from lib.store.db import Database

NOW = datetime(2026, 6, 30, 12, 0)


def insert_log(db: Database, rows: list[dict]) -> None:
    frame = pd.DataFrame([{"action": "comment", "mode": "automatic", **r} for r in rows])
    with db.transaction() as cur:
        cur.register("incoming_log", frame)
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming_log")
        cur.unregister("incoming_log")


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "retention.duckdb")
    statuses = ["ok", "failed", "pending", "sending", "deferred"]
    # 50 rows, one per day back from NOW: ids 1 (oldest) .. 50 (newest), statuses cycling.
    insert_log(
        database,
        [
            {"id": i, "created_at": NOW - timedelta(days=50 - i), "status": statuses[i % 5]}
            for i in range(1, 51)
        ],
    )
    with database.transaction() as cur:
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " created_by_us, linked_at, linked_by) VALUES"
            " (1, 1, '10', 'DQ-1', 'u', TRUE, ?, 'a')",
            [NOW - timedelta(days=400)],
        )
    yield database
    database.close()


def remaining(db) -> dict[str, list[int]]:
    with db.read() as cur:
        rows = cur.execute(
            "SELECT status, list(id ORDER BY id) FROM sync_log GROUP BY status"
        ).fetchall()
    return dict(rows)


def unfinished(db) -> list[int]:
    found = remaining(db)
    return sorted(found.get("pending", []) + found.get("sending", []) + found.get("deferred", []))


def test_settings_default_to_no_limit_and_round_trip(db):
    assert retention.load(db) == LogRetention(0, 0)
    assert retention.save(db, "1000", 30) == LogRetention(1000, 30)
    assert retention.load(db) == LogRetention(1000, 30)


@pytest.mark.parametrize("entries, days", [("-1", "0"), ("abc", "0"), ("1.5", "0"), ("0", "10**9")])
def test_bad_settings_are_refused_and_nothing_is_stored(db, entries, days):
    retention.save(db, 5, 6)
    with pytest.raises(ValueError):
        retention.save(db, entries, days)
    assert retention.load(db) == LogRetention(5, 6)


def test_no_limits_remove_nothing(db):
    result = retention.cleanup(db, NOW)
    assert result.removed == 0
    assert sum(len(v) for v in remaining(db).values()) == 50


def test_max_age_removes_old_finished_rows_only(db):
    before = unfinished(db)
    result = retention.cleanup(db, NOW, LogRetention(max_age_days=10))
    left = remaining(db)
    # ok rows are i % 5 == 0, failed i % 5 == 1; id 40 is exactly 10 days old and stays.
    finished_left = sorted(left.get("ok", []) + left.get("failed", []))
    assert finished_left == [i for i in range(40, 51) if i % 5 in (0, 1)]
    assert unfinished(db) == before  # pending, sending, deferred all kept
    assert result.by_age == len([i for i in range(1, 40) if i % 5 in (0, 1)]) == 15


def test_max_entries_keeps_the_newest_finished_rows(db):
    before = unfinished(db)
    result = retention.cleanup(db, NOW, LogRetention(max_entries=3))
    left = remaining(db)
    assert sorted(left["ok"] + left["failed"]) == [45, 46, 50]
    assert unfinished(db) == before and len(before) == 30
    assert result.by_count == 20 - 3


def test_both_limits_and_links_survive(db):
    retention.save(db, 5, 20)
    result = retention.cleanup(db, NOW)
    left = remaining(db)
    assert sorted(left["ok"] + left["failed"]) == [36, 40, 41, 45, 46, 50][-5:]
    assert result.removed == 20 - 5
    with db.read() as cur:
        assert cur.execute("SELECT count(*) FROM ticket_links").fetchone()[0] == 1


def test_cleanup_if_due_runs_once_a_day(db):
    retention.save(db, 1, 0)
    first = retention.cleanup_if_due(db, NOW)
    assert first is not None and first.by_count == 19
    assert retention.cleanup_if_due(db, NOW + timedelta(hours=23)) is None
    insert_log(db, [{"id": 99, "created_at": NOW + timedelta(hours=1), "status": "ok"}])
    again = retention.cleanup_if_due(db, NOW + timedelta(days=1))
    assert again is not None and again.by_count == 1
