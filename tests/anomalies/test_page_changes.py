"""The Anomalies page's own actions and import go through the changes service as manual work."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.anomalies.changes import Mode
from lib.outbox.policy import UpdateLimit, save_update_limit
from lib.outbox.worker import SyncWorker
from tests.anomalies.helpers import record

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "anomalies.py")


def opened(anomaly_id: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["user_name"] = "erin"
    at.query_params["anomaly"] = str(anomaly_id)
    at.run()
    return at


def test_acknowledge_comment_archive_reopen_are_queued_as_manual_and_not_deferred(
    sandbox_services,
):
    svc = sandbox_services
    svc.changes.import_file("seed.json", json.dumps([record(7)]).encode(), mode=Mode.MANUAL)
    svc.tickets.create_ticket(7, summary="s", actor="erin")
    before = {r.id for r in svc.sync.log.for_anomaly(7)}
    at = opened(7)
    at.button(key="anomalies_ack").click().run()
    (box,) = [t for t in at.text_area if t.label == "Add a comment"]
    box.input("Checked upstream")  # a form: typed and submitted in one run
    at.button(key="anomalies_comment").click().run()
    at.selectbox(key="anomalies_reason").select("Invalid").run()
    at.button(key="anomalies_archive").click().run()
    at.button(key="anomalies_reopen").click().run()
    assert not at.exception and at.subheader[0].value == "Anomaly 7 · Active"

    rows = [r for r in svc.sync.log.for_anomaly(7) if r.id not in before]
    assert [(r.action, r.mode, r.actor) for r in rows] == [("comment", "manual", "erin")] * 4
    assert [h.changed_by for h in svc.anomalies.history(7)] == ["erin"] * 3
    # A limit of one automatic update a minute would defer three of these four
    # (one row per issue per pass: four passes, no time for a deferral to expire).
    save_update_limit(svc.db, UpdateLimit(1, 60))
    worker = SyncWorker(svc.sync, None, refresh_interval_s=0)
    assert [worker.run_once() for _ in range(4)] == [1, 1, 1, 1]
    statuses = [r.status for r in svc.sync.log.for_anomaly(7) if r.id not in before]
    assert statuses == ["ok"] * 4


def test_page_import_records_the_change_and_queues_one_comment_per_ticket(sandbox_services):
    svc = sandbox_services
    svc.changes.import_file("seed.json", json.dumps([record(8)]).encode(), mode=Mode.MANUAL)
    svc.tickets.create_ticket(8, summary="s", actor="erin")
    at = AppTest.from_file(PAGE, default_timeout=30)  # the list view holds the Import box
    at.run()
    data = json.dumps([record(8, status="Archived", archive_reason="Resolved")]).encode()
    at.file_uploader(key="anomalies_upload").upload("close.json", data, "application/json").run()
    at.button(key="anomalies_import").click().run()
    assert not at.exception
    assert "0 new, 1 updated. 1 status change(s), 1 Jira update(s) queued." in at.success[0].value
    (change,) = svc.anomalies.history(8)
    assert (change.changed_by, change.to_label) == ("import close.json", "Archived (Resolved)")
    queued = svc.sync.log.for_anomaly(8)[0]
    assert (queued.action, queued.mode, queued.actor) == ("comment", "manual", "import close.json")
