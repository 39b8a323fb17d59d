"""How fast the Anomalies page's query answers at 1,000,000 anomalies, beside raw DuckDB.

Builds a temporary database with N anomalies (default 1,000,000, two million
failed checks) with ``bench/build_data.py``, then times the repository's page
query (the 50 rows, their failed-check counts, the total and the counts per
status) for the page's usual filters and sorts, each beside its baseline: the
plainest DuckDB query selecting the same 50 rows (same filter, order, limit and
offset; no counts). Goal (issue 14): first page and sort by weight, page 500,
<= 2x. Medians of several runs; prints numbers, asserts nothing.

The page's answer is kept until the next committed write (``Database.kept``),
so each timed read follows an empty write transaction (untimed): "page" is
what the first rerun after a change costs, and "kept" what a rerun with
nothing changed costs.

    .venv/bin/python bench/bench_anomalies_page.py [--count 1000000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build_data import build_anomalies  # noqa: E402
from lib.store.anomalies import SORTABLE, AnomalyRepository, _where  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.models import AnomalyFilter  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0)
GOAL = 2.0


def timed(fn, runs: int = 9, before=None) -> float:
    fn()  # warm: the first run reads the blocks into DuckDB's buffer pool
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _write_nothing(db: Database) -> None:
    """A committed write transaction: what the page kept is read again next time."""
    with db.transaction():
        pass


def raw_rows(db: Database, flt: AnomalyFilter, sort: str, offset: int) -> list[tuple]:
    """The baseline: the same 50 rows straight from DuckDB, nothing counted."""
    where, params = _where(flt)
    order = SORTABLE[sort]
    with db.read() as cur:
        return cur.execute(
            "SELECT id, detected_at, datastore_name, container, array_to_string(fields, ', '),"
            f" anomaly_type, status, archive_reason, weight FROM anomalies{where}"
            f" ORDER BY {order} DESC, id DESC LIMIT 50 OFFSET ?",
            [*params, offset],
        ).fetchall()


CASES = [  # name, filter, sort, offset, has a goal
    ("first page, no filter", AnomalyFilter(), "detected", 0, True),
    ("sort by weight, page 500", AnomalyFilter(), "weight", 24_950, True),
    ("status = Active", AnomalyFilter(statuses=("Active",)), "detected", 0, False),
    (
        "datastore + type",
        AnomalyFilter(datastore_ids=(3,), anomaly_type="shape"),
        "detected",
        0,
        False,
    ),
    (
        "date range (7 days)",
        AnomalyFilter(detected_from=NOW - timedelta(days=7), detected_to=NOW),
        "detected",
        0,
        False,
    ),
    ("free text 'field_42'", AnomalyFilter(text="field_42"), "detected", 0, False),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    db = Database(Path(tempfile.mkdtemp()) / "bench.duckdb")
    repo = AnomalyRepository(db)
    start = time.perf_counter()
    build_anomalies(db, args.count, NOW)
    print(f"built {repo.count():,} anomalies in {time.perf_counter() - start:.1f} s")
    print(
        f"{'Anomalies page query':<34} {'page':>9} {'raw 50 rows':>12} {'ratio':>7}  goal"
        f"    {'kept':>7}"
    )
    for name, flt, sort, offset, has_goal in CASES:
        read = lambda f=flt, s=sort, o=offset: repo.page(f, sort=s, offset=o)  # noqa: E731
        page = timed(read, before=lambda: _write_nothing(db))
        kept = timed(read)
        raw = timed(lambda f=flt, s=sort, o=offset: raw_rows(db, f, s, o))
        goal = f"<= {GOAL:.0f}x" if has_goal else ""
        print(
            f"{name:<34} {page:7.1f} ms {raw:9.1f} ms {page / raw:6.2f}x  {goal:<6} {kept:5.2f} ms"
        )
    print(f"open one anomaly (details)         {timed(lambda: repo.get(4242)):7.1f} ms")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak process memory (RSS, incl. building): {peak_mb:.0f} MB")
    db.close()


if __name__ == "__main__":
    main()
