from datetime import date, datetime

import pytest

from lib.reporting import statistics as stats
from lib.reporting.statistics import StatisticsService
from lib.store.db import Database
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 3, 10, 12, 0)  # naive UTC; 13:00 in Berlin (CET, +1)
BERLIN = "Europe/Berlin"


def insert_log(db: Database, rows: list[tuple]) -> None:
    """Rows written the product's way (``SyncLog.insert_in``: finished ones are counted)."""
    with db.transaction() as cur:
        for ident, at, action, status, anomaly in rows:
            got = SyncLog.insert_in(
                cur, now=at, action=action, mode="automatic", status=status, anomaly_id=anomaly
            )
            assert got == ident  # ids from the sequence, in the order given


def insert_anomalies(db: Database, detected: dict[int, datetime]) -> None:
    with db.transaction() as cur:
        for ident, at in detected.items():
            cur.execute(
                "INSERT INTO anomalies VALUES (?, 1, 'W', 'T', [], 'shape', 'Active', NULL, ?,"
                " '', 1, [], '', ?)",
                [ident, at, at],
            )


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "stats.duckdb")
    insert_log(
        database,
        [
            (1, datetime(2026, 3, 9, 23, 30), "create", "ok", 10),  # Berlin: Mar 10 00:30 (today)
            (
                2,
                datetime(2026, 3, 9, 22, 30),
                "create",
                "ok",
                12,
            ),  # Berlin: Mar 9 23:30 (yesterday)
            (3, datetime(2026, 3, 10, 10, 0), "update", "ok", 10),
            (4, datetime(2026, 3, 8, 12, 0), "comment", "ok", 10),
            (5, datetime(2026, 3, 10, 9, 0), "create", "failed", 11),
            (6, datetime(2026, 3, 10, 9, 30), "link", "ok", 11),
            (7, datetime(2026, 3, 10, 9, 45), "update", "pending", 11),
            (8, datetime(2026, 3, 10, 22, 59), "comment", "ok", 10),  # Berlin: Mar 10 23:59
            (9, datetime(2026, 3, 1, 8, 0), "create", "ok", 13),  # before every range below
            (10, datetime(2026, 3, 10, 11, 0), "link", "ok", 13),  # 13's second ticket: not first
        ],
    )
    insert_anomalies(
        database,
        {
            10: datetime(2026, 3, 9, 20, 0),
            11: datetime(2026, 3, 10, 7, 30),
            12: datetime(2026, 3, 8, 0, 0),
            13: datetime(2026, 2, 28, 0, 0),
        },
    )
    yield database
    database.close()


def values(found: dict) -> dict:
    return {name: (c.total, c.today, c.yesterday) for name, c in found.items()}


def test_counters_in_berlin_put_2330_utc_on_the_next_day(db):
    assert values(StatisticsService(db, lambda: NOW).counters(BERLIN)) == {
        "create": (3, 1, 1),
        "update": (3, 2, 0),
        "total": (6, 3, 1),
    }


def test_counters_in_utc(db):
    assert values(StatisticsService(db, lambda: NOW).counters("UTC")) == {
        "create": (3, 0, 2),
        "update": (3, 2, 0),
        "total": (6, 2, 2),
    }


def test_reset_is_a_baseline_for_all_counters_and_leaves_the_log(db):
    service = StatisticsService(db, lambda: datetime(2026, 3, 10, 10, 30))
    assert service.resets() == []
    made = service.reset("ana")
    assert (made.reset_by, made.created, made.updated) == ("ana", 3, 3)  # all rows so far
    insert_log(db, [(11, datetime(2026, 3, 10, 11, 30), "create", "ok", 14)])
    found = StatisticsService(db, lambda: NOW).counters(BERLIN)
    assert values(found) == {
        "create": (1, 2, 1),  # since reset: row 11; today and yesterday are calendar days
        "update": (0, 2, 0),
        "total": (1, 4, 1),
    }
    assert {c.last_reset for c in found.values()} == {datetime(2026, 3, 10, 10, 30)}
    assert [c.all_time for c in found.values()] == [4, 3, 7]
    assert found["total"].total == found["create"].total + found["update"].total
    with db.read() as cur:
        assert cur.execute("SELECT count(*) FROM sync_log").fetchone()[0] == 11


def test_daily_series_in_berlin(db):
    days = StatisticsService(db, lambda: NOW).daily(date(2026, 3, 8), date(2026, 3, 11), BERLIN)
    got = [(d.day.isoformat(), d.created, d.updated, d.failed, d.ok, d.running_total) for d in days]
    assert got == [
        ("2026-03-08", 0, 1, 0, 1, 2),  # running total starts with row 9 (Mar 1)
        ("2026-03-09", 1, 0, 0, 1, 3),
        ("2026-03-10", 1, 2, 1, 5, 6),
        ("2026-03-11", 0, 0, 0, 0, 6),
    ]


def test_daily_series_in_utc_moves_the_late_rows(db):
    days = {
        d.day: d
        for d in StatisticsService(db, lambda: NOW).daily(
            date(2026, 3, 9), date(2026, 3, 10), "UTC"
        )
    }
    assert (days[date(2026, 3, 9)].created, days[date(2026, 3, 10)].created) == (2, 0)


def test_empty_log_gives_zeros_not_errors(tmp_path):
    empty = Database(tmp_path / "empty.duckdb")
    assert values(StatisticsService(empty, lambda: NOW).counters(BERLIN))["total"] == (0, 0, 0)
    days = StatisticsService(empty, lambda: NOW).daily(date(2026, 3, 1), date(2026, 3, 2), BERLIN)
    assert [(d.created, d.failed, d.running_total) for d in days] == [(0, 0, 0)] * 2
    page = StatisticsService(empty, lambda: NOW).page(BERLIN, date(2026, 3, 1), date(2026, 3, 2))
    assert page.detection_to_ticket.total == 0 and page.latency.empty and page.kinds.empty
    assert page.detection_to_ticket.quantiles == (None, None, None)
    empty.close()


def test_day_boundaries_follow_dst_and_bad_input_is_refused():
    berlin = stats.zone(BERLIN)
    assert stats.local_midnight_utc(date(2026, 3, 29), berlin) == datetime(2026, 3, 28, 23, 0)
    assert stats.local_midnight_utc(date(2026, 3, 30), berlin) == datetime(2026, 3, 29, 22, 0)
    assert stats.zone_choices()[0] == "UTC" and "Asia/Kathmandu" in stats.zone_choices()
    with pytest.raises(ValueError):
        stats.zone("Mars/Olympus")
    with pytest.raises(ValueError):
        stats._range(date(2026, 3, 2), date(2026, 3, 1), berlin)


def test_daily_series_in_a_quarter_hour_zone(tmp_path):
    # Kathmandu is UTC+5:45: 18:14 UTC is 23:59 there, 18:15 UTC is midnight.
    db = Database(tmp_path / "ktm.duckdb")
    insert_log(
        db,
        [
            (1, datetime(2026, 3, 9, 18, 14), "create", "ok", 1),
            (2, datetime(2026, 3, 9, 18, 15), "create", "ok", 1),
        ],
    )
    days = StatisticsService(db, lambda: NOW).daily(
        date(2026, 3, 9), date(2026, 3, 10), "Asia/Kathmandu"
    )
    assert [d.created for d in days] == [1, 1]
    db.close()
