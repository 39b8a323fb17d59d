"""Sync engine benchmark against the sandbox over real HTTP (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_sync.py [--creates 100] [--comments 500] [--tickets 50]

1. Create N tickets one by one with 50 ms sandbox latency, through the one
   create path (an outbox row each, delivered at once by the engine: one
   POST, no GET), printed beside its baseline (N x one round trip) and the
   ratio; then the same through the automation command.
2. The outbox delivering M queued comments across T tickets while the sandbox
   rate-limits (429 with Retry-After): elapsed time, 429s seen, duplicates
   (comments on Jira minus distinct expected) and lost changes (expected minus
   delivered). Both must print 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.anomalies.changes import AnomalyChanges, Mode  # noqa: E402
from lib.jira import BasicAuth, Flavour, JiraClient, RetryPolicy, adf_to_text  # noqa: E402
from lib.jira.records import Issue  # noqa: E402
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread  # noqa: E402
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL  # noqa: E402
from lib.outbox.engine import SyncEngine, utc_now  # noqa: E402
from lib.outbox.policy import ActiveJira, Backoff, UpdateLimit  # noqa: E402
from lib.outbox.worker import SyncWorker  # noqa: E402
from lib.store.anomalies import AnomalyRepository  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.links import LinkRepository  # noqa: E402
from lib.store.models import Anomaly, FailedCheck  # noqa: E402
from lib.tickets.automation import AutomationService  # noqa: E402
from lib.tickets.description import comment_text  # noqa: E402
from lib.tickets.service import TicketService  # noqa: E402


def anomalies(count: int) -> list[Anomaly]:
    detected = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    return [
        Anomaly(
            i,
            1,
            "Warehouse",
            f"TABLE_{i}",
            ("COL",),
            "record",
            "Active",
            None,
            detected,
            "bench",
            1,
            (),
            (FailedCheck(i, "notNull", f"{i} values in COL are null"),),
        )
        for i in range(1, count + 1)
    ]


def setup(tmp: Path, name: str, sandbox, count: int):
    db = Database(tmp / f"{name}.duckdb")
    AnomalyRepository(db).upsert_many(anomalies(count), utc_now())
    client = JiraClient(
        sandbox.base_url,
        BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
        flavour=Flavour.CLOUD,
        timeout=10,
        retry_policy=RetryPolicy(max_attempts=1),
    )
    active = ActiveJira(1, client, default_project="DQ", default_issue_type="Task")
    engine = SyncEngine(db, lambda: active, backoff=Backoff(base=0.1, cap=5), reconcile_confirm_s=1)
    return db, engine, TicketService(db, engine, "http://desk.bench")


LATENCY_MS = 50


def bench_creates(tmp: Path, count: int) -> None:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud", latency_ms=LATENCY_MS))
    try:
        db, engine, tickets = setup(tmp, "creates", sandbox, count)
        baseline = count * LATENCY_MS / 1000  # one round trip per create, nothing else
        started = time.perf_counter()
        for i in range(1, count + 1):
            tickets.create_ticket(i, summary=f"Bench ticket {i}", actor="bench")
        elapsed = time.perf_counter() - started
        _print_creates("[1] dialog path", count, elapsed, baseline, sandbox)
        sandbox.runtime.reset()
        sandbox.runtime.faults.update_settings({"latency_ms": LATENCY_MS})
        automation = AutomationService(db, engine, engine.client_provider)
        started = time.perf_counter()
        for i in range(1, count + 1):
            automation.run(f"bench-{i}|CREATE|summary;Bench ticket {i}")
        elapsed = time.perf_counter() - started
        _print_creates("[1b] automation path", count, elapsed, baseline, sandbox)
        db.close()
    finally:
        sandbox.stop()


def _print_creates(name: str, count: int, elapsed: float, baseline: float, sandbox) -> None:
    stats = sandbox.runtime.faults.stats_json()["received"]
    calls = sum(stats.values())
    print(
        f"{name}: {count} creates one by one, {LATENCY_MS} ms latency: {elapsed:.2f} s "
        f"({elapsed / count * 1000:.0f} ms per ticket); baseline {count} x one round trip = "
        f"{baseline:.2f} s; ratio {elapsed / baseline:.2f}x; HTTP calls to Jira: {calls} "
        f"({calls / count:.2f} per create); issues on Jira: "
        f"{len(sandbox.runtime.state.all_issues())}"
    )


def bench_outbox(tmp: Path, comments: int, tickets_n: int, rate: int, window: float) -> None:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud"))
    try:
        db, engine, tickets = setup(tmp, "outbox", sandbox, tickets_n)
        state, links = sandbox.runtime.state, LinkRepository(db)
        with db.transaction() as cur:
            for i in range(1, tickets_n + 1):
                made = state.create_issue("DQ", issuetype_id="10001", summary=f"ticket {i}")
                issue = Issue(
                    made.id,
                    made.key,
                    made.summary,
                    "To Do",
                    "new",
                    "Medium",
                    None,
                    (),
                    f"{sandbox.base_url}/browse/{made.key}",
                )
                links.add_in(
                    cur,
                    anomaly_id=i,
                    connection_id=1,
                    issue=issue,
                    created_by_us=False,
                    actor="bench",
                    now=utc_now(),
                )
        changes = AnomalyChanges(db, utc_now)
        expected: Counter = Counter()
        for n in range(comments):
            anomaly = n % tickets_n + 1
            # A program making changes: automatic (the limit is off here).
            changes.comment(anomaly, "bench", f"change {n}", mode=Mode.AUTOMATIC)
            expected[(f"DQ-{anomaly}", comment_text("bench", f"change {n}"))] += 1
        sandbox.runtime.faults.update_settings({"rate_limit": rate, "rate_limit_seconds": window})
        worker = SyncWorker(
            engine,
            tickets,
            poll_s=0.05,
            refresh_interval_s=0,
            update_limit=lambda: UpdateLimit(0, 60),
        )
        started = time.perf_counter()
        worker.start()
        while engine.log.unfinished() and time.perf_counter() - started < 300:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        worker.stop()
        seen: Counter = Counter(
            (issue.key, adf_to_text(c.body)) for issue in state.all_issues() for c in issue.comments
        )
        duplicates = sum(max(0, seen[k] - expected[k]) for k in seen)
        lost = sum(max(0, expected[k] - seen[k]) for k in expected)
        stats = sandbox.runtime.faults.stats_json()
        print(
            f"[2] outbox: {comments} comments across {tickets_n} tickets under a {rate}/{window:g} s "
            f"rate limit: {elapsed:.2f} s, 429s answered by the sandbox: "
            f"{stats['injected'].get('rate_limit', 0)}, worker pauses: {worker.rate_limited}, "
            f"duplicates: {duplicates}, lost: {lost}, unfinished rows: {len(engine.log.unfinished())}"
        )
        db.close()
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=100)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--rate", type=int, default=100, help="sandbox requests per window")
    parser.add_argument("--window", type=float, default=5.0, help="rate-limit window, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_creates(Path(tmp), args.creates)
        bench_outbox(Path(tmp), args.comments, args.tickets, args.rate, args.window)


if __name__ == "__main__":
    main()
