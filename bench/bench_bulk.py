"""Bulk create benchmark: 500 tickets from a selection vs the same 500 one by one (prints numbers).

    .venv/bin/python bench/bench_bulk.py [--tickets 500] [--latency-ms 50]

Against the sandbox over real HTTP with 50 ms latency per call:

1. A bulk job, "one ticket per anomaly" for all anomalies matching a filter:
   the time from pressing Run until every anomaly is linked (the worker sends
   the job's create rows 50 per ``POST /issue/bulk``), and the number of Jira
   calls, beside the network's round-trip floor (ceil(N / 50) x latency).
2. The same N tickets one by one through the New ticket path (one outbox row
   each, sent at once: one ``POST /issue`` per ticket), beside its floor
   (N x latency).
3. Bulk vs one by one: the speed-up and the calls saved.

Each run checks what it made: one issue per anomaly, each anomaly linked.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_sync import anomalies  # noqa: E402
from lib.anomalies.changes import AnomalyChanges  # noqa: E402
from lib.jira import BasicAuth, Flavour, JiraClient, RetryPolicy  # noqa: E402
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread  # noqa: E402
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL  # noqa: E402
from lib.outbox.engine import SyncEngine, utc_now  # noqa: E402
from lib.outbox.policy import ActiveJira, Backoff, UpdateLimit  # noqa: E402
from lib.outbox.worker import SyncWorker  # noqa: E402
from lib.store.anomalies import AnomalyRepository  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.models import AnomalyFilter  # noqa: E402
from lib.tickets.bulk import BulkRequest, BulkService  # noqa: E402
from lib.tickets.service import TicketService  # noqa: E402

BULK_SIZE = 50  # Jira Cloud's most per /issue/bulk call


def setup(tmp: Path, name: str, sandbox, count: int):
    db = Database(tmp / f"{name}.duckdb")
    AnomalyRepository(db).upsert_many(anomalies(count), utc_now())
    client = JiraClient(
        sandbox.base_url,
        BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
        flavour=Flavour.CLOUD,
        timeout=30,
        retry_policy=RetryPolicy(max_attempts=1),
    )
    active = ActiveJira(1, client, default_project="DQ", default_issue_type="Task")
    engine = SyncEngine(db, lambda: active, backoff=Backoff(base=0.1, cap=5), reconcile_confirm_s=1)
    tickets = TicketService(db, engine, "http://desk.bench")
    return db, engine, tickets


def calls(sandbox) -> dict[str, int]:
    return dict(sandbox.runtime.faults.stats_json()["received"])


def check(sandbox, tickets: TicketService, count: int) -> str:
    issues = sandbox.runtime.state.all_issues()
    linked = sum(1 for i in range(1, count + 1) if len(tickets.links_for(i)) == 1)
    return f"issues on Jira {len(issues)}, anomalies with one link {linked}"


def bench_bulk(tmp: Path, count: int, latency_ms: int) -> tuple[float, int]:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud", latency_ms=latency_ms))
    try:
        db, engine, tickets = setup(tmp, "bulk", sandbox, count)
        changes = AnomalyChanges(db, utc_now, on_enqueued=engine.notify)
        bulk = BulkService(db, engine, tickets, changes, "http://desk.bench")
        worker = SyncWorker(
            engine, tickets, refresh_interval_s=0, update_limit=lambda: UpdateLimit(0)
        )
        started = time.perf_counter()
        job = bulk.start(BulkRequest("ticket_each", filter=AnomalyFilter()), "bench")
        queued = time.perf_counter() - started
        while engine.log.unfinished():
            worker.run_once()
        elapsed = time.perf_counter() - started
        progress = bulk.progress(job.job.id)
        made = calls(sandbox)
        total = sum(made.values())
        floor = math.ceil(count / BULK_SIZE) * latency_ms / 1000
        print(
            f"[1] bulk job, {count} tickets from a selection, {latency_ms} ms latency: "
            f"{elapsed:.2f} s ({queued:.2f} s to queue the job); round-trip floor "
            f"{math.ceil(count / BULK_SIZE)} x {latency_ms} ms = {floor:.2f} s; ratio "
            f"{elapsed / floor:.2f}x; Jira calls {total} {made}; done {progress.counts['done']}, "
            f"failed {progress.counts['failed']}; {check(sandbox, tickets, count)}"
        )
        db.close()
        return elapsed, total
    finally:
        sandbox.stop()


def bench_one_by_one(tmp: Path, count: int, latency_ms: int) -> tuple[float, int]:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud", latency_ms=latency_ms))
    try:
        db, engine, tickets = setup(tmp, "single", sandbox, count)
        started = time.perf_counter()
        for i in range(1, count + 1):
            tickets.create_ticket(i, summary=f"Bench ticket {i}", actor="bench")
        elapsed = time.perf_counter() - started
        made = calls(sandbox)
        total = sum(made.values())
        floor = count * latency_ms / 1000
        print(
            f"[2] one by one, {count} tickets, {latency_ms} ms latency: {elapsed:.2f} s; "
            f"round-trip floor {count} x {latency_ms} ms = {floor:.2f} s; ratio "
            f"{elapsed / floor:.2f}x; Jira calls {total} {made}; {check(sandbox, tickets, count)}"
        )
        db.close()
        return elapsed, total
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bulk_s, bulk_calls = bench_bulk(Path(tmp), args.tickets, args.latency_ms)
        one_s, one_calls = bench_one_by_one(Path(tmp), args.tickets, args.latency_ms)
    print(
        f"[3] bulk vs one by one: {bulk_s:.2f} s vs {one_s:.2f} s, {one_s / bulk_s:.1f}x faster; "
        f"Jira calls {bulk_calls} vs {one_calls}, {one_calls / max(1, bulk_calls):.1f}x fewer"
    )


if __name__ == "__main__":
    main()
