"""The Log page with ticket moves: a refused move says why, is found by its action, and retries."""

import json
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

import lib.services
from lib.services import services_for
from tests.app.test_log_page import insert_log, table

NOW = datetime(2026, 5, 20, 12, 0)
REFUSED = (
    "transition refused by the workflow: A fix version is required (HTTP 409);"
    " status comment sent instead"
)


@pytest.fixture
def seeded(tmp_settings, monkeypatch):
    monkeypatch.setattr(lib.services, "utc_now", lambda: NOW)
    svc = services_for(tmp_settings)
    plan = {"move": {"target": "done", "archive_reason": "Resolved", "transition_id": None}}
    insert_log(
        svc.db,
        [
            {
                "id": 1,
                "created_at": NOW,
                "action": "comment",
                "status": "ok",
                "mode": "manual",
                "anomaly_id": 7,
                "ticket_key": "DQ-1",
            },
            {
                "id": 2,
                "created_at": NOW,
                "action": "transition",
                "status": "failed",
                "mode": "manual",
                "anomaly_id": 7,
                "ticket_key": "DQ-1",
                "permanent": True,
                "error": REFUSED,
                "error_kind": "validation",
                "request_json": json.dumps(plan),
            },
        ],
    )
    return svc


def test_a_refused_move_is_listed_with_why_and_can_be_retried(seeded, page_path):
    app = AppTest.from_file(page_path("log"), default_timeout=30)
    app.run()
    assert not app.exception
    app.multiselect(key="log_action").select("transition").run()
    assert table(app)["id"].tolist() == [2]
    app.number_input(key="log_detail_id").set_value(2).run()
    assert app.subheader[0].value == "Log entry 2 · transition · failed"
    shown = " ".join(str(e.value) for e in [*app.error, *app.markdown, *app.code])
    assert "transition refused by the workflow" in shown
    app.button(key="log_retry").click().run()
    assert "queued again" in app.success[0].value
    assert seeded.sync.log.get(2).status == "pending"
