"""How fast the Anomalies page answers with 100,000 anomalies.

Builds a temporary database with N anomalies (default 100,000), then times the
repository queries the page makes (median of several runs each) and one full
render of the page under Streamlit's AppTest. Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_anomalies_page.py [--count 100000]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.store.anomalies import AnomalyRepository  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.models import Anomaly, AnomalyFilter, FailedCheck  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0)


def make_anomalies(count: int) -> list[Anomaly]:
    rng = random.Random(1)
    stores = [(i, f"Datastore {i}") for i in range(1, 9)]
    statuses = [
        ("Active", None),
        ("Acknowledged", None),
        ("Archived", "Resolved"),
        ("Archived", "Invalid"),
    ]
    out = []
    for ident in range(1, count + 1):
        ds = rng.choice(stores)
        status, reason = rng.choice(statuses)
        table = f"TABLE_{rng.randint(1, 400)}"
        field = f"FIELD_{rng.randint(1, 60)}"
        checks = tuple(
            FailedCheck(
                rng.randint(1, 9999), "notNull", f"{rng.randint(1, 999)} values in {field} are null"
            )
            for _ in range(rng.randint(1, 3))
        )
        out.append(
            Anomaly(
                ident,
                ds[0],
                ds[1],
                table,
                (field,),
                rng.choice(["shape", "record"]),
                status,
                reason,
                NOW - timedelta(minutes=rng.randint(0, 86400)),
                "",
                rng.randint(1, 10),
                (),
                checks,
            )
        )
    return out


def timed(fn, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db_path = tmp / "bench.duckdb"
    db = Database(db_path)
    repo = AnomalyRepository(db)
    anomalies = make_anomalies(args.count)
    start = time.perf_counter()
    for i in range(0, len(anomalies), 20_000):
        repo.upsert_many(anomalies[i : i + 20_000], NOW)
    print(f"loaded {repo.count():,} anomalies in {time.perf_counter() - start:.2f} s")

    cases = {
        "first page, no filter": AnomalyFilter(),
        "status = Active": AnomalyFilter(statuses=("Active",)),
        "datastore + type": AnomalyFilter(datastore_ids=(3,), anomaly_type="shape"),
        "date range (7 days)": AnomalyFilter(
            detected_from=NOW - timedelta(days=7), detected_to=NOW
        ),
        "free text 'field_42'": AnomalyFilter(text="field_42"),
    }
    for name, flt in cases.items():
        print(f"page query, {name:<24} {timed(lambda flt=flt: repo.page(flt)):7.1f} ms")
    print(
        f"page query, sort by weight, page 500  "
        f"{timed(lambda: repo.page(AnomalyFilter(), sort='weight', offset=25_000)):7.1f} ms"
    )
    print(f"open one anomaly (details)            {timed(lambda: repo.get(4242)):7.1f} ms")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak process memory (RSS, incl. loading): {peak_mb:.0f} MB")
    db.close()

    # The whole page, as Streamlit renders it (script run, queries, table).
    os.environ.update({"ANOMALY_DESK_DB": str(db_path), "ANOMALY_DESK_DEMO_DATA": "0"})
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)

    def render(query: dict[str, str]):
        at = AppTest.from_file(str(ROOT / "pages" / "anomalies.py"), default_timeout=60)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, at.exception

    render({})  # warm: opens the database once, as a running dashboard has
    print(f"full page render (AppTest), list      {timed(lambda: render({}), runs=5):7.1f} ms")
    print(
        f"full page render (AppTest), details   "
        f"{timed(lambda: render({'anomaly': '4242'}), runs=5):7.1f} ms"
    )


if __name__ == "__main__":
    main()
