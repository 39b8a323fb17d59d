"""End to end through the dashboard's own services: the Anomalies page archives and reopens,
the worker moves the linked ticket in the sandbox (the connection's setting on)."""

from __future__ import annotations

import json

from lib.anomalies.changes import Mode
from lib.connections.models import TicketMoves
from lib.jira.sandbox.state import status_by_id
from lib.outbox.worker import SyncWorker
from tests.anomalies.helpers import record
from tests.anomalies.test_page_changes import opened


def drain(svc) -> None:
    worker = SyncWorker(svc.sync, None, refresh_interval_s=0)
    for _ in range(10):
        if not svc.sync.log.unfinished():
            return
        worker.run_once()
    assert not svc.sync.log.unfinished()


def test_the_page_archive_and_reopen_move_the_ticket(sandbox_services, jira_sandbox):
    svc = sandbox_services
    active = svc.connect.active()
    svc.connect.save_ticket_moves(active.id, TicketMoves(True))
    svc.changes.import_file("seed.json", json.dumps([record(7)]).encode(), mode=Mode.MANUAL)
    key = svc.tickets.create_ticket(7, summary="s", actor="erin").key
    issue = jira_sandbox.runtime.state.get(key)

    at = opened(7)
    at.selectbox(key="anomalies_reason").select("Duplicate").run()
    at.button(key="anomalies_archive").click().run()
    assert not at.exception
    drain(svc)
    assert status_by_id(issue.status_id).category_key == "done"
    assert issue.resolution == "10002"  # Cloud's Duplicate, chosen from the screen
    at.button(key="anomalies_reopen").click().run()
    drain(svc)
    assert status_by_id(issue.status_id).category_key == "indeterminate"
    assert issue.resolution is None
    actions = [(r.action, r.status) for r in reversed(svc.sync.log.for_anomaly(7))]
    assert actions[-4:] == [
        ("comment", "ok"),
        ("transition", "ok"),
        ("transition", "ok"),
        ("comment", "ok"),
    ]
