"""How fast the Log page's searches answer with 1,000,000 log rows, beside raw DuckDB.

The data is built the way the product writes it: a seed of rows goes through
the sync log's own writers (``SyncLog.insert_in``, then ``finish_ok_in`` or
``fail_in``), with request bodies from the outbox's payload builder and error
texts from the Jira client's one error builder (``error_from_response``: the
long "Jira answered HTTP 400 to PUT /rest/api/3/issue/DQ-12: ... hint"
messages the Log really holds). The seed is then repeated in SQL up to N rows
over 180 days, each copy with its own ids, times, anomalies and ticket keys
(DQ-1 .. DQ-90000, also inside the error texts).

For each search it times (median of several runs) what the Log page does
(``LogService.page``: the first page and the count of matches) beside the
same filter written by hand in DuckDB (the page query and a count, literal
ILIKE patterns: the raw baseline), and the ratio; the goal is <= 2x the raw
baseline and under 100 ms. "before" is what the page ran before its search
was made one scan (ILIKE ... ESCAPE on both columns, then a count). The
page's answer is kept until the next write, so each timed run of "ours"
follows an empty write: what is timed is a search typed anew, never a kept
answer. Last,
the sidebar's status call (it runs on every rerun of every page) beside its
aggregate by hand, after a write and kept (a rerun with nothing written). It checks only that both find the same matches.

    .venv/bin/python bench/bench_log_search.py [--rows 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.jira.errors import error_from_response, error_kind  # noqa: E402
from lib.outbox.health import IntegrationHealth  # noqa: E402
from lib.outbox.payload import create_request  # noqa: E402
from lib.reporting.integration import IntegrationStatusService  # noqa: E402
from lib.reporting.log_service import LogFilter, LogService  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.sync_log import SyncLog, to_json  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0)
DAYS = 180
SEED = 1000
KEYS = 90_000
HOST = "https://acme.atlassian.net"
ACTIONS = ("create", "update", "comment", "comment", "comment", "link", "refresh", "update")
FAILURES = (  # status, Jira's JSON body, method, path template
    (400, {"errors": {"priority": "Priority name 'Urgent' is not valid"}}, "PUT", "/issue/{key}"),
    (404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
     "POST", "/issue/{key}/comment"),
    (429, {"errorMessages": ["Rate limit exceeded."]}, "POST", "/issue/{key}/comment"),
    (503, {"errorMessages": ["Service unavailable"]}, "POST", "/issue"),
    (401, {"errorMessages": ["Client must be authenticated to access this resource."]},
     "GET", "/issue/{key}"),
)  # fmt: skip
SEARCHES = {
    "key 'DQ-4711'": "DQ-4711",
    "text 'rate limit'": "rate limit",
    "text 'not valid'": "not valid",
    "text 'no such words'": "no such words",
}
PAGE_COLUMNS = "id, created_at, mode, status, action, anomaly_id, ticket_id, ticket_key,"
PAGE_COLUMNS += " ticket_url, error, error_kind"


def jira_error(status: int, body: dict, method: str, path: str):
    """The JiraError the client builds for this answer (its message is what the Log keeps)."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    answer.url = f"{HOST}/rest/api/3{path}"
    answer.request = requests.Request(method, answer.url).prepare()
    return error_from_response(answer, "cloud")


def seed(db: Database) -> None:
    """SEED rows through the sync log's writers, as the engine leaves them."""
    with db.transaction() as cur:
        for i in range(1, SEED + 1):
            key, action = f"DQ-{i}", ACTIONS[i % len(ACTIONS)]
            request = create_request(
                {"project": {"key": "DQ"}, "summary": f"Nulls in ORDERS_{i}.amount"},
                idempotency_key=f"anomaly-desk-{i}",
                request_id=f"req-{i}",
                owner={"anomaly_id": i},
            )
            log_id = SyncLog.insert_in(
                cur,
                now=NOW,
                action=action,
                mode="automatic" if i % 10 < 7 else "manual",
                status="sending",
                anomaly_id=i,
                connection_id=1,
                ticket_key=key,
                ticket_url=f"{HOST}/browse/{key}",
                actor="analyst",
                request_json=to_json({"fields": request.fields}),
                attempts=1,
            )
            if i % 12 == 0:  # ~8% fail, as in the bench of the Statistics page
                status, body, method, path = FAILURES[(i // 12) % len(FAILURES)]
                error = jira_error(status, body, method, path.format(key=key))
                SyncLog.fail_in(
                    cur, log_id, now=NOW, error=str(error), error_kind=str(error_kind(error))
                )
            elif i % 31 != 0:
                SyncLog.finish_ok_in(
                    cur, log_id, now=NOW, response_json='{"status": 204}', latency_ms=80.0
                )


def repeat(db: Database, rows: int) -> None:
    """The seed copied up to ``rows``: new ids, times over DAYS, anomalies and keys."""
    copies = -(-rows // SEED)
    step_us = DAYS * 86_400_000_000 // rows
    with db.transaction() as cur:
        cur.execute("CREATE TEMP TABLE seed AS SELECT * FROM sync_log")
        cur.execute("DELETE FROM sync_log")
        cur.execute(
            f"""
            INSERT INTO sync_log BY NAME
            SELECT * EXCLUDE (new_key) REPLACE (
                'DQ-' || new_key AS ticket_key,
                '{HOST}/browse/DQ-' || new_key AS ticket_url,
                replace(error, '/' || ticket_key, '/DQ-' || new_key) AS error,
                1 + (hash(id) % 100000)::BIGINT AS anomaly_id)
            FROM (
                SELECT s.* REPLACE (
                    (c.n * {SEED} + s.id)::BIGINT AS id,
                    ?::TIMESTAMP + to_microseconds(((c.n * {SEED} + s.id) * {step_us})::BIGINT)
                        AS created_at),
                    1 + (c.n * {SEED} + s.id) % {KEYS} AS new_key
                FROM seed s CROSS JOIN range(?) c(n)
                WHERE c.n * {SEED} + s.id <= ?)
            """,
            [NOW - timedelta(days=DAYS), copies, rows],
        )
        cur.execute("DROP TABLE seed")


def timed(fn, runs: int, before=lambda: None) -> tuple[float, float]:
    """(median, best) in ms; the best shows the figure on a machine others share."""
    fn()  # warm up: the first run reads the file into DuckDB's buffer pool
    samples = []
    for _ in range(runs):
        before()  # untimed
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def before(db: Database, text: str):
    """What the Log page ran before its one scan: ILIKE ... ESCAPE on both columns, a count."""
    pattern = "%" + text + "%"
    where = " WHERE (ticket_key ILIKE ? ESCAPE '\\' OR error ILIKE ? ESCAPE '\\')"

    def run() -> None:
        with db.read() as cur:
            rows = cur.execute(
                f"SELECT {PAGE_COLUMNS} FROM sync_log{where} ORDER BY id DESC LIMIT 50",
                [pattern, pattern],
            ).fetchall()
            if len(rows) == 50:
                cur.execute(f"SELECT count(*) FROM sync_log{where}", [pattern, pattern]).fetchone()

    return run


def raw(db: Database, text: str):
    """The same filter by hand: a page of 50 and the count, literal ILIKE patterns."""
    quoted = "'%" + text.replace("'", "''") + "%'"
    where = f" WHERE ticket_key ILIKE {quoted} OR error ILIKE {quoted}"

    def run() -> int:
        with db.read() as cur:
            cur.execute(
                f"SELECT {PAGE_COLUMNS} FROM sync_log{where} ORDER BY id DESC LIMIT 50"
            ).fetchall()
            return cur.execute(f"SELECT count(*) FROM sync_log{where}").fetchone()[0]

    return run


def a_write(db: Database):
    """An empty committed write: the page's answer is kept until the next write, and a
    search typed anew is never a kept one, so each timed run follows a write."""

    def run() -> None:
        with db.transaction():
            pass

    return run


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def sidebar(db: Database, runs: int) -> None:
    """Every page's sidebar: the one status call (health from memory, the outbox aggregate)."""
    connection = SimpleNamespace(id=1, kind="cloud", label="Jira Cloud", flavour="cloud")
    service = IntegrationStatusService(
        db, IntegrationHealth(db, lambda: NOW), lambda: connection, lambda: NOW
    )
    service.status()

    def by_hand() -> None:
        with db.read() as cur:
            cur.execute(
                "SELECT count(*), min(created_at) FROM sync_log"
                " WHERE status IN ('pending', 'sending', 'deferred')"
            ).fetchone()

    def write_nothing() -> None:  # the outbox depth is kept until the next write
        with db.transaction():
            pass

    ours, theirs = timed(service.status, runs, write_nothing), timed(by_hand, runs)
    kept = timed(service.status, runs)
    print(
        f"{'sidebar status (after a write)':<32}{ours[0]:>8.1f}/{ours[1]:<5.1f}"
        f"{theirs[0]:>8.1f}/{theirs[1]:<5.1f}{ours[0] / theirs[0]:>6.2f}x"
    )
    print(f"{'sidebar status (kept, no write)':<32}{kept[0]:>8.2f}/{kept[1]:<5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        started = time.perf_counter()
        seed(db)
        repeat(db, args.rows)
        print(f"built {args.rows:,} log rows in {time.perf_counter() - started:.1f} s; {load()}")
        log = LogService(db, clock=lambda: NOW, retry=lambda log_id: None)
        print(
            f"\n{'Log page search':<24}{'matches':>8}{'ours ms':>14}{'raw ms':>14}"
            f"{'ratio':>7}{'before ms':>11}"
        )
        print(f"{'':<32}{'median/best':>14}{'median/best':>14}{'':>7}{'median':>11}")
        for name, text in SEARCHES.items():
            flt = LogFilter(text=text)
            matches = log.page(flt).total
            assert matches == raw(db, text)(), name  # the same answer, or the figure means nothing
            ours = timed(lambda f=flt: log.page(f), args.runs, before=a_write(db))
            theirs = timed(raw(db, text), args.runs)
            old = timed(before(db, text), args.runs)
            print(
                f"{name:<24}{matches:>8,}{ours[0]:>8.1f}/{ours[1]:<5.1f}"
                f"{theirs[0]:>8.1f}/{theirs[1]:<5.1f}{ours[0] / theirs[0]:>6.2f}x{old[0]:>11.1f}"
            )
        sidebar(db, args.runs)
        print(load())
        db.close()
    print("\ngoal: ours <= 2x raw and under 100 ms (raw: the page query and a count by hand)")


if __name__ == "__main__":
    main()
