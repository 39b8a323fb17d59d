"""kill -9 of the dashboard at seeded-random moments loses and duplicates nothing.

One dashboard in demo mode (the sandbox at ``/sandbox`` is its Jira, its state
in ``<db>.sandbox.json``) gets a seeded mix of API work: ticket creates (with an
Idempotency-Key), acknowledge/archive/reopen and comments. A few times the
process is SIGKILLed a seeded delay after a call starts, so the kill lands in
the call itself or in the worker's sending of what it queued; the dashboard is
restarted on the same database and port, and a call whose answer was lost is
retried the way a careful script would (a create with the same key; a status
change or comment only when the anomaly does not show it yet, since those two
have no Idempotency-Key). At the end the outbox drains and the sandbox, read
over its own REST API, must hold exactly one issue per created anomaly and, on
each, every status change and comment exactly once, in order.
"""

from __future__ import annotations

import json
import random
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests

from lib.jira import adf_to_text
from lib.jira.demo_credentials import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL
from tests.edges.server import DashboardProcess, free_port, start_dashboard
from tests.waiting import wait_until

SEED = 20261204
KILLS = 4
ANOMALIES = 4
OPS_PER_ANOMALY = 4  # after its create: status changes and comments
KILL_DELAY_S = (0.0, 0.25)  # after the call starts: in the call, or in the worker's send
# Active -> Acknowledged -> Archived -> Active: each step is allowed by the workflow.
NEXT_STATUS = {"Active": "Acknowledged", "Acknowledged": "Archived", "Archived": "Active"}
STATUS_TEXT = {
    "Acknowledged": "Anomaly Status: Acknowledged",
    "Archived": "Anomaly Status: Archived (Resolved)",
    "Active": "Anomaly Status: Active",
}


@dataclass(frozen=True)
class Op:
    kind: str  # create | status | comment
    anomaly_id: int
    value: str = ""  # the target status, or the comment's text


@dataclass(frozen=True)
class Kill:
    """When to SIGKILL: ``delay`` s after the call starts, or on the sandbox's next write."""

    delay: float
    on_jira_write: bool


@dataclass
class Desk:
    """The running dashboard, restarted on the same database and port after each kill."""

    data: Path
    port: int
    server: DashboardProcess | None = None
    session: requests.Session = field(default_factory=requests.Session)
    restarts: int = 0
    kills: list = field(default_factory=list)  # (op, kill, answer): shown when a check fails

    def start(self) -> None:
        url = f"http://127.0.0.1:{self.port}"
        env = {"ANOMALY_DESK_PUBLIC_URL": url, "ANOMALY_DESK_DASHBOARD_URL": url}
        self.server = start_dashboard(self.data, port=self.port, env=env)
        token_file = self.server.db_path.with_name(self.server.db_path.name + ".api_token")
        self.session.headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"

    def kill_and_restart(self) -> None:
        assert self.server is not None
        self.server.proc.wait(timeout=30)  # the timer's SIGKILL has landed
        assert self.server.proc.returncode == -signal.SIGKILL
        self.restarts += 1
        self.start()

    def sandbox_written(self) -> int:
        """The sandbox state file's change time (ns); it is rewritten before every answer."""
        path = self.data / "e2e.duckdb.sandbox.json"
        return path.stat().st_mtime_ns if path.exists() else 0

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        assert self.server is not None
        return self.session.request(method, f"{self.server.url}/api{path}", timeout=30, **kwargs)

    def sandbox(self, path: str, **params) -> dict | list:
        assert self.server is not None
        answer = requests.get(
            f"{self.server.url}/sandbox/rest/api/3{path}",
            params=params,
            auth=(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()


def plan(anomaly_ids: list[int], rng: random.Random) -> list[Op]:
    """Creates first per anomaly, then a shuffled mix of its status changes and comments."""
    status = {ident: "Active" for ident in anomaly_ids}
    queues: dict[int, list[Op]] = {ident: [Op("create", ident)] for ident in anomaly_ids}
    for ident in anomaly_ids:
        for n in range(OPS_PER_ANOMALY):
            if rng.random() < 0.5:
                status[ident] = NEXT_STATUS[status[ident]]
                queues[ident].append(Op("status", ident, status[ident]))
            else:
                queues[ident].append(Op("comment", ident, f"crash check {ident}.{n}"))
    ops: list[Op] = []
    while any(queues.values()):  # interleave anomalies, each one's own order kept
        ident = rng.choice([i for i, queue in queues.items() if queue])
        ops.append(queues[ident].pop(0))
    return ops


def kill_plan(ops: list[Op], rng: random.Random) -> dict[int, Kill]:
    """Half the kills at a seeded delay, half on the worker's write of a change to Jira."""
    changes = [i for i, op in enumerate(ops) if op.kind != "create"]
    on_write = rng.sample(changes, KILLS // 2)
    timed = rng.sample([i for i in range(len(ops)) if i not in on_write], KILLS - KILLS // 2)
    plan = {i: Kill(0.0, True) for i in on_write}
    plan.update({i: Kill(rng.uniform(*KILL_DELAY_S), False) for i in timed})
    return plan


def send(desk: Desk, op: Op) -> requests.Response:
    if op.kind == "create":
        return desk.api(
            "POST",
            f"/integrations/ticketing/anomalies/{op.anomaly_id}/tickets",
            headers={"Idempotency-Key": f"crash-{SEED}-{op.anomaly_id}"},
            json={"title": f"Crash check {op.anomaly_id}", "description": "Recovery run."},
        )
    if op.kind == "status":
        body = {"status": op.value}
        if op.value == "Archived":
            body["archive_reason"] = "Resolved"
        return desk.api("PATCH", f"/anomalies/{op.anomaly_id}", json=body)
    return desk.api("POST", f"/anomalies/{op.anomaly_id}/comments", json={"text": op.value})


def landed(desk: Desk, op: Op) -> bool:
    """Did a call whose answer was lost take effect? (Creates are retried by key instead.)"""
    if op.kind == "status":
        return desk.api("GET", f"/anomalies/{op.anomaly_id}").json()["status"] == op.value
    comments = desk.api("GET", f"/anomalies/{op.anomaly_id}/comments").json()
    return any(c["body"] == op.value for c in comments)


def run(desk: Desk, op: Op, kill: Kill | None, done: list[Op]) -> None:
    """Send ``op``; with ``kill``, SIGKILL the dashboard at that moment, then recover."""
    timer = None
    before = desk.sandbox_written()
    if kill is not None and kill.on_jira_write is False:
        timer = threading.Timer(kill.delay, desk.server.proc.send_signal, [signal.SIGKILL])
        timer.start()
    try:
        answer = send(desk, op)
    except requests.ConnectionError:
        answer = None  # the answer was lost with the process
    if kill is not None:
        if timer is not None:
            timer.join()
        else:  # right after the sandbox stored the worker's write, before the outbox row is ok
            wait_until(
                lambda: desk.sandbox_written() != before, 10, "the worker's write", interval=0.0002
            )
            desk.server.proc.send_signal(signal.SIGKILL)
        desk.kill_and_restart()
        desk.kills.append((op, kill, "lost" if answer is None else answer.status_code))
        if answer is None and op.kind != "create" and landed(desk, op):
            done.append(op)  # stored before the kill: the dashboard must still send it
            return
        if answer is None:
            answer = send(desk, op)
    assert answer.ok, (op, answer.status_code, answer.text, desk.kills)
    done.append(op)


def comment_texts(desk: Desk, key: str) -> list[str]:
    page = desk.sandbox(f"/issue/{key}/comment", maxResults=5000)
    return [adf_to_text(c["body"]).strip() for c in page["comments"]]


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(SEED)
    desk = Desk(tmp_path, free_port())
    desk.start()
    try:
        listed = desk.api("GET", "/anomalies", params={"status": "Active", "size": 50}).json()
        anomaly_ids = sorted(rng.sample([a["id"] for a in listed["items"]], ANOMALIES))
        ops = plan(anomaly_ids, rng)
        kill_at = kill_plan(ops, rng)
        done: list[Op] = []
        for index, op in enumerate(ops):
            run(desk, op, kill_at.get(index), done)
        assert desk.restarts == KILLS

        wait_until(
            lambda: desk.api("GET", "/health").json()["outbox_depth"] == 0,
            30,
            "the outbox draining after the restarts",
        )
        unfinished = desk.api("GET", "/sync-log", params={"status": ["Failed"]}).json()
        assert unfinished["total"] == 0, unfinished

        everything = desk.sandbox(
            "/search/jql", jql="project = DQ", fields="labels", maxResults=100
        )
        assert len(everything["issues"]) == ANOMALIES, everything  # no stray or doubled issue
        for ident in anomaly_ids:
            found = desk.sandbox(
                "/search/jql", jql=f"labels = anomaly-desk-{ident}", fields="labels"
            )["issues"]
            assert len(found) == 1, (ident, found)
            expected = [
                STATUS_TEXT[op.value] if op.kind == "status" else op.value
                for op in done
                if op.anomaly_id == ident and op.kind != "create"
            ]
            seen = comment_texts(desk, found[0]["key"])
            assert len(seen) == len(expected), (ident, seen, expected, desk.kills)
            for text, want in zip(seen, expected, strict=True):
                assert want in text, (ident, seen, expected, desk.kills)  # once each, in order
    finally:
        if desk.server is not None:
            assert desk.server.stop() == 0, desk.server.output()[-2000:]
    # The sandbox's own file, read after a clean stop, says the same: one issue per create.
    stored = json.loads((tmp_path / "e2e.duckdb.sandbox.json").read_text())["issues"]
    labels = sorted(label for issue in stored for label in issue["labels"] if "desk-" in label)
    assert labels == sorted(f"anomaly-desk-{ident}" for ident in anomaly_ids), stored
