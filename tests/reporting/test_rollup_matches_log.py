"""The rollup gives the numbers the old queries gave over the log, and the cleanup changes none.

The old queries (before migration 009) counted ``sync_log`` rows; they are
kept here, verbatim in meaning, as the reference: ok creates (and updates or
comments) with ``created_at`` in a window, and since a reset those written
after it. Rows are written the product's way (``SyncLog.insert_in``) in time
order, with the reset made at its moment, so "finished after the reset" (the
baseline) and "written after the reset" (the old cut-off) are the same rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.reporting import retention
from lib.reporting import statistics as stats
from lib.reporting.statistics import StatisticsService
from lib.store.db import Database
from lib.store.sync_log import SyncLog

START = datetime(2026, 3, 1)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe")
RESETS = (datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 29, 0, 45), datetime(2026, 4, 2, 12, 7))
NOWS = (datetime(2026, 3, 29, 1, 15), datetime(2026, 4, 9, 23, 50))
ACTIONS = ("create", "update", "comment", "link", "refresh")
KINDS = ("validation", "rate_limited", "network", "permission")
OLD_COUNTERS = {
    "create": "action = 'create'",
    "update": "action IN ('update', 'comment')",
    "total": "action IN ('create', 'update', 'comment')",
}


def write(db: Database, rows) -> None:
    """(at, action, status, error_kind, latency_ms) rows, the product's way, in one transaction."""
    with db.transaction() as cur:
        for at, action, status, kind, latency in rows:
            values = {"error_kind": kind} if status == "failed" else {}
            SyncLog.insert_in(
                cur, now=at, action=action, mode="manual", status=status, latency_ms=latency,
                **values,
            )  # fmt: skip


def old_count(db: Database, counter: str, start: datetime, end: datetime | None = None) -> int:
    """The old counter query over the log: ok rows of ``counter`` in [start, end)."""
    upper = " AND created_at < ?" if end else ""
    with db.read() as cur:
        return cur.execute(
            f"SELECT count(*) FROM sync_log WHERE status = 'ok' AND {OLD_COUNTERS[counter]}"
            f" AND created_at >= ?{upper}",
            [start, *([end] if end else [])],
        ).fetchone()[0]


def random_rows(seed: int, n: int) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        at = START + timedelta(minutes=rng.randrange(0, 41 * 24 * 60))
        status = rng.choice(("ok", "ok", "ok", "failed"))
        kind = rng.choice(KINDS) if status == "failed" else None
        rows.append((at, rng.choice(ACTIONS), status, kind, rng.choice((None, 35.0, 900.0))))
    return sorted(rows)


def test_counters_after_a_reset_match_the_old_cut_off_in_every_zone():
    for reset_at in RESETS:
        db = Database(":memory:")
        rows = random_rows(7, 300)
        write(db, [r for r in rows if r[0] < reset_at])
        StatisticsService(db, lambda at=reset_at: at).reset("regression")
        write(db, [r for r in rows if r[0] >= reset_at])
        for tz in ZONES:
            for now in NOWS:
                found = StatisticsService(db, lambda now=now: now).counters(tz)
                today = stats.local_day(now, stats.zone(tz))
                y0, t0, t1 = (
                    stats.local_midnight_utc(today + timedelta(days=n), stats.zone(tz))
                    for n in (-1, 0, 1)
                )
                for name, counter in found.items():
                    expected = (
                        old_count(db, name, reset_at),
                        old_count(db, name, t0, t1),
                        old_count(db, name, y0, t0),
                        old_count(db, name, datetime(1970, 1, 1)),
                    )
                    got = (counter.total, counter.today, counter.yesterday, counter.all_time)
                    assert got == expected, (reset_at, tz, now, name)
                assert found["total"].total == found["create"].total + found["update"].total
        db.close()


def test_failures_by_kind_and_latency_match_the_log():
    db = Database(":memory:")
    rows = random_rows(11, 200)
    write(db, rows)
    page = StatisticsService(db, lambda: NOWS[1]).page("UTC", date(2026, 3, 1), date(2026, 4, 10))
    expected = pd.Series([r[3] for r in rows if r[2] == "failed"]).value_counts()
    assert dict(zip(page.kinds["kind"], page.kinds["failed"], strict=True)) == expected.to_dict()
    measured = pd.DataFrame([(r[0].date(), r[4]) for r in rows if r[4]], columns=["day", "ms"])
    by_day = measured.groupby("day")["ms"]
    low, high = by_day.quantile(0.5, interpolation="lower"), by_day.quantile(0.5, "higher")
    for day, p50 in zip(page.latency["day"], page.latency["p50_ms"], strict=True):
        # Between the two middle latencies, give or take a histogram bin (19% wide).
        assert low[day] / 1.2 <= p50 <= high[day] * 1.2, day
    assert len(page.latency) == low.size
    db.close()


log_rows = st.lists(
    st.tuples(
        st.integers(0, 40 * 24 * 60),  # minutes after START
        st.sampled_from(ACTIONS),
        st.sampled_from(("ok", "failed", "pending")),
        st.sampled_from(KINDS),
        st.one_of(st.none(), st.floats(1, 5000)),
    ),
    min_size=6,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=log_rows,
    max_entries=st.integers(1, 5),
    max_age_days=st.integers(0, 45),
    tz=st.sampled_from(ZONES),
    reset_after=st.one_of(st.none(), st.integers(0, 5)),
)
def test_any_cleanup_leaves_every_count_as_it_was(rows, max_entries, max_age_days, tz, reset_after):
    db = Database(":memory:")
    now = START + timedelta(days=41)
    timed = sorted(((START + timedelta(minutes=m), *rest) for m, *rest in rows), key=lambda r: r[0])
    cut = len(timed) if reset_after is None else reset_after
    write(db, timed[:cut])
    if reset_after is not None:
        StatisticsService(db, lambda: now).reset("prop")
    write(db, timed[cut:])
    service = StatisticsService(db, lambda: now)

    def seen():
        page = service.page(tz, date(2026, 2, 28), date(2026, 4, 11))
        return (
            {name: vars(c) for name, c in page.counters.items()},
            page.daily.to_dict("list"),
            page.kinds.to_dict("list"),
            page.latency.to_dict("list"),
            page.rate_limited,
        )

    before = seen()
    retention.save(db, max_entries, max_age_days)
    removed = retention.cleanup(db, now)
    finished = sum(1 for r in rows if r[2] != "pending")
    assert removed.removed >= finished - max_entries  # the cleanup did remove rows
    assert seen() == before
    db.close()
