"""``/api/rules``: create, list, read, replace, delete, dry-run, and the refusals."""

from __future__ import annotations

import json

from lib.services import utc_now
from tests.waiting import wait_until

RULE = {
    "name": "customers",
    "conditions": {"containers": ["CUSTOMERS_1", "CUSTOMERS_2"], "rule_types": ["notNull"]},
    "group_by": "datastore",
    "window_minutes": 60,
    "ticket": {"priority": "High", "labels": ["dq-rule"], "components": []},
}


def test_rules_crud_over_http(api):
    made = api.post("/api/rules", json=RULE)
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["paused"] is True and rule["position"] == 1
    assert rule["conditions"]["containers"] == ["CUSTOMERS_1", "CUSTOMERS_2"]
    second = api.post("/api/rules", json={"name": "rest", "action": "skip", "position": 1}).json()
    listed = api.get("/api/rules").json()
    assert [r["name"] for r in listed["items"]] == ["rest", "customers"]
    assert listed["paused_reason"] is None
    changed = api.call(
        "PUT", f"/api/rules/{rule['id']}", json={**RULE, "paused": False, "reopen_days": 3}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["paused"] is False and changed.json()["reopen_days"] == 3
    assert api.get(f"/api/rules/{rule['id']}").json()["reopen_days"] == 3
    assert api.call("DELETE", f"/api/rules/{second['id']}").status_code == 204
    assert [r["position"] for r in api.get("/api/rules").json()["items"]] == [1]
    gone = api.get(f"/api/rules/{second['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert api.call("DELETE", f"/api/rules/{second['id']}").status_code == 404


def test_dry_run_shows_the_ticket_and_the_link_and_sends_nothing(api):
    rule = api.post("/api/rules", json=RULE).json()
    issues_before = len(api.sandbox.runtime.state.issues)
    answer = api.post(f"/api/rules/{rule['id']}/dry-run")
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    assert [(s["anomaly_id"], s["action"]) for s in steps] == [(1, "create"), (2, "link")]
    assert steps[1]["ticket"] == "the new ticket of anomaly 1"
    assert len(api.sandbox.runtime.state.issues) == issues_before
    assert api.services.tickets.links_for(1) == []
    assert api.post("/api/rules/999/dry-run").status_code == 404


def test_bad_rules_get_422_under_the_body_names(api):
    bad = api.post(
        "/api/rules",
        json={
            "name": "",
            "group_by": "week",
            "conditions": {"weight_min": -1, "anomaly_types": ["odd"]},
            "window_minutes": 0,
        },
    )
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "invalid"
    assert {
        "name",
        "group_by",
        "window_minutes",
        "conditions.weight_min",
        "conditions.anomaly_types.0",
    } <= set(body["field_errors"])
    crossed = api.post(
        "/api/rules", json={"name": "x", "conditions": {"weight_min": 5, "weight_max": 2}}
    )
    assert crossed.status_code == 422
    assert set(crossed.json()["field_errors"]) == {"conditions.weight_max"}
    spaced = api.post("/api/rules", json={"name": "x", "ticket": {"labels": ["two words"]}})
    assert spaced.json()["field_errors"] == {"ticket.labels": "Labels have no spaces."}
    extra = api.post("/api/rules", json={"name": "x", "colour": "red"})
    assert extra.status_code == 422 and "colour" in extra.json()["field_errors"]
    assert api.get("/api/rules").json()["items"] == []
    missing = api.call("PUT", "/api/rules/42", json={"name": "x"})
    assert missing.status_code == 404


def test_rules_need_the_token(api):
    assert api.get("/api/rules", auth=False).status_code == 401
    assert api.post("/api/rules", json=RULE, auth=False).status_code == 401


def test_an_import_over_the_api_runs_the_enabled_rules_on_the_worker(api):
    rule = api.post("/api/rules", json={**RULE, "paused": False}).json()
    assert rule["paused"] is False
    row = {
        "id": 77,
        "datastore_id": 7,
        "datastore_name": "Warehouse",
        "container": "CUSTOMERS_1",
        "fields": ["EMAIL"],
        "type": "record",
        "status": "Active",
        "detected_at": "2025-12-21T01:50:00",
        "failed_checks": [{"check_id": 9, "rule_type": "notNull", "message": "nulls"}],
    }
    services = api.services
    # The first scheduled run: anomalies 1 and 2 get one ticket for the datastore, and the
    # next is not due for minutes, so only the import's arrival can start one now.
    assert len(services.rules.run_due(utc_now()).results) == 2
    key = services.tickets.links_for(1)[0].issue_key
    answer = api.post("/api/v1/import?filename=new.json", data=json.dumps([row]))
    assert answer.status_code == 200 and answer.json()["inserted"] == 1
    services.worker.start()
    try:
        links = wait_until(
            lambda: services.tickets.links_for(77), 20, "the rule linking the imported anomaly"
        )
    finally:
        services.worker.stop(timeout=5)
    assert links[0].issue_key == key  # same datastore, within the window: the group's ticket
    assert len(api.sandbox.runtime.state.issues) == 1
