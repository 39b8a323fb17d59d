"""The API's frame: mounted at /api, auth, JSON errors, body caps, the /api/v1 routes kept."""

from __future__ import annotations

import json
import logging
import re
from typing import get_args

import pytest
import requests

from lib.http.api.errors import api_field_errors
from lib.http.api.operations import ErrorKindIn
from lib.jira import BadCredentials, ErrorKind

from .conftest import TOKEN


@pytest.fixture
def base(api_server, bare_services):
    return api_server[0]


def test_health_is_open_and_counts_the_outbox(base, bare_services):
    answer = requests.get(f"{base}/api/health", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "anomalies": 2,
        "outbox_depth": 0,
        "oldest_pending_age_s": None,
        "integration": {
            "state": "connected",
            "reason": None,
            "kind": None,
            "since": None,
            "automation_paused": False,
            "explanation": None,
        },
    }


def test_health_says_when_the_integration_fails_and_why(base, bare_services):
    connection_id = bare_services.connections.active().id
    bare_services.health.record_success(connection_id)
    bare_services.health.record_failure(connection_id, BadCredentials("Jira answered 401"))
    integration = requests.get(f"{base}/api/health", timeout=5).json()["integration"]
    assert integration["state"] == "failing" and integration["automation_paused"] is True
    assert integration["kind"] == "authentication"
    assert "Jira answered 401" in integration["reason"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", integration["since"])
    assert "expired or been revoked" in integration["explanation"]
    bare_services.integration.resume("alice")
    after = requests.get(f"{base}/api/health", timeout=5).json()["integration"]
    assert (after["state"], after["automation_paused"]) == ("connected", False)


def test_v1_health_keeps_its_path_and_shape(base):
    answer = requests.get(f"{base}/api/v1/health", timeout=5)
    assert answer.json() == {"status": "ok", "anomalies": 2, "sync_workers": 0}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
def test_no_wrong_or_malformed_token_is_a_json_401(base, headers, caplog):
    caplog.set_level(logging.DEBUG)
    answer = requests.get(f"{base}/api/sync-log", headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert TOKEN not in answer.text and TOKEN not in caplog.text


def test_the_right_token_is_let_in(base):
    answer = requests.get(
        f"{base}/api/sync-log", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["total"] == 0


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/anomalies/1/nope", "/api/v2/health"])
def test_an_unknown_path_is_a_json_404(base, path):
    answer = requests.get(base + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["code"] == "not_found"


def test_a_body_over_the_cap_is_413_and_changes_nothing(base, bare_services):
    answer = requests.post(
        f"{base}/api/v1/advanced",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        data=json.dumps({"command": "g|CREATE|summary;" + "x" * 1_100_000}),
        timeout=10,
    )
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    assert bare_services.sync.log.recent() == []


def test_a_chunked_body_over_the_cap_is_413_too(base, bare_services):
    def chunks():
        yield b'{"command": "g|CREATE|summary;'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    answer = requests.post(
        f"{base}/api/v1/advanced",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        data=chunks(),
        timeout=10,
    )
    assert answer.status_code == 413
    assert bare_services.sync.log.recent() == []


def test_import_keeps_its_route_auth_and_answers(base, bare_services):
    rows = [
        {
            "id": 77,
            "datastore_id": 1,
            "datastore_name": "W",
            "container": "T",
            "fields": ["A"],
            "type": "record",
            "status": "Active",
            "detected_at": "2025-01-01T00:00:00",
            "failed_checks": [{"check_id": 1, "rule_type": "notNull", "message": "m"}],
        }
    ]
    url = f"{base}/api/v1/import?filename=a.json"
    assert requests.post(url, data=json.dumps(rows), timeout=5).status_code == 401
    ok = requests.post(
        url, data=json.dumps(rows), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert ok.status_code == 200 and ok.json() == {
        "inserted": 1,
        "updated": 0,
        "status_changes": 0,
        "queued": 0,
    }
    bad = requests.post(url, data=b"[{}]", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["problems"]
    # Import keeps its own, larger cap: 2 MB is refused as a bad file, not as too large.
    big = requests.post(
        url, data=b" " * 2_000_000, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert big.status_code == 400
    assert bare_services.anomalies.count() == 3


def test_advanced_refuses_a_malformed_command_with_its_own_shape(base):
    answer = requests.post(
        f"{base}/api/v1/advanced",
        json={"command": "no pipes here"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 400 and "error" in answer.json()
    assert requests.post(f"{base}/api/v1/advanced", json={}, timeout=5).status_code == 401


def test_openapi_is_served_with_the_mount_as_server(base):
    document = requests.get(f"{base}/api/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api"}]
    assert "/sync-log" in document["paths"] and "/v1/import" in document["paths"]
    assert requests.get(f"{base}/api/docs", timeout=5).status_code == 404


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(base, bare_services, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(bare_services.log, "page", explode)
    answer = requests.get(
        f"{base}/api/sync-log", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal"
    assert "secret internals" not in answer.text and "Traceback" not in answer.text


def test_jira_field_errors_are_named_as_the_request_names_them():
    mapped = api_field_errors({"summary": "too long", "issuetype": "bad", "customfield_1": "x"})
    assert mapped == {"title": "too long", "issue_type": "bad", "fields.customfield_1": "x"}


def test_the_sync_log_filters_by_error_kind_repeatably(base, bare_services):
    with bare_services.db.transaction() as cur:
        for ident, kind in ((1, "authentication"), (2, "rate_limited"), (3, "network"), (4, None)):
            cur.execute(
                "INSERT INTO sync_log (id, created_at, action, mode, status, error, error_kind)"
                " VALUES (?, TIMESTAMP '2026-05-20 12:00:00', 'comment', 'manual', ?, ?, ?)",
                [ident, "failed" if kind else "ok", f"failed: {kind}" if kind else None, kind],
            )
    found = requests.get(
        f"{base}/api/sync-log",
        params=[("error_kind", "rate_limited"), ("error_kind", "authentication")],
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert [(r["id"], r["error_kind"]) for r in found["items"]] == [
        (2, "rate_limited"),
        (1, "authentication"),
    ]
    refused = requests.get(
        f"{base}/api/sync-log",
        params={"error_kind": "gremlins"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert refused.status_code == 422 and "error_kind" in refused.json()["field_errors"]


def test_the_api_offers_every_error_kind():
    assert set(get_args(ErrorKindIn)) == {str(k) for k in ErrorKind}
