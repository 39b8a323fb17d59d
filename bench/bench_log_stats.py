"""How fast the Log and Statistics pages answer with 1,000,000 log rows.

Builds a temporary database with N sync_log rows (default 1,000,000) spread
over ~180 days (a realistic mix of actions, modes, statuses, anomalies, keys
and errors) and 100,000 anomalies, then times (median of several runs) every
query of the Statistics page, the first page of the Log with and without
filters, and the same statistics computed in pandas after loading the rows
(the baseline). Issue 14's row: the counters and the 30-day series (read from
the statistics rollup) beside the plainest DuckDB GROUP BY over sync_log that
gives the same numbers (checked, printed), and their ratio (goal <= 1.5x).
Prints times, ratios and peak memory; asserts nothing.

    .venv/bin/python bench/bench_log_stats.py [--rows 1000000] [--anomalies 100000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.reporting import statistics as stats  # noqa: E402
from lib.reporting.log_service import LogFilter, LogService  # noqa: E402
from lib.reporting.statistics import StatisticsService  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.stats_rollup import COUNTER_COLUMNS, SLOT_SQL, rebuild_from_log_in  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0)
DAYS = 180
TZ = "Europe/Berlin"


def fill(db: Database, rows: int, anomalies: int, now: datetime = NOW) -> None:
    """Generate the data in DuckDB from range(): seconds, not minutes, for 1M rows.

    Built the way the product's tables are: log ids come from the log's
    sequence (no explicit ids, so a row written afterwards gets the next id),
    failed rows carry their error kind, calls their latency, and the
    statistics rollup counts the finished rows exactly as migration 009 counts
    an existing log (``rebuild_from_log_in``) plus the 429s the outbox retried.
    Linked tickets (about 60% of the anomalies) take their ids from their sequence too.
    """
    start = now - timedelta(days=DAYS)
    with db.transaction() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            "INSERT INTO anomalies SELECT i, 1 + i % 8, 'Datastore ' || (1 + i % 8),"
            " 'TABLE_' || (i % 400), ['FIELD_' || (i % 60)], CASE WHEN i % 2 = 0 THEN 'shape'"
            " ELSE 'record' END, CASE WHEN i % 5 = 0 THEN 'Archived' ELSE 'Active' END,"
            " CASE WHEN i % 5 = 0 THEN 'Resolved' END,"
            " ?::TIMESTAMP + to_seconds((i * ?)::BIGINT) - INTERVAL 2 DAY, '', 1 + i % 10, [],"
            " 'table_' || (i % 400), ?::TIMESTAMP FROM range(1, ? + 1) t(i)",
            [start, DAYS * 86_400 // max(anomalies, 1), now, anomalies],
        )
        cur.execute(
            f"""
            INSERT INTO sync_log (created_at, action, mode, status, anomaly_id, connection_id,
                ticket_id, ticket_key, ticket_url, actor, error, request_json, response_json,
                latency_ms, attempts, next_attempt_at, finished_at, permanent, error_kind)
            SELECT ?::TIMESTAMP + to_microseconds((i * {DAYS * 86_400_000_000 // rows})::BIGINT),
                action, CASE WHEN r2 < 0.7 THEN 'automatic' ELSE 'manual' END, status,
                1 + (hash(i) % ?)::BIGINT, 1, (10000 + i % 90000)::VARCHAR,
                'DQ-' || (1 + i % 90000), 'https://jira.example/browse/DQ-' || (1 + i % 90000),
                'analyst',
                CASE WHEN status = 'failed' THEN
                    ['Jira answered 400: Field priority is required',
                     'Jira answered 503: Service unavailable',
                     'Timed out after 30 s', 'Jira answered 403: No permission'][1 + i % 4]
                END,
                '{{"fields":{{"summary":"Anomaly ' || i || '"}}}}', '{{"id":"' || i || '"}}',
                CASE WHEN status IN ('ok', 'failed') THEN 40 + 400 * r2 * r2 END,
                1 + (i % 3), CASE WHEN status IN ('pending', 'deferred') THEN ?::TIMESTAMP END,
                CASE WHEN status IN ('ok', 'failed') THEN ?::TIMESTAMP END, status = 'failed',
                CASE WHEN status = 'failed' THEN
                    ['validation', 'server', 'network', 'permission'][1 + i % 4] END
            FROM (SELECT i, r2,
                         CASE WHEN r1 < 0.22 THEN 'create' WHEN r1 < 0.45 THEN 'update'
                              WHEN r1 < 0.80 THEN 'comment' WHEN r1 < 0.90 THEN 'link'
                              WHEN r1 < 0.92 THEN 'unlink' ELSE 'refresh' END AS action,
                         CASE WHEN r3 < 0.86 THEN 'ok' WHEN r3 < 0.94 THEN 'failed'
                              WHEN r3 < 0.97 THEN 'pending' WHEN r3 < 0.975 THEN 'sending'
                              ELSE 'deferred' END AS status
                  FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3
                        FROM range(1, ? + 1) t(i)))
        """,
            [start, anomalies, now, now, rows],
        )
        rebuild_from_log_in(cur)
        # The 429s the outbox met on the way (one in 50 rows), each waiting 30 s.
        cur.execute(
            f"INSERT INTO sync_stats ({COUNTER_COLUMNS}) SELECT {SLOT_SQL} AS s, action, mode,"
            " 'retried', 'rate_limited', count(*), count(*), sum(latency_ms), 30.0 * count(*), NULL"
            " FROM sync_log WHERE status = 'ok' AND id % 50 = 0 GROUP BY s, action, mode"
        )
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " summary, status_name, status_category, priority, created_by_us, linked_at,"
            " linked_by, last_synced_at, unlinked_at)"
            " SELECT a.id, 1, (20000 + a.id)::VARCHAR, 'DQ-' || a.id, 'https://jira.example',"
            " 'Anomaly ' || a.id, CASE WHEN a.id % 3 = 0 THEN 'Done' ELSE 'In Progress' END,"
            " CASE WHEN a.id % 3 = 0 THEN 'done' ELSE 'indeterminate' END, 'Medium', TRUE,"
            " a.detected_at + to_hours((a.id % 72)::BIGINT), 'analyst',"
            " CASE WHEN a.id % 3 = 0 THEN a.detected_at + to_hours((a.id % 72 + a.id % 200)::BIGINT)"
            " END, CASE WHEN a.id % 50 = 0 THEN a.detected_at + INTERVAL 30 DAY END"
            " FROM anomalies a WHERE a.id % 10 < 6"
        )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(fn, runs: int = 7, before=None) -> float:
    fn()  # warm up: the first run reads the file into DuckDB's buffer pool
    samples = []
    for _ in range(runs):
        if before is not None:
            before()  # untimed
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def pandas_baseline(db: Database, start: date, end: date):
    """The same statistics the slow way: load the columns, then group in pandas."""

    def counters():
        with db.read() as cur:
            df = cur.execute("SELECT created_at, action, status FROM sync_log").df()
        ok = df[df["status"] == "ok"]
        local = ok["created_at"].dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date
        today = stats.local_day(NOW, stats.zone(TZ))
        out = {}
        for name, acts in (
            ("create", ["create"]),
            ("update", ["update", "comment"]),
            ("total", ["create", "update", "comment"]),
        ):
            mask = ok["action"].isin(acts)
            out[name] = (
                int(mask.sum()),
                int((mask & (local == today)).sum()),
                int((mask & (local == today - timedelta(days=1))).sum()),
            )
        return out

    def daily():
        with db.read() as cur:
            df = cur.execute("SELECT created_at, action, status FROM sync_log").df()
        df = df[df["status"].isin(["ok", "failed"])]
        df = df.assign(
            day=df["created_at"].dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date,
            created=(df["status"] == "ok") & (df["action"] == "create"),
            updated=(df["status"] == "ok") & df["action"].isin(["update", "comment"]),
            failed=df["status"] == "failed",
            ok=df["status"] == "ok",
        )
        per_day = df.groupby("day")[["created", "updated", "failed", "ok"]].sum()
        per_day["running"] = (per_day["created"] + per_day["updated"]).cumsum()
        return per_day.loc[start:end]

    return {"counters": counters, "daily": daily}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--anomalies", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        started = time.perf_counter()
        fill(db, args.rows, args.anomalies)
        print(
            f"filled {args.rows:,} log rows and {args.anomalies:,} anomalies "
            f"in {time.perf_counter() - started:.1f} s"
        )
        run(db, args.runs)
        db.close()
    print(f"peak memory (ru_maxrss): {peak_mb():.0f} MB")


PLAIN_GROUP_BY = """
    SELECT timezone(?, timezone('UTC', created_at))::DATE AS day, action, status, count(*)
    FROM sync_log WHERE status IN ('ok', 'failed') GROUP BY ALL
"""


def plain_group_by(db: Database) -> list[tuple]:
    """The plainest DuckDB query that gives the page's counters and daily series: one GROUP BY."""
    with db.read() as cur:
        return cur.execute(PLAIN_GROUP_BY, [TZ]).fetchall()


def same_numbers(service: StatisticsService, grouped: list[tuple], start: date, end: date) -> bool:
    """Do the rollup's counters and days equal what the plain GROUP BY over the log gives?"""
    created = {"create"}
    updated = {"update", "comment"}
    per_day: dict = {}
    for day, action, status, n in grouped:
        got = per_day.setdefault(day, {"created": 0, "updated": 0, "failed": 0, "ok": 0})
        got["ok" if status == "ok" else "failed"] += n
        if status == "ok" and action in created | updated:
            got["created" if action in created else "updated"] += n
    today = stats.local_day(NOW, stats.zone(TZ))
    counters = service.counters(TZ)
    for name, acts in (("create", created), ("update", updated), ("total", created | updated)):
        keys = [k for k, v in (("created", created), ("updated", updated)) if v <= acts]
        expected = (
            sum(d[k] for d in per_day.values() for k in keys),
            sum(per_day.get(today, {}).get(k, 0) for k in keys),
            sum(per_day.get(today - timedelta(days=1), {}).get(k, 0) for k in keys),
        )
        c = counters[name]
        if (c.total, c.today, c.yesterday) != expected:
            return False
    empty = {"created": 0, "updated": 0, "failed": 0, "ok": 0}
    return all(
        (d.created, d.updated, d.failed, d.ok) == tuple(per_day.get(d.day, empty).values())
        for d in service.daily(start, end, TZ)
    )


def run(db: Database, runs: int) -> None:
    service = StatisticsService(db, clock=lambda: NOW)
    end = stats.local_day(NOW, stats.zone(TZ))
    start = end - timedelta(days=29)
    year_start = end - timedelta(days=179)
    duck = {
        "counters": lambda: service.counters(TZ),
        "daily": lambda: service.daily(start, end, TZ),
    }
    extra = {
        "daily (180 days)": lambda: service.daily(year_start, end, TZ),
        "whole Statistics page service call": lambda: service.page(TZ, start, end),
        "resets": lambda: service.resets(),
    }
    # DuckDB first, so the peak memory before the baseline is DuckDB's alone.
    ours = {name: timed(fn, runs) for name, fn in {**duck, **extra}.items()}
    both = timed(lambda: (service.counters(TZ), service.daily(start, end, TZ)), runs)
    plain = timed(lambda: plain_group_by(db), runs)
    print(f"peak memory after the DuckDB queries: {peak_mb():.0f} MB")
    baseline = pandas_baseline(db, start, end)
    theirs = {name: timed(baseline[name], max(3, runs // 2)) for name in duck}
    print(f"peak memory after the pandas baseline: {peak_mb():.0f} MB")
    print(f"\n{'query':<36}{'DuckDB ms':>10}{'pandas ms':>11}{'ratio':>8}")
    for name, ms in ours.items():
        if name in theirs:
            print(f"{name:<36}{ms:>10.1f}{theirs[name]:>11.1f}{theirs[name] / ms:>7.0f}x")
        else:
            print(f"{name:<36}{ms:>10.1f}")
    same = same_numbers(service, plain_group_by(db), start, end)
    print(
        f"\nstatistics (counters + 30 days) from the rollup {both:8.1f} ms\n"
        f"plainest GROUP BY over sync_log           {plain:8.1f} ms   (same numbers: "
        f"{'yes' if same else 'NO'})\n"
        f"ratio rollup / GROUP BY                   {both / plain:8.2f}x   (goal: <= 1.5x)\n"
    )
    run_log_pages(db, runs)


def run_log_pages(db: Database, runs: int) -> None:
    """The Log page's reads, each after an empty write: its page and count are kept
    until the next write, and a kept answer is not what a search costs."""
    log = LogService(db, clock=lambda: NOW, retry=lambda log_id: None)

    def write_nothing() -> None:
        with db.transaction():
            pass

    week = (NOW - timedelta(days=7), NOW)
    log_pages = {
        "log page 1, no filter": LogFilter(),
        "log page 1, status=Failed": LogFilter(statuses=("Failed",)),
        "log page 1, text 'timed out'": LogFilter(text="timed out"),
        "log page 1, text 'DQ-4711'": LogFilter(text="DQ-4711"),
        "log page 1, last 7 days": LogFilter(start=week[0], end=week[1]),
        "log page 1, all filters": LogFilter(
            types=("Automatic",),
            actions=("comment",),
            statuses=("Failed",),
            start=week[0],
            end=week[1],
            text="503",
        ),
    }
    for name, flt in log_pages.items():
        print(
            f"{name:<34}{timed(lambda f=flt: log.page(f), runs, write_nothing):>10.1f}"
            "   (50 rows + count of matches)"
        )
    last = log.page(LogFilter(), 10_000)
    print(
        f"{'log page 10,000 (offset 499,950)':<34}"
        f"{timed(lambda: log.page(LogFilter(), 10_000), runs, write_nothing):>10.1f}"
        f"   ({len(last.rows)} rows)"
    )
    for name, flt in (
        ("CSV export, status=Failed", LogFilter(statuses=("Failed",))),
        ("CSV export, everything (capped)", LogFilter()),
    ):
        export = log.export_csv(flt)
        print(
            f"{name:<34}{timed(lambda f=flt: log.export_csv(f), 3):>10.1f}"
            f"   ({export.rows:,} of {export.matching:,} rows, {len(export.data) / 1e6:.1f} MB)"
        )


if __name__ == "__main__":
    main()
