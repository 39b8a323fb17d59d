"""The Statistics page's server-side time with 1,000,000 log rows and 100,000 anomalies.

Builds a temporary database the way the product's tables are (the builder of
``bench_log_stats.py``: log ids from the log's sequence, the statistics rollup
counted as migration 009 counts a log, linked tickets for ~60% of anomalies),
ending now. Then times, median of several runs:

- the whole page as Streamlit runs it (AppTest: the script, the one service
  call, every chart's figure and CSV, serialised for the browser);
- the one service call alone (``StatisticsService.page``);
- every raw DuckDB query that call makes (recorded from its cursors, then
  run again on their own with the same parameters), and their sum.

The page's answers and figures are kept until the next write, so each of
those runs follows an empty write transaction (untimed): what the first view
after a change costs. The page's rerun with nothing written (what a click
costs, drawing kept figures) is printed after them.

Prints each beside the others and the goal (the whole page under 300 ms);
asserts nothing.

    .venv/bin/python bench/bench_statistics_page.py [--rows 1000000] [--anomalies 100000]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_log_stats import fill  # noqa: E402

from lib.services import close_all, services_for, utc_now  # noqa: E402
from lib.settings import read_settings  # noqa: E402

TZ = "UTC"  # the page's default zone
GOAL_MS = 300


def timed(fn, runs: int, before=None) -> tuple[float, float]:
    """Median wall time and median CPU time of the process (all threads), in ms.

    On a shared machine the wall time waits for the CPU others use; the CPU
    time is the work itself, what a quiet machine's wall time comes down to.
    """
    fn()  # warm: the first run reads the file into DuckDB's buffer pool
    wall, cpu = [], []
    for _ in range(runs):
        if before is not None:
            before()  # untimed
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return statistics.median(wall), statistics.median(cpu)


class RecordingCursor:
    """A cursor that notes every statement it runs (SQL and parameters)."""

    def __init__(self, cur, found: list) -> None:
        self._cur, self._found = cur, found

    def execute(self, sql, params=None):
        self._found.append((sql, params))
        return self._cur.execute(sql, params) if params is not None else self._cur.execute(sql)

    def __getattr__(self, name):
        return getattr(self._cur, name)


def recorded_queries(db, call) -> list[tuple]:
    """The statements ``call`` runs through ``db.read()``."""
    found: list = []
    original = db.read

    @contextmanager
    def recording():
        with original() as cur:
            yield RecordingCursor(cur, found)

    db.read = recording
    try:
        call()
    finally:
        db.read = original
    return found


def first_line(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text[:70] + ("..." if len(text) > 70 else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--anomalies", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    os.environ.update(
        {
            "ANOMALY_DESK_DB": str(tmp / "bench.duckdb"),
            "ANOMALY_DESK_DEMO_DATA": "0",
            "ANOMALY_DESK_REFRESH_MINUTES": "0",
        }
    )
    services = services_for(read_settings(os.environ))
    now = utc_now()
    started = time.perf_counter()
    fill(services.db, args.rows, args.anomalies, now)
    with services.db.read() as cur:
        rollup = cur.execute("SELECT count(*) FROM sync_stats").fetchone()[0]
        links = cur.execute("SELECT count(*) FROM ticket_links").fetchone()[0]
    print(
        f"filled {args.rows:,} log rows, {args.anomalies:,} anomalies and {links:,} linked"
        f" tickets in {time.perf_counter() - started:.1f} s (rollup: {rollup:,} rows)"
    )
    try:
        run(services, args.runs)
    finally:
        close_all()


def run(services, runs: int) -> None:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    stats = services.statistics
    end = stats.today(TZ)
    start = end - timedelta(days=29)  # the page's default range

    # One AppTest, run again and again: a rerun, as a browser's refresh makes
    # it. Its first run also scans installed packages for components (~0.5 s,
    # once per server start in a running dashboard), which is not the page's.
    at = AppTest.from_file(str(ROOT / "pages" / "statistics.py"), default_timeout=60)

    def render():
        at.run()
        assert not at.exception, at.exception
        assert len(at.get("plotly_chart")) == 9, "every chart drawn"

    def write_nothing() -> None:  # what the page kept is read and drawn again
        with services.db.transaction():
            pass

    page_ms = timed(render, runs, write_nothing)
    kept_ms = timed(render, runs)
    call_ms = timed(lambda: stats.page(TZ, start, end), runs, write_nothing)
    write_nothing()
    queries = recorded_queries(services.db, lambda: stats.page(TZ, start, end))

    def raw(sql, params):
        with services.db.read() as cur:
            cur.execute(sql, params).fetchall()

    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"\n{'raw DuckDB query (as the page runs it)':<76}{'wall ms':>9}{'CPU ms':>9}")
    total = [0.0, 0.0]
    for sql, params in queries:
        wall, cpu = timed(lambda s=sql, p=params: raw(s, p), runs)
        total = [total[0] + wall, total[1] + cpu]
        print(f"  {first_line(sql):<74}{wall:>9.1f}{cpu:>9.1f}")
    print(
        f"  {'sum of the ' + str(len(queries)) + ' raw queries':<74}{total[0]:>9.1f}{total[1]:>9.1f}"
    )
    print(
        f"\n{'the one service call (StatisticsService.page)':<76}{call_ms[0]:>9.1f}{call_ms[1]:>9.1f}"
    )
    print(
        f"{'whole page, every chart (AppTest, server side)':<76}{page_ms[0]:>9.1f}{page_ms[1]:>9.1f}"
    )
    print(
        f"{'  its rerun with nothing written (kept answers and figures)':<76}"
        f"{kept_ms[0]:>9.1f}{kept_ms[1]:>9.1f}"
    )
    print(
        f"{'goal for the whole page':<76}{GOAL_MS:>9.1f}\n"
        f"whole page / goal: {page_ms[0] / GOAL_MS:.2f}x wall, {page_ms[1] / GOAL_MS:.2f}x CPU;"
        f" raw queries are {total[1] / page_ms[1]:.0%} of the page's CPU"
    )


if __name__ == "__main__":
    main()
