"""Sync engine benchmark against the sandbox over real HTTP (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_sync.py [--creates 100] [--comments 500] [--tickets 50]

1. Create N tickets one by one against the STANDALONE sandbox
   (``python -m lib.jira.sandbox --latency-ms 50`` as a subprocess, over
   loopback TCP like a real Jira), through the one create path (an outbox row
   each, delivered at once by the engine: one POST, no GET), printed beside
   its baseline measured in the same run (N x one round trip: the same create
   body POSTed N times on a kept-alive ``requests`` session, no database) and
   the ratio (goal <= 1.3x); then the same through the automation command.
2. The outbox delivering M queued comments across T tickets while the sandbox
   rate-limits (429 with Retry-After): elapsed time, 429s seen, duplicates
   (comments on Jira minus distinct expected) and lost changes (expected minus
   delivered). Both must print 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

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


def setup(tmp: Path, name: str, base_url: str, count: int, timeout: float = 10):
    db = Database(tmp / f"{name}.duckdb")
    AnomalyRepository(db).upsert_many(anomalies(count), utc_now())
    client = JiraClient(
        base_url,
        BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
        flavour=Flavour.CLOUD,
        timeout=timeout,
        retry_policy=RetryPolicy(max_attempts=1),
    )
    active = ActiveJira(1, client, default_project="DQ", default_issue_type="Task")
    engine = SyncEngine(db, lambda: active, backoff=Backoff(base=0.1, cap=5), reconcile_confirm_s=1)
    return db, engine, TicketService(db, engine, "http://desk.bench")


LATENCY_MS = 50
CREATE_GOAL = 1.3
WARM_UP = 3  # creates before the clock starts: first queries, connection, imports


@contextlib.contextmanager
def standalone_sandbox(latency_ms: int):
    """``python -m lib.jira.sandbox`` in a subprocess; yields its base URL once it answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib.jira.sandbox", "--port", "0", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = re.search(r"at (http://\S+)", proc.stdout.readline()).group(1)
        deadline = time.monotonic() + 10
        while True:  # the socket is bound before uvicorn listens: wait for an answer
            try:
                requests.get(base_url + "/rest/api/3/serverInfo", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sandbox_json(base_url: str, path: str, body: dict | None = None) -> dict:
    if body is None:
        return requests.get(base_url + path, timeout=5).json()
    answer = requests.post(base_url + path, json=body, timeout=5)
    answer.raise_for_status()
    return answer.json() if answer.content else {}


def round_trips(base_url: str, body: dict, count: int) -> float:
    """The baseline: ``count`` x the create POST alone, on one kept-alive session."""
    with requests.Session() as session:
        session.auth = (DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN)
        session.post(base_url + "/rest/api/3/issue", json=body, timeout=10).raise_for_status()
        started = time.perf_counter()
        for _ in range(count):
            session.post(base_url + "/rest/api/3/issue", json=body, timeout=10).raise_for_status()
        return time.perf_counter() - started


def bench_creates(tmp: Path, count: int) -> None:
    with standalone_sandbox(LATENCY_MS) as base_url:
        db, engine, tickets = setup(tmp, "creates", base_url, count + WARM_UP)
        for i in range(count + 1, count + WARM_UP + 1):  # as the baseline's first POST
            tickets.create_ticket(i, summary=f"Warm-up {i}", actor="bench")
        before = _calls(base_url)
        started = time.perf_counter()
        for i in range(1, count + 1):
            tickets.create_ticket(i, summary=f"Bench ticket {i}", actor="bench")
        elapsed = time.perf_counter() - started
        calls = _calls(base_url) - before
        body = json.loads(engine.log.recent(1)[0].request_json)
        baseline = round_trips(base_url, body, count)
        _print_creates("[1] dialog path", count, elapsed, baseline, calls)
        automation = AutomationService(db, engine, engine.client_provider)
        before = _calls(base_url)
        started = time.perf_counter()
        for i in range(1, count + 1):
            automation.run(f"bench-{i}|CREATE|summary;Bench ticket {i}")
        elapsed = time.perf_counter() - started
        _print_creates("[1b] automation path", count, elapsed, baseline, _calls(base_url) - before)
        db.close()


def _calls(base_url: str) -> int:
    return sum(sandbox_json(base_url, "/_sandbox/stats")["received"].values())


def _print_creates(name: str, count: int, elapsed: float, baseline: float, calls: int) -> None:
    ratio = elapsed / baseline
    print(
        f"{name}: {count} creates one by one, standalone sandbox at {LATENCY_MS} ms: "
        f"{elapsed:.2f} s ({elapsed / count * 1000:.0f} ms per ticket); baseline {count} x one "
        f"round trip = {baseline:.2f} s ({baseline / count * 1000:.0f} ms); ratio {ratio:.2f}x "
        f"(goal <= {CREATE_GOAL}x: {'met' if ratio <= CREATE_GOAL else 'NOT met'}); "
        f"HTTP calls to Jira: {calls} ({calls / count:.2f} per create); {_load()}"
    )


def _load() -> str:
    """The machine's load: the ratio is of our own work, so a busy machine inflates it."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def bench_outbox(tmp: Path, comments: int, tickets_n: int, rate: int, window: float) -> None:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud"))
    try:
        db, engine, tickets = setup(tmp, "outbox", sandbox.base_url, tickets_n)
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
