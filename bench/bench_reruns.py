"""What a rerun of each page costs on the server: 100,000 anomalies and 1M log rows vs empty.

A click reruns the page's script. This times reruns of every page of the
dashboard (``dashboard.py`` with its navigation and sidebar) under Streamlit's
AppTest, with the two things its script runner does unlike the server's put
back (the server's bytecode cache, and its collection after each run; see the
functions below), on a database built by
``bench/build_data.py`` (100,000 anomalies, 1,000,000 log rows, 1,000 linked
tickets; the statistics rollup counted from that log, as the product counts
each finished row, so the Statistics page has its data), each beside its baseline: the same page on an empty database. Goal
(issue 14): <= 1.5x and under 100 ms.

Streamlit collects garbage (``gc.collect(2)``) after every script run by default;
with the whole dashboard's modules loaded that alone was ~60% of a rerun. Each
of three ways runs in a process of its own (the heap is the point):

- ``collect``: Streamlit's default, ``runner.postScriptGC = true``;
- ``freeze``: the default, after ``gc.freeze()`` at start-up (the collection
  then skips everything loaded before it);
- ``no collect``: ``runner.postScriptGC = false`` (what .streamlit/config.toml
  sets): Python's own generational collector still runs when allocations call
  for it.

The machine is shared, and its load moves between one child and the next: each
child runs ``--runs`` reruns of every page, and ``--rounds`` rounds of children
alternate the order (empty then full, then full then empty), so a busy minute
falls on both sides; a figure is the median of all its rounds' samples. The
load average is printed as each child ends.

    .venv/bin/python bench/bench_reruns.py [--anomalies 100000] [--log-rows 1000000] [--runs 7]
        [--rounds 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 24, 12, 0)
PAGES = [
    "anomalies",
    "tickets",
    "jira",
    "connect",
    "rules",
    "reconciliation",
    "log",
    "statistics",
    "settings",
    "api",
]
WAYS = {"collect": "default", "freeze": "gc.freeze()", "no collect": "postScriptGC=false"}
GOAL_RATIO, GOAL_MS = 1.5, 100.0


def build_database(path: Path, anomalies: int, log_rows: int) -> None:
    from bench.build_data import build
    from lib.store.db import Database
    from lib.store.stats_rollup import rebuild_from_log_in

    db = Database(path)
    build(db, anomalies=anomalies, log_rows=log_rows, now=NOW, links=min(1_000, anomalies))
    with db.transaction() as cur:  # the rollup the product writes with each finished row
        rebuild_from_log_in(cur)
    db.close()


def load_the_servers_modules() -> None:
    """What app.py imports besides the pages: the routes, the REST API, the sandbox."""
    import lib.http.routes  # noqa: F401
    import lib.jira.sandbox.app  # noqa: F401


def collect_after_each_run_as_the_server_does() -> None:
    """AppTest's script runner leaves out the server's post-script collection: put it back.

    Streamlit's ScriptRunner ends ``_on_script_finished`` with ``gc.collect(2)``
    when ``runner.postScriptGC`` is on; AppTest's LocalScriptRunner overrides the
    method without it, so AppTest alone would never show its cost.
    """
    from streamlit import config
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    finished = LocalScriptRunner._on_script_finished

    def and_collect(self, *args, **kwargs):
        finished(self, *args, **kwargs)
        if config.get_option("runner.postScriptGC"):
            gc.collect(2)

    LocalScriptRunner._on_script_finished = and_collect


def keep_compiled_scripts_as_the_server_does() -> None:
    """AppTest compiles every script again on every run: share one cache, as the server does.

    The server's Runtime holds one ScriptCache for the process; AppTest makes a
    new one per run, so each rerun would pay parsing, magic and compiling of
    dashboard.py and the page again (~70 ms on this machine).
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared
    local_script_runner.ScriptCache = lambda: shared


def time_pages(way: str, runs: int) -> dict[str, list[float]]:
    """Server times of ``runs`` reruns of each page, in this process, in ms."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    load_the_servers_modules()
    collect_after_each_run_as_the_server_does()
    keep_compiled_scripts_as_the_server_does()
    config.set_option("runner.postScriptGC", way != "no collect")
    tests = {}
    for page in PAGES:  # first runs: open the database, import every page
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        tests[page] = at
    if way == "freeze":
        gc.collect()
        gc.freeze()
    out = {}
    for page, at in tests.items():
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            at.run()
            samples.append((time.perf_counter() - started) * 1000)
        assert not at.exception, (page, at.exception)
        out[page] = samples
    return out


def in_child(db: Path, way: str, runs: int) -> dict[str, list[float]]:
    env = {**os.environ, "ANOMALY_DESK_DB": str(db), "ANOMALY_DESK_DEMO_DATA": "0"}
    answer = subprocess.run(
        [sys.executable, __file__, "--child", way, "--runs", str(runs)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def load() -> str:
    """The machine's load average (1, 5, 15 min): ratios on a shared machine move with it."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(results: dict[tuple[str, str], dict[str, float]]) -> None:
    print(f"{'page rerun (server ms)':<24}" + "".join(f"{w:>26}" for w in WAYS))
    print(f"{'':<24}" + "".join(f"{'empty  full  ratio':>26}" for _ in WAYS))
    for page in PAGES:
        cells = []
        for way in WAYS:
            empty, full = results[(way, "empty")][page], results[(way, "full")][page]
            ok = full / empty <= GOAL_RATIO and full < GOAL_MS
            cells.append(f"{empty:6.1f} {full:6.1f} {full / empty:5.2f}x {'ok' if ok else '--'}")
        print(f"{page:<24}" + "".join(f"{c:>26}" for c in cells))
    print(f"goal: full <= {GOAL_RATIO}x empty and under {GOAL_MS:.0f} ms ('ok')")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--anomalies", type=int, default=100_000)
    parser.add_argument("--log-rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=list(WAYS))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(time_pages(args.child, args.runs)))
        return
    tmp = Path(tempfile.mkdtemp())
    dbs = {"empty": tmp / "empty.duckdb", "full": tmp / "full.duckdb"}
    build_database(dbs["empty"], 0, 0)
    started = time.perf_counter()
    build_database(dbs["full"], args.anomalies, args.log_rows)
    print(
        f"built {args.anomalies:,} anomalies and {args.log_rows:,} log rows"
        f" in {time.perf_counter() - started:.1f} s; {args.runs} reruns per page;"
        f" load average {load()}"
    )
    samples: dict[tuple[str, str], dict[str, list[float]]] = {}
    for round_no in range(args.rounds):
        order = list(dbs.items()) if round_no % 2 == 0 else list(dbs.items())[::-1]
        for way in WAYS:
            for name, path in order:
                for page, times in in_child(path, way, args.runs).items():
                    samples.setdefault((way, name), {}).setdefault(page, []).extend(times)
                print(f"  round {round_no + 1}, {way}, {name}: done at load average {load()}")
    report(
        {
            key: {page: statistics.median(times) for page, times in pages.items()}
            for key, pages in samples.items()
        }
    )


if __name__ == "__main__":
    main()
