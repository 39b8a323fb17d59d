"""Fixtures for the sync engine: a migrated database with anomalies and the sandbox over HTTP.

Each test gets a ``Harness`` for one flavour (Cloud v3 / Data Center v2) on a
freshly reset sandbox, with short backoffs so faults recover in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

from lib.anomalies.changes import AnomalyChanges
from lib.jira import BasicAuth, BearerAuth, Flavour, JiraClient, RetryPolicy, adf_to_text
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL, DEMO_DC_PAT
from lib.outbox.engine import SyncEngine, utc_now
from lib.outbox.policy import ActiveJira, Backoff, UpdateLimit
from lib.outbox.worker import SyncWorker
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import Anomaly, FailedCheck
from lib.tickets.service import TicketService
from tests.waiting import wait_until

DETECTED = datetime(2025, 12, 21, 1, 48, 42)
PUBLIC_URL = "http://desk.test"
CHANGE_TIME = datetime(2024, 1, 15, 10, 30, 0)


def make_anomaly(
    ident: int = 1, message: str = "8 values in CUSTOMER_NAME were resolved to 7 distinct entities"
) -> Anomaly:
    return Anomaly(
        ident,
        7,
        "Warehouse",
        "CUSTOMERS",
        ("CUSTOMER_NAME", "CUSTOMER_ID"),
        "shape",
        "Active",
        None,
        DETECTED,
        "desc",
        5,
        ("crm",),
        (
            FailedCheck(100 + ident, "entityResolution", message),
            FailedCheck(200 + ident, "notNull", "2 values in CUSTOMER_ID are null"),
        ),
    )


def make_client(base_url: str, flavour: str, timeout: float = 1.0) -> JiraClient:
    if flavour == "cloud":
        return JiraClient(
            base_url,
            BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
            flavour=Flavour.CLOUD,
            timeout=timeout,
            retry_policy=RetryPolicy(max_attempts=1),
        )
    return JiraClient(
        base_url,
        BearerAuth(DEMO_DC_PAT),
        flavour=Flavour.DATA_CENTER,
        timeout=timeout,
        retry_policy=RetryPolicy(max_attempts=1),
    )


def plain(body) -> str:
    """A sandbox comment body as the text a reader sees (ADF flattened / wiki unescaped)."""
    if isinstance(body, dict):
        return adf_to_text(body)
    return re.sub(r"\\(.)", r"\1", body.replace("&#92;", "\\"))


class FixedClock:
    """The time of anomaly changes (the texts carry it), advanced by hand."""

    def __init__(self, start: datetime = CHANGE_TIME):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    flavour: str
    sandbox: object
    db: Database
    client: JiraClient
    engine: SyncEngine
    tickets: TicketService
    worker: SyncWorker
    changes: AnomalyChanges  # every call names its mode
    change_clock: FixedClock
    active: ActiveJira | None

    @property
    def state(self):
        return self.sandbox.runtime.state

    def comments(self, key: str) -> list[str]:
        return [plain(c.body) for c in self.state.get(key).comments]

    def stats(self) -> dict:
        return requests.get(self.sandbox.base_url + "/_sandbox/stats", timeout=5).json()

    def fault(self, **fault) -> None:
        requests.post(
            self.sandbox.base_url + "/_sandbox/faults", json=fault, timeout=5
        ).raise_for_status()

    def settings(self, **values) -> None:
        requests.post(
            self.sandbox.base_url + "/_sandbox/settings", json=values, timeout=5
        ).raise_for_status()

    def log_rows(self, **where) -> list:
        rows = list(reversed(self.engine.log.recent(1000)))
        return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]

    def drain(self, timeout: float = 15.0) -> None:
        """Run worker passes until nothing is pending (or fail after ``timeout``)."""

        def drained() -> bool:
            if self.engine.log.unfinished():
                self.worker.run_once()
            return not self.engine.log.unfinished()

        # Short interval: rows wait on the test backoffs (50-300 ms), not on a clock.
        wait_until(drained, timeout, "the outbox draining", interval=0.02)


@pytest.fixture(scope="session")
def sandboxes():
    running = {
        name: start_sandbox_in_thread(SandboxConfig(flavour=name)) for name in ("cloud", "dc")
    }
    yield running
    for sandbox in running.values():
        sandbox.stop()


def build_harness(
    sandbox,
    flavour: str,
    db: Database,
    *,
    connection_id: int = 1,
    client_timeout: float = 1.0,
    reconcile_confirm_s: float = 0.2,
    late_write_s: float | None = 0.2,
) -> Harness:
    """``late_write_s=None`` lets the engine derive the late-write wait from the client timeout."""
    client = make_client(sandbox.base_url, flavour, timeout=client_timeout)
    holder: dict = {
        "active": ActiveJira(connection_id, client, default_project="DQ", default_issue_type="Task")
    }
    engine = SyncEngine(
        db,
        lambda: holder["active"],
        backoff=Backoff(base=0.05, cap=0.3),
        reconcile_confirm_s=reconcile_confirm_s,
        late_write_s=late_write_s,
        claim_token=f"test-{id(holder)}",
    )
    tickets = TicketService(db, engine, PUBLIC_URL)
    worker = SyncWorker(
        engine, tickets, poll_s=0.05, refresh_interval_s=0, update_limit=lambda: UpdateLimit(0, 60)
    )
    change_clock = FixedClock()
    changes = AnomalyChanges(db, change_clock, on_enqueued=engine.notify)
    harness = Harness(
        flavour,
        sandbox,
        db,
        client,
        engine,
        tickets,
        worker,
        changes,
        change_clock,
        holder["active"],
    )
    harness.holder = holder
    return harness


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "sync.duckdb")
    AnomalyRepository(database).upsert_many([make_anomaly(1), make_anomaly(2)], utc_now())
    yield database
    database.close()


@pytest.fixture(params=["cloud", "dc"])
def harness(request, sandboxes, db):
    sandbox = sandboxes[request.param]
    sandbox.runtime.reset()
    sandbox.runtime.faults.update_settings({"hang_seconds": 2.0})
    h = build_harness(sandbox, request.param, db)
    yield h
    h.worker.stop(timeout=2)


@pytest.fixture
def cloud_harness(sandboxes, db):
    sandbox = sandboxes["cloud"]
    sandbox.runtime.reset()
    sandbox.runtime.faults.update_settings({"hang_seconds": 2.0})
    h = build_harness(sandbox, "cloud", db)
    yield h
    h.worker.stop(timeout=2)
