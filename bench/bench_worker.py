"""The outbox worker at scale and under hangs (prints numbers beside baselines, asserts nothing).

    .venv/bin/python bench/bench_worker.py [--backlog 60000] [--due 10] [--timeout 30]

1. One worker pass (``run_once``: pick what is due, claim, send, record)
   with ``--backlog`` unfinished rows of which ``--due`` are due, beside the
   same pass with only the due rows unfinished (goal <= 1.5x). The backlog
   is what an automation burst past the update limit leaves: deferred rows
   on other tickets, planned an hour ahead. Rows are written by the product's
   own insert (ids from the sequence), the backlog in one INSERT ... SELECT.
   Also printed: the selection alone, in SQL (``due_heads``) and the old way
   (every unfinished row read, then ``pick_due`` in Python).
2. 500 changes over 50 tickets delivered by the running worker at 50 ms
   latency while 2 calls hang past the client's timeout (30 s, the client's
   default), beside the same without hangs (goal <= 1.2x the baseline plus
   one timeout); also when the other 48 tickets were all done. A lost call's
   late-write wait (default 2x the timeout, to find a write Jira applies
   late) is set to 0 here so the figure is the delivery, not that wait.
   Duplicates and lost changes must print 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_sync import anomalies  # noqa: E402

from lib.anomalies.changes import AnomalyChanges, Mode  # noqa: E402
from lib.jira import BasicAuth, Flavour, JiraClient, RetryPolicy, adf_to_text  # noqa: E402
from lib.jira.records import Issue  # noqa: E402
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread  # noqa: E402
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL  # noqa: E402
from lib.jira.sandbox.faults import Fault  # noqa: E402
from lib.outbox.engine import SyncEngine, utc_now  # noqa: E402
from lib.outbox.policy import ActiveJira, Backoff, UpdateLimit, pick_due  # noqa: E402
from lib.outbox.worker import SyncWorker  # noqa: E402
from lib.store.anomalies import AnomalyRepository  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.links import LinkRepository  # noqa: E402
from lib.tickets.description import comment_text  # noqa: E402

PASS_GOAL = 1.5
HANG_GOAL = 1.2


class Setup:
    """A database with ``tickets`` anomalies, each linked to its own issue on the sandbox."""

    def __init__(self, path: Path, sandbox, tickets: int, *, timeout: float = 10, senders=None):
        self.db = Database(path)
        AnomalyRepository(self.db).upsert_many(anomalies(tickets), utc_now())
        client = JiraClient(
            sandbox.base_url,
            BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
            flavour=Flavour.CLOUD,
            timeout=timeout,
            retry_policy=RetryPolicy(max_attempts=1),
        )
        active = ActiveJira(1, client, default_project="DQ", default_issue_type="Task")
        self.engine = SyncEngine(
            self.db, lambda: active, backoff=Backoff(base=0.1, cap=2), late_write_s=0
        )
        extra = {} if senders is None else {"senders": senders}
        self.worker = SyncWorker(
            self.engine, None, poll_s=0.05, refresh_interval_s=0, **extra,
            update_limit=lambda: UpdateLimit(0, 60),
        )  # fmt: skip
        self.changes = AnomalyChanges(self.db, utc_now)
        self.keys = _link_all(self.db, sandbox, tickets)

    def queue_round(self, anomaly_ids, n: int) -> Counter:
        expected: Counter = Counter()
        for anomaly in anomaly_ids:
            self.changes.comment(anomaly, "bench", f"change {n}", mode=Mode.MANUAL)
            expected[(self.keys[anomaly], comment_text("bench", f"change {n}"))] += 1
        return expected


def _link_all(db: Database, sandbox, tickets: int) -> dict[int, str]:
    state, links, keys = sandbox.runtime.state, LinkRepository(db), {}
    with db.transaction() as cur:
        for i in range(1, tickets + 1):
            made = state.create_issue("DQ", issuetype_id="10001", summary=f"ticket {i}")
            issue = Issue(made.id, made.key, made.summary, "To Do", "new", "Medium", None, (),
                          f"{sandbox.base_url}/browse/{made.key}")  # fmt: skip
            links.add_in(cur, anomaly_id=i, connection_id=1, issue=issue, created_by_us=False,
                         actor="bench", now=utc_now())  # fmt: skip
            keys[i] = made.key
    return keys


def add_backlog(db: Database, rows: int, tickets: int) -> None:
    """``rows`` deferred automatic comments over ``tickets`` other issues, an hour ahead."""
    later = utc_now() + timedelta(hours=1)
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO sync_log (created_at, action, mode, status, anomaly_id, connection_id,"
            " ticket_key, actor, body_text, body_doc, next_attempt_at)"
            " SELECT ?, 'comment', 'automatic', 'deferred', 100000 + range % ?, 1,"
            " 'BL-' || (range % ?), 'automation', 'backlog ' || range, NULL, ? FROM range(?)",
            [utc_now(), tickets, tickets, later, rows],
        )


def time_passes(setup: Setup, due: int, rounds: int) -> list[float]:
    times = []
    for n in range(rounds):
        setup.queue_round(range(1, due + 1), n)
        started = time.perf_counter()
        sent = setup.worker.run_once()
        times.append(time.perf_counter() - started)
        assert sent == due, f"the pass sent {sent} rows, not {due}"
    return times


def time_selection(setup: Setup) -> tuple[float, float]:
    now, log = utc_now(), setup.engine.log
    started = time.perf_counter()
    for _ in range(5):
        setup.engine.queue.due_heads(now, limit=50)
    in_sql = (time.perf_counter() - started) / 5
    started = time.perf_counter()
    pick_due(log.unfinished(), now, limit=50)
    return in_sql, time.perf_counter() - started


def bench_pass(tmp: Path, backlog: int, due: int, rounds: int) -> None:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud"))
    try:
        results = {}
        for name, rows in (("small", 0), ("backlog", backlog)):
            setup = Setup(tmp / f"pass-{name}.duckdb", sandbox, due)
            if rows:
                add_backlog(setup.db, rows, max(1, rows // 30))
            time_passes(setup, due, 1)  # warm-up
            results[name] = (statistics.median(time_passes(setup, due, rounds)),
                             *time_selection(setup))  # fmt: skip
            setup.db.close()
        base, big = results["small"], results["backlog"]
        ratio = big[0] / base[0]
        print(
            f"[1] worker pass, {due} due of {backlog + due:,} unfinished rows: {big[0] * 1000:.1f} ms; "
            f"baseline the same pass with {due} unfinished: {base[0] * 1000:.1f} ms; ratio "
            f"{ratio:.2f}x (goal <= {PASS_GOAL}x: {'met' if ratio <= PASS_GOAL else 'NOT met'})"
        )
        print(
            f"    selection alone: in SQL {big[1] * 1000:.1f} ms (vs {base[1] * 1000:.1f} ms "
            f"small); every unfinished row read + pick_due, the old way: {big[2] * 1000:.0f} ms"
        )
    finally:
        sandbox.stop()


def deliver_all(tmp: Path, name: str, comments: int, tickets: int, *, hangs: int, timeout: float,
                latency_ms: int, senders=None) -> tuple[float, float, int, int]:  # fmt: skip
    """Seconds until every change is on Jira, until every un-hung ticket's are, dupes, lost."""
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud", latency_ms=latency_ms))
    try:
        setup = Setup(tmp / f"{name}.duckdb", sandbox, tickets, timeout=timeout, senders=senders)
        sandbox.runtime.faults.update_settings({"hang_seconds": timeout + 0.5})
        expected: Counter = Counter()
        for n in range(comments // tickets):
            expected += setup.queue_round(range(1, tickets + 1), n)
        hung = [setup.keys[1 + i * tickets // max(1, hangs)] for i in range(hangs)]
        sandbox.runtime.faults.add_faults(  # the first comment to each of these issues hangs
            [Fault("timeout", "POST", f"/issue/{key}/comment$", count=1) for key in hung]
        )
        state = sandbox.runtime.state
        others = {key for key in setup.keys.values() if key not in hung}
        per_ticket = comments // tickets
        started = time.perf_counter()
        others_done = None
        setup.worker.start()
        while setup.engine.log.unfinished() and time.perf_counter() - started < 600:
            if others_done is None and all(
                len(state.get(key).comments) >= per_ticket for key in others
            ):
                others_done = time.perf_counter() - started
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        setup.worker.stop()
        seen: Counter = Counter(
            (issue.key, adf_to_text(c.body)) for issue in state.all_issues() for c in issue.comments
        )
        duplicates = sum(max(0, seen[k] - expected[k]) for k in seen)
        lost = sum(max(0, expected[k] - seen[k]) for k in expected)
        setup.db.close()
        return elapsed, others_done or elapsed, duplicates, lost
    finally:
        sandbox.stop()


def bench_hangs(tmp: Path, comments: int, tickets: int, timeout: float, latency_ms: int) -> None:
    common = {"timeout": timeout, "latency_ms": latency_ms}
    base, _, dup0, lost0 = deliver_all(tmp, "nohang", comments, tickets, hangs=0, **common)
    hung, others, dup, lost = deliver_all(tmp, "hang", comments, tickets, hangs=2, **common)
    goal = HANG_GOAL * base + timeout
    print(
        f"[2] {comments} changes over {tickets} tickets at {latency_ms} ms, 2 calls hanging past "
        f"the {timeout:g} s timeout: {hung:.2f} s (the other {tickets - 2} tickets done at "
        f"{others:.2f} s); baseline without hangs {base:.2f} s; ratio {hung / base:.2f}x, goal "
        f"<= {HANG_GOAL}x + one timeout = {goal:.2f} s: {'met' if hung <= goal else 'NOT met'}; "
        f"duplicates: {dup + dup0}, lost: {lost + lost0}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=60_000)
    parser.add_argument("--due", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="the client timeout (default: the client default), s",
    )
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_pass(Path(tmp), args.backlog, args.due, args.rounds)
        bench_hangs(Path(tmp), args.comments, args.tickets, args.timeout, args.latency_ms)


if __name__ == "__main__":
    main()
