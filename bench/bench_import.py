"""How fast, and in how much memory, a file of 1,000,000 anomalies is imported, beside DuckDB.

Writes a JSON file of N anomalies (default 1,000,000; one to three failed
checks each, as the import's own example file has them), then runs, each in a
fresh process of its own so that its peak memory is its own:

- the import: ``python -m lib.cli import FILE`` into a new database (check the
  whole file, then write it in one transaction);
- the baseline: DuckDB reading the same file into a table of a new database
  (``CREATE TABLE ... AS SELECT * FROM read_json(...)``).

The generated file is in the plain form, so the import takes its fast path
(DuckDB reads it once with typed columns, checks and writes it in columns:
``lib/store/anomaly_import.py``); a file in another form goes through the row
validator instead. An import takes at most 1,000,000 rows: ``--count
2000000`` shows the memory of a refused longer file.

Goal (issue 14): the import <= 2x the baseline's time, and under 1 GB peak
memory whatever the file size (``--count 2000000`` shows the memory does not
grow with it). Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_import.py [--count 1000000] [--format json|csv]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO, GOAL_MB = 2.0, 1024
MOST_ROWS = 1_000_000  # lib.anomalies.importing.MAX_ROWS: an import takes no more
STATUSES = [("Active", ""), ("Acknowledged", ""), ("Archived", "Resolved")]

DUCKDB_READ = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
reader = "read_json" if sys.argv[1].endswith(".json") else "read_csv"
con.execute(f"CREATE TABLE anomalies AS SELECT * FROM {reader}(?)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM anomalies").fetchone()[0])
"""


def record(i: int) -> dict:
    status, reason = STATUSES[i % 3]
    return {
        "id": i,
        "datastore_id": 1 + i % 8,
        "datastore_name": f"Datastore {1 + i % 8}",
        "container": f"TABLE_{i % 400}",
        "fields": [f"FIELD_{i % 60}"],
        "type": "record" if i % 2 else "shape",
        "status": status,
        "archive_reason": reason,
        "detected_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        "failed_checks": [
            {"check_id": 100 + c, "rule_type": "notNull", "message": f"{i % 999} nulls in F{c}"}
            for c in range(1 + i % 3)
        ],
        "description": f"Anomaly {i} found by the nightly scan",
        "weight": 1 + i % 10,
        "tags": ["dq", f"team{i % 5}"],
    }


def write_file(path: Path, count: int) -> None:
    """The file, written row by row (the writer holds one record at a time)."""
    with path.open("w", encoding="utf-8") as out:
        if path.suffix == ".json":
            out.write("[\n")
            for i in range(1, count + 1):
                out.write(json.dumps(record(i)) + (",\n" if i < count else "\n"))
            out.write("]\n")
            return
        columns = list(record(1))
        import csv

        writer = csv.writer(out)
        writer.writerow(columns)
        for i in range(1, count + 1):
            row = record(i)
            writer.writerow(
                json.dumps(row[c]) if isinstance(row[c], list) else row[c] for c in columns
            )


def run_measured(
    command: list[str], env: dict, exit_codes: tuple[int, ...] = (0,)
) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak memory (MB) and output of one child process.

    CPU time is printed too: on a shared machine the wall time also counts the
    time the process waited for a core.
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in exit_codes:
        raise SystemExit(f"{command[1:3]} failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    args = parser.parse_args()
    # The file and both databases are ~650 MB a million: removed after each run.
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, tmp: Path) -> None:
    path = tmp / f"anomalies.{args.format}"
    started = time.perf_counter()
    write_file(path, args.count)
    size_mb = path.stat().st_size / 2**20
    print(
        f"wrote {args.count:,} anomalies ({size_mb:.0f} MB) in {time.perf_counter() - started:.0f} s"
    )
    env = {
        **os.environ,
        "ANOMALY_DESK_DB": str(tmp / "import.duckdb"),
        "ANOMALY_DESK_DEMO_DATA": "0",
    }
    env.pop("ANOMALY_DESK_DASHBOARD_URL", None)
    base_s, base_cpu, base_mb, rows = run_measured(
        [sys.executable, "-c", DUCKDB_READ, str(path), str(tmp / "duckdb.duckdb")], env
    )
    # A longer file than an import takes is refused (exit 1): its memory still counts.
    refused_ok = (0, 1) if args.count > MOST_ROWS else (0,)
    imp_s, imp_cpu, imp_mb, said = run_measured(
        [sys.executable, "-m", "lib.cli", "import", str(path)], env, refused_ok
    )
    print(f"import said: {said}")
    # A shared machine's load shows in the wall times: printed beside the ratios.
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"{'':<28} {'import':>10} {'DuckDB read':>12} {'ratio':>7}  goal")
    print(
        f"{'time':<28} {imp_s:8.1f} s {base_s:10.1f} s {imp_s / base_s:6.2f}x  <= {GOAL_RATIO:.0f}x"
    )
    print(f"{'CPU time':<28} {imp_cpu:8.1f} s {base_cpu:10.1f} s {imp_cpu / base_cpu:6.2f}x")
    print(
        f"{'peak memory (RSS)':<28} {imp_mb:7.0f} MB {base_mb:9.0f} MB"
        f" {imp_mb / base_mb:6.2f}x  < {GOAL_MB} MB"
    )
    print(f"(DuckDB read {int(rows):,} rows)")


if __name__ == "__main__":
    main()
