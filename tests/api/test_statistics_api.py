"""GET /api/statistics (counters and resets as the page shows them) and POST /api/sync-log/cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from lib.reporting import retention
from lib.services import utc_now
from lib.store.sync_log import SyncLog

from .conftest import Api


@pytest.fixture
def api(bare_services, api_server):
    with requests.Session() as session:
        yield Api(api_server[0], bare_services, "none", None, session)


def write_log(services, rows) -> None:
    now = utc_now()
    with services.db.transaction() as cur:
        for minutes_ago, action, status in rows:
            SyncLog.insert_in(
                cur,
                now=now - timedelta(minutes=minutes_ago),
                action=action,
                mode="manual",
                status=status,
                anomaly_id=1,
            )


def counters(api, **params) -> dict:
    answer = api.get("/api/statistics", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body, {c["name"]: c for c in body["counters"]}


def test_statistics_give_counters_resets_and_what_each_counts(api):
    write_log(
        api.services,
        [(5, "create", "ok"), (4, "create", "ok"), (3, "comment", "ok"), (2, "update", "failed")],
    )
    body, found = counters(api, tz="Europe/Berlin")
    assert body["time_zone"] == "Europe/Berlin" and body["last_reset"] is None
    assert body["resets"] == []
    assert [(c["total"], c["all_time"]) for c in found.values()] == [(2, 2), (1, 1), (3, 3)]
    assert "Create + Update" in found["total"]["counts"]
    api.services.statistics.reset("ana")
    write_log(api.services, [(1, "comment", "ok")])
    body, found = counters(api)
    reset = body["last_reset"]
    assert (reset["reset_by"], reset["created"], reset["updated"], reset["total"]) == (
        "ana",
        2,
        1,
        3,
    )
    assert body["resets"] == [reset]
    assert {c["last_reset"] for c in found.values()} == {reset["reset_at"]}
    assert [(c["total"], c["all_time"]) for c in found.values()] == [(0, 2), (1, 2), (1, 4)]
    assert found["total"]["total"] == found["create"]["total"] + found["update"]["total"]


def test_cleanup_runs_the_saved_settings_and_no_count_changes(api):
    write_log(
        api.services,
        [(9, "create", "ok"), (8, "comment", "ok"), (7, "update", "failed"), (6, "create", "ok")],
    )
    write_log(api.services, [(5, "comment", "pending")])  # unsent work: never removed
    _, before = counters(api)
    retention.save(api.services.db, 1, 0)
    answer = api.post("/api/sync-log/cleanup")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "removed": 3,
        "by_age": 0,
        "by_count": 3,
        "max_entries": 1,
        "max_age_days": 0,
    }
    assert api.services.sync.log.unfinished()[0].action == "comment"
    _, after = counters(api)
    assert after == before and after["total"]["total"] == 3
    again = api.post("/api/sync-log/cleanup").json()
    assert again["removed"] == 0


def test_both_need_a_token_and_a_bad_zone_is_a_field_error(api):
    assert api.get("/api/statistics", auth=False).status_code == 401
    assert api.post("/api/sync-log/cleanup", auth=False).status_code == 401
    answer = api.get("/api/statistics", params={"tz": "Mars/Olympus"})
    assert answer.status_code == 422 and "tz" in answer.json()["field_errors"]
