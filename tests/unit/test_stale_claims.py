"""After a crash, rows the dead process held in ``sending`` wait for a late write, or not.

A real Jira may still apply the dead process's last request, so the engine
looks for it only after the late-write wait. Demo mode's sandbox lived in that
process: nothing of it can land later, so its rows are looked for at once
(without this, every kill -9 of a demo dashboard held that ticket's sync for a
minute: twice the client's 30 s timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from lib.outbox.engine import SyncEngine
from lib.outbox.policy import ActiveJira
from lib.store.db import Database
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 1, 2, 3, 4, 5)


@dataclass
class _Client:
    timeout: float = 30.0


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "stale.duckdb")
    yield database
    database.close()


def _left_sending(db: Database) -> int:
    """A comment row a dead process was sending when it was killed."""
    with db.transaction() as cur:
        log_id = SyncLog.insert_in(
            cur,
            now=NOW,
            action="comment",
            mode="manual",
            status="pending",
            connection_id=1,
            ticket_key="DQ-1",
            body_text="Comment from Anomaly Desk (ana): hello",
        )
    SyncLog(db).mark_sending(log_id, "the-dead-process")
    return log_id


@pytest.mark.parametrize(("in_process", "wait_s"), [(False, 60.0), (True, 0.0)])
def test_recovered_claims_wait_for_a_late_write_only_when_one_can_land(db, in_process, wait_s):
    log_id = _left_sending(db)
    active = ActiveJira(1, _Client(), in_process=in_process)
    engine = SyncEngine(db, lambda: active, clock=lambda: NOW, claim_token="this-process")

    assert engine.recover_stale_claims() == 1

    row = SyncLog(db).get(log_id)
    assert (row.status, row.needs_reconcile, row.claimed_by) == ("pending", True, None)
    assert row.next_attempt_at == NOW + timedelta(seconds=wait_s)


def test_the_demo_connection_is_the_in_process_jira(tmp_settings):
    from lib.services import services_for

    services = services_for(tmp_settings)
    assert services.connections.active().is_demo  # no connection made: demo mode
    assert services.jira().in_process
