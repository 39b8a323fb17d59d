"""Inbound poll benchmark against the sandbox over real HTTP (prints numbers, asserts nothing).

    .venv/bin/python bench/bench_inbound.py [--links 1000] [--changed 50] [--latency-ms 50]
        [--flavour cloud|dc|both]

1,000 linked tickets (issues made in the sandbox an hour ago, one link each),
polled once to learn them; then a colleague changes 50 of them in Jira (half
commented, half moved to Done, as the sandbox's second user over REST); then
one poll at 50 ms sandbox latency. Printed: the Jira calls that poll made
(counted by the sandbox) beside the goal (10 calls + 1 per changed ticket's
comments) and the ratio, the time it took beside the per-link refresh it
replaces (one GET per linked ticket, estimated from measured GETs), and what
it found (changed, new comments) beside what was changed. Cloud
(``/rest/api/3/search/jql``, token paging) and Data Center (``/rest/api/2/search``,
startAt paging), one after the other.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.jira import BasicAuth, BearerAuth, Flavour, JiraClient, RetryPolicy  # noqa: E402
from lib.jira.records import Issue  # noqa: E402
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread  # noqa: E402
from lib.jira.sandbox.config import (  # noqa: E402
    DEMO_CLOUD_API_TOKEN,
    DEMO_CLOUD_EMAIL,
    DEMO_DC_PAT,
    OTHER_CLOUD_API_TOKEN,
    OTHER_CLOUD_EMAIL,
)
from lib.outbox.engine import utc_now  # noqa: E402
from lib.outbox.policy import ActiveJira  # noqa: E402
from lib.store.anomalies import AnomalyRepository  # noqa: E402
from lib.store.db import Database  # noqa: E402
from lib.store.links import LinkRepository  # noqa: E402
from lib.tickets.inbound import InboundPoll  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import anomalies  # noqa: E402


def calls_made(sandbox) -> int:
    stats = requests.get(sandbox.base_url + "/_sandbox/stats", timeout=10).json()
    return sum(stats["received"].values())


def seed(sandbox, db: Database, count: int) -> list[str]:
    """``count`` issues last updated an hour ago, each linked to its own anomaly."""
    state, hour_ago = sandbox.runtime.state, datetime.now(UTC) - timedelta(hours=1)
    AnomalyRepository(db).upsert_many(anomalies(count), utc_now())
    links, keys = LinkRepository(db), []
    with db.transaction() as cur:
        for n in range(1, count + 1):
            made = state.create_issue("DQ", issuetype_id="10001", summary=f"Ticket {n}")
            made.created = made.updated = hour_ago
            issue = Issue(made.id, made.key, made.summary, None, None, None, None, (), "")
            links.add_in(
                cur,
                anomaly_id=n,
                connection_id=1,
                issue=issue,
                created_by_us=True,
                actor="bench",
                now=utc_now(),
            )
            keys.append(made.key)
    return keys


def colleague_changes(sandbox, keys: list[str]) -> None:
    session = requests.Session()
    session.auth = (OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN)
    api = sandbox.base_url + "/rest/api/3"
    for n, key in enumerate(keys):
        if n % 2:
            session.post(f"{api}/issue/{key}/transitions", json={"transition": {"id": "31"}})
        else:
            body = {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "seen"}]}],
            }
            session.post(f"{api}/issue/{key}/comment", json={"body": body})


def one_get_s(client: JiraClient, key: str, tries: int = 10) -> float:
    started = time.perf_counter()
    for _ in range(tries):
        client.get_issue(key)
    return (time.perf_counter() - started) / tries


def client_for(sandbox, flavour: str) -> JiraClient:
    if flavour == "cloud":
        auth, kind = BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN), Flavour.CLOUD
    else:
        auth, kind = BearerAuth(DEMO_DC_PAT), Flavour.DATA_CENTER
    return JiraClient(
        sandbox.base_url, auth, flavour=kind, timeout=30, retry_policy=RetryPolicy(max_attempts=1)
    )


def run(flavour: str, args: argparse.Namespace) -> None:
    # "both": v3 answers as Cloud (/search/jql), v2 as Data Center (/search with startAt).
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    client = client_for(sandbox, flavour)
    active = ActiveJira(1, client)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "inbound.duckdb")
        keys = seed(sandbox, db, args.links)
        poll = InboundPoll(db, utc_now)
        poll.poll(active, sweep=True)  # learns every ticket (and the account, once)
        colleague_changes(sandbox, keys[:: max(1, args.links // args.changed)][: args.changed])
        sandbox.runtime.faults.update_settings({"latency_ms": args.latency_ms})
        before = calls_made(sandbox)
        started = time.perf_counter()
        result = poll.poll(active, sweep=False)
        elapsed = time.perf_counter() - started
        calls = calls_made(sandbox) - before
        get_s = one_get_s(client, keys[0])
        db.close()
    sandbox.stop()
    goal = 10 + args.changed
    old_s = args.links * get_s
    path = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    print(
        f"Poll of {args.links:,} linked tickets, {args.changed} changed, "
        f"{args.latency_ms} ms latency ({flavour}, {path}):"
    )
    print(
        f"  Jira calls      {calls:>8}   goal <= {goal} (10 + 1 per changed)   ratio {calls / goal:.2f}"
    )
    print(
        f"  time            {elapsed:>7.2f}s   per-link refresh ({args.links:,} GETs x "
        f"{get_s * 1000:.0f} ms) {old_s:.1f}s   ratio {elapsed / old_s:.3f}"
    )
    print(
        f"  found changed   {result.changed:>8}   changed {args.changed}   "
        f"new Jira comments {result.new_comments} of {(args.changed + 1) // 2}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--flavour", choices=("cloud", "dc", "both"), default="both")
    args = parser.parse_args()
    for flavour in ("cloud", "dc") if args.flavour == "both" else (args.flavour,):
        run(flavour, args)


if __name__ == "__main__":
    main()
