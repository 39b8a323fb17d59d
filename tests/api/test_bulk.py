"""Bulk actions over the API: 202 with a job, its progress per anomaly, cancel and retry."""

from __future__ import annotations

from tests.waiting import wait_until

from .conftest import make_anomaly


def drain(api) -> None:
    """What the dashboard's worker does while the script polls: send the queued rows."""

    def drained() -> bool:
        if api.services.sync.log.unfinished():
            api.services.worker.run_once()
        return not api.services.sync.log.unfinished()

    wait_until(drained, 15, "the outbox draining", interval=0.02)


def issues(api) -> list:
    return api.sandbox.runtime.state.all_issues()


def test_ticket_each_answers_202_then_a_key_per_anomaly(api):
    answer = api.post("/api/anomalies/bulk", json={"anomaly_ids": [1, 2], "action": "ticket_each"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert (job["total"], job["pending"], job["running"]) == (2, 2, True)
    drain(api)
    done = api.get(f"/api/jobs/{job['id']}").json()
    assert (done["done"], done["progress"], done["running"]) == (2, 1.0, False)
    keys = {item["anomaly_id"]: item["ticket_key"] for item in done["items"]}
    assert sorted(keys.values()) == sorted(i.key for i in issues(api))
    for anomaly_id, key in keys.items():
        assert f"anomaly-desk-{anomaly_id}" in api.sandbox.runtime.state.get(key).labels
        [link] = api.services.tickets.links_for(anomaly_id)
        assert link.issue_key == key


def test_a_group_ticket_for_all_matching_a_filter(api):
    api.services.anomalies.upsert_many([make_anomaly(3)], make_anomaly(3).detected_at)
    body = {"filter": {"q": "customer_name"}, "action": "ticket_group", "title": "Nulls"}
    job = api.post("/api/anomalies/bulk", json=body).json()
    drain(api)
    [issue] = issues(api)
    assert issue.summary == "Nulls"
    assert all(f"Anomaly {i}" in api.description(issue.key) for i in (1, 2, 3))
    done = api.get(f"/api/jobs/{job['id']}").json()
    assert [i["ticket_key"] for i in done["items"]] == [issue.key] * 3


def test_acknowledge_is_done_before_the_answer(api):
    api.services.changes.acknowledge(2, "ana", mode="manual")
    job = api.post("/api/anomalies/bulk", json={"anomaly_ids": [1, 2], "action": "acknowledge"})
    body = job.json()
    assert (job.status_code, body["done"], body["failed"], body["running"]) == (202, 1, 1, False)
    assert api.services.anomalies.get(1).status == "Acknowledged"
    [failed] = [i for i in body["items"] if i["state"] == "failed"]
    assert failed["anomaly_id"] == 2 and failed["error"]


def test_cancel_and_retry(api):
    job = api.post("/api/anomalies/bulk", json={"anomaly_ids": [1, 2], "action": "ticket_each"})
    cancelled = api.post(f"/api/jobs/{job.json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] == 2
    drain(api)
    assert issues(api) == []
    retried = api.post(f"/api/jobs/{job.json()['id']}/retry").json()
    assert retried["cancelled"] == 2  # Retry sends failed items; cancelled ones stay so


def test_bad_requests_are_422_in_the_house_shape(api):
    cases = [
        ({"anomaly_ids": [1], "action": "archive"}, "archive_reason"),
        ({"anomaly_ids": [1, 99], "action": "acknowledge"}, "anomaly_ids"),
        ({"anomaly_ids": [1], "filter": {}, "action": "acknowledge"}, "anomaly_ids"),
        ({"anomaly_ids": [1], "action": "explode"}, "action"),
        ({"anomaly_ids": [1], "action": "link", "ticket_key": "DQ-404"}, "ticket_key"),
    ]
    for body, field in cases:
        answer = api.post("/api/anomalies/bulk", json=body)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()
        assert set(error) == {"error", "code", "field_errors"} and field in str(
            error["field_errors"]
        )
    assert api.services.anomalies.get(1).status == "Active" and issues(api) == []
    assert api.services.bulk.recent() == []


def test_unknown_job_is_404_and_no_token_is_401(api):
    missing = api.get("/api/jobs/999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert api.post("/api/jobs/999/retry").status_code == 404
    assert api.post("/api/anomalies/bulk", auth=False, json={}).status_code == 401
