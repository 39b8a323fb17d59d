"""Anomaly endpoints: the page's list, one anomaly, status changes and comments."""

from __future__ import annotations

import pytest
import requests

from lib.anomalies.changes import Mode

from .conftest import AUTH


@pytest.fixture
def base(api_server, bare_services):
    return api_server[0] + "/api"


def get(url, **params):
    return requests.get(url, headers=AUTH, params=params, timeout=5)


def test_the_list_pages_and_filters_like_the_page(base, bare_services):
    bare_services.changes.acknowledge(2, "ana", mode=Mode.MANUAL)
    first = get(f"{base}/anomalies", size=1, sort="id", order="asc").json()
    assert [row["id"] for row in first["items"]] == [1]
    assert (first["total"], first["pages"], first["size"]) == (2, 2, 1)
    assert first["status_counts"] == {"Active": 1, "Acknowledged": 1, "Archived": 0}
    second = get(f"{base}/anomalies", size=1, page=2, sort="id", order="asc").json()
    assert [row["id"] for row in second["items"]] == [2]
    acked = get(f"{base}/anomalies", status="Acknowledged").json()
    assert [row["id"] for row in acked["items"]] == [2]
    text = get(f"{base}/anomalies", q="customers_1").json()
    assert [row["id"] for row in text["items"]] == [1]
    none = get(f"{base}/anomalies", q='x"\\%_').json()
    assert none["items"] == [] and none["total"] == 0


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"size": 100_000}, {"status": "Gone"}, {"sort": "password"}, {"page": "x"}],
)
def test_bad_list_parameters_are_422_with_the_field(base, params):
    answer = get(f"{base}/anomalies", **params)
    assert answer.status_code == 422
    assert set(answer.json()["field_errors"]) == set(params)


def test_one_anomaly_with_checks_and_history(base, bare_services):
    bare_services.changes.acknowledge(1, "ana", mode=Mode.MANUAL)
    body = get(f"{base}/anomalies/1").json()
    assert body["id"] == 1 and body["status"] == "Acknowledged"
    assert body["failed_checks"][0]["rule_type"] == "notNull"
    assert [h["to_status"] for h in body["history"]] == ["Acknowledged"]


@pytest.mark.parametrize("ident, status", [("999", 404), ("abc", 422), ("1.5", 422), ("-1", 422)])
def test_unknown_or_non_numeric_ids(base, ident, status):
    assert get(f"{base}/anomalies/{ident}").status_code == status
    assert get(f"{base}/anomalies/{ident}/comments").status_code == status


def patch(base, ident, body):
    return requests.patch(f"{base}/anomalies/{ident}", json=body, headers=AUTH, timeout=5)


def test_archive_and_back_through_the_actions(base, bare_services):
    archived = patch(base, 1, {"status": "Archived", "archive_reason": "Resolved"})
    assert archived.status_code == 200
    assert (archived.json()["status"], archived.json()["archive_reason"]) == (
        "Archived",
        "Resolved",
    )
    reopened = patch(base, 1, {"status": "Active"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "Active"
    history = bare_services.anomalies.history(1)
    assert [(h.to_status, h.changed_by) for h in history] == [
        ("Archived", "api"),
        ("Active", "api"),
    ]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"status": "Archived"}, 422, "archive_reason"),
        ({"status": "Acknowledged", "archive_reason": "Resolved"}, 422, "archive_reason"),
        ({"status": "Archived", "archive_reason": "Bored"}, 422, "archive_reason"),
        ({"status": 3}, 422, "status"),
        ({}, 422, "status"),
        ({"status": "Active", "extra": 1}, 422, "extra"),
        ({"status": "Active"}, 409, None),  # already Active: not a change the workflow allows
    ],
)
def test_bad_changes_are_refused_and_change_nothing(base, bare_services, body, status, field):
    answer = patch(base, 1, body)
    assert answer.status_code == status
    if field:
        assert field in answer.json()["field_errors"]
    assert bare_services.anomalies.history(1) == []
    assert bare_services.anomalies.get(1).status == "Active"


def test_patching_an_unknown_anomaly_is_404(base):
    assert patch(base, 999, {"status": "Acknowledged"}).status_code == 404


def test_comments_are_added_and_listed(base, bare_services):
    url = f"{base}/anomalies/1/comments"
    made = requests.post(url, json={"text": 'Says "hi" \\ there'}, headers=AUTH, timeout=5)
    assert made.status_code == 201
    assert made.json()["author"] == "api" and made.json()["body"] == 'Says "hi" \\ there'
    named = requests.post(url, json={"text": "two", "author": "ana"}, headers=AUTH, timeout=5)
    assert named.status_code == 201
    assert [(c["author"], c["body"]) for c in get(url).json()] == [
        ("api", 'Says "hi" \\ there'),
        ("ana", "two"),
    ]


@pytest.mark.parametrize("body", [{"text": ""}, {"text": 5}, {}, {"text": "   "}, [1]])
def test_bad_comments_are_422_and_store_nothing(base, bare_services, body):
    answer = requests.post(f"{base}/anomalies/1/comments", json=body, headers=AUTH, timeout=5)
    assert answer.status_code == 422
    assert bare_services.anomalies.comments(1) == []


def test_a_comment_on_an_unknown_anomaly_is_404(base):
    answer = requests.post(
        f"{base}/anomalies/9/comments", json={"text": "x"}, headers=AUTH, timeout=5
    )
    assert answer.status_code == 404
