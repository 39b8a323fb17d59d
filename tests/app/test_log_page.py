import json
from datetime import datetime, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lib.services
from lib.services import services_for

NOW = datetime(2026, 5, 20, 12, 0)


def insert_log(db, rows: list[dict]) -> None:
    frame = pd.DataFrame(
        [{"mode": "automatic", "attempts": 1, "permanent": False, **r} for r in rows]
    )
    with db.transaction() as cur:
        cur.register("incoming_log", frame)
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming_log")
        cur.unregister("incoming_log")


@pytest.fixture
def seeded(tmp_settings, monkeypatch):
    monkeypatch.setattr(lib.services, "utc_now", lambda: NOW)
    svc = services_for(tmp_settings)
    insert_log(
        svc.db,
        [
            {
                "id": 1,
                "created_at": NOW - timedelta(days=3),
                "action": "create",
                "status": "ok",
                "anomaly_id": 7,
                "ticket_id": "10001",
                "ticket_key": "DQ-1",
                "ticket_url": "https://jira.test/browse/DQ-1",
            },
            {
                "id": 2,
                "created_at": NOW - timedelta(days=2),
                "action": "comment",
                "status": "failed",
                "mode": "manual",
                "anomaly_id": 7,
                "ticket_key": "DQ-1",
                "permanent": True,
                "error": "Jira answered 400: comment body is empty",
                "request_json": json.dumps({"body": "hi", "Authorization": "Bearer sekrit"}),
                "response_json": json.dumps({"errorMessages": ["empty body"]}),
            },
            {
                "id": 3,
                "created_at": NOW - timedelta(days=1),
                "action": "update",
                "status": "sending",
                "anomaly_id": 8,
                "ticket_key": "DQ-2",
            },
            {
                "id": 4,
                "created_at": NOW - timedelta(hours=1),
                "action": "update",
                "status": "deferred",
                "anomaly_id": 8,
                "ticket_key": "DQ-2",
                "next_attempt_at": NOW + timedelta(minutes=1),
            },
        ],
    )
    return svc


@pytest.fixture
def app(page_path):
    return AppTest.from_file(page_path("log"), default_timeout=30)


def table(at) -> pd.DataFrame:
    return at.dataframe[0].value


def test_lists_the_log_newest_first_with_labels_and_links(seeded, app):
    app.run()
    assert not app.exception
    frame = table(app)
    assert frame["id"].tolist() == [4, 3, 2, 1]
    assert frame["status"].tolist() == ["Deferred", "Pending", "Failed", "Ok"]
    assert frame["type"].tolist() == ["Automatic", "Automatic", "Manual", "Automatic"]
    assert frame["key"].tolist()[3] == "https://jira.test/browse/DQ-1"
    assert "4 matching entries" in app.caption[1].value


def test_filters_narrow_the_table(seeded, app):
    app.run()
    app.multiselect(key="log_status").select("Pending").run()
    assert table(app)["id"].tolist() == [3]
    app.multiselect(key="log_status").unselect("Pending").run()
    app.text_input(key="log_text").input("body is empty").run()
    assert table(app)["id"].tolist() == [2]
    app.text_input(key="log_text").input("").run()
    app.multiselect(key="log_type").select("Manual").run()
    assert table(app)["id"].tolist() == [2]
    app.text_input(key="log_text").input("no such thing").run()
    assert "No log entry matches" in app.info[0].value


def test_details_mask_secrets_and_retry_requeues_a_failed_row(seeded, app):
    app.run()
    app.number_input(key="log_detail_id").set_value(2).run()
    assert app.subheader[0].value == "Log entry 2 · comment · failed"
    sent = app.code[0].value
    assert "sekrit" not in sent and "[masked]" in sent
    assert "empty body" in app.code[1].value
    app.button(key="log_retry").click().run()
    assert "queued again" in app.success[0].value
    with seeded.db.read() as cur:
        row = cur.execute(
            "SELECT status, permanent, next_attempt_at FROM sync_log WHERE id = 2"
        ).fetchone()
    assert row == ("pending", False, NOW)
    assert app.subheader[0].value == "Log entry 2 · comment · pending"
    assert not [b for b in app.button if b.key == "log_retry"]


def test_pending_rows_have_no_retry_and_unknown_ids_say_so(seeded, app):
    app.run()
    app.number_input(key="log_detail_id").set_value(4).run()
    assert [m.value for m in app.metric][:2] == ["1", "2026-05-20 12:01:00"]
    assert not [b for b in app.button if b.key == "log_retry"]
    app.number_input(key="log_detail_id").set_value(99).run()
    assert "does not exist" in app.warning[0].value


def test_export_button_is_offered(seeded, app):
    app.run()
    buttons = app.get("download_button")
    assert len(buttons) == 1 and buttons[0].proto.label == "Export CSV"


def test_settings_save_and_clean_up(seeded, app):
    app.run()
    app.number_input(key="log_max_entries").set_value(1)
    app.number_input(key="log_max_age_days").set_value(0)
    app.button(key="log_save").click().run()
    assert "Saved: keep 1 entries" in app.success[0].value
    app.button(key="log_cleanup").click().run()
    # Ok row 1 and failed row 2 are finished: the newest (2) stays, 1 goes.
    assert "Removed 1 entries" in app.success[0].value
    assert table(app)["id"].tolist() == [4, 3, 2]


def test_errors_are_labelled_by_kind_and_filtered_by_kind(seeded, app):
    insert_log(
        seeded.db,
        [
            {"id": 5, "created_at": NOW - timedelta(minutes=30), "action": "create",
             "status": "failed", "error": "Jira answered 401", "error_kind": "authentication"},
            {"id": 6, "created_at": NOW - timedelta(minutes=20), "action": "comment",
             "status": "failed", "error": "Jira answered 429", "error_kind": "rate_limited"},
        ],
    )  # fmt: skip
    app.run()
    frame = table(app)
    assert frame.set_index("id")["error kind"].to_dict()[6] == "Rate limited"
    assert frame.set_index("id")["error kind"].to_dict()[5] == "Authentication"
    app.multiselect(key="log_error_kind").select("rate_limited").run()
    assert table(app)["id"].tolist() == [6]
    app.multiselect(key="log_error_kind").select("authentication").run()
    assert table(app)["id"].tolist() == [6, 5]
    app.number_input(key="log_detail_id").set_value(5).run()
    assert app.error[0].value.startswith("**Authentication** · Jira answered 401")


def test_a_row_offers_its_request_as_curl_without_the_secret(seeded, app):
    body = {"fields": {"project": {"key": "DQ"}, "summary": "Nulls in orders"}}
    insert_log(
        seeded.db,
        [
            {"id": 7, "created_at": NOW - timedelta(minutes=5), "action": "create",
             "status": "failed", "anomaly_id": 7, "request_json": json.dumps(body),
             "idempotency_key": "anomaly-desk-7", "request_id": "r-7",
             "error": "Jira answered HTTP 503", "error_kind": "server"},
        ],
    )  # fmt: skip
    app.run()
    app.number_input(key="log_detail_id").set_value(7).run()
    command = app.code[0].value
    assert command.startswith("curl --request POST")
    assert (
        "/sandbox/rest/api/3/issue \\\n" in command
        and '-u "$JIRA_EMAIL:$JIRA_API_TOKEN"' in command
    )
    assert '"summary": "Nulls in orders"' in command
    assert "sandbox-api-token" not in command and "Basic " not in command
    assert any("JIRA_API_TOKEN" in c.value for c in app.caption)
    app.number_input(key="log_detail_id").set_value(2).run()  # a comment without its text
    assert any("holds no comment text" in c.value for c in app.caption)
