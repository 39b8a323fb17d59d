"""Ticketing over HTTP against the sandbox, both flavours: create, search, get, link, unlink."""

from __future__ import annotations

import pytest

from lib.jira.sandbox.faults import Fault

TICKETS = "/api/integrations/ticketing"


def create(api, anomaly_id=1, headers=None, **body):
    payload = {"title": "Nulls in CUSTOMER_NAME", "description": "Please look.", **body}
    return api.post(
        f"{TICKETS}/anomalies/{anomaly_id}/tickets", json=payload, headers=headers or {}
    )


def issue_count(api) -> int:
    return len(api.sandbox.runtime.state.issues)


def test_create_search_get_link_unlink(api):
    made = create(api, priority="High")
    assert made.status_code == 201, made.text
    body = made.json()
    ticket = body["ticket"]
    key = ticket["ticket_number"]
    assert body["anomaly_id"] == 1 and body["status"] == "created"
    assert body["message"] == f"Ticket {key} created and linked to anomaly 1"
    assert body["integration_id"] == api.services.jira().connection_id
    assert key.startswith("DQ-") and ticket["title"] == "Nulls in CUSTOMER_NAME"
    assert ticket["priority"] == "High" and ticket["url"].endswith(f"/browse/{key}")
    assert ticket["metadata"] == {"project_key": "DQ", "issue_type": "Task"}
    # The caller's text first, then the anomaly's details and the link back.
    description = api.description(key).replace("*", "")  # wiki bold marks on DC
    assert description.index("Please look.") < description.index("Anomaly ID: 1")
    assert "http://desk.test/?anomaly=1" in description
    assert "anomaly-desk-1" in api.sandbox.runtime.state.get(key).labels

    by_words = api.get(f"{TICKETS}/tickets/search", params={"query": "CUSTOMER_NAME"}).json()
    assert key in [item["ticket_number"] for item in by_words["items"]]
    by_key = api.get(f"{TICKETS}/tickets/search", params={"query": key.lower()}).json()
    assert [i["ticket_number"] for i in by_key["items"]] == [key]
    assert by_key["items"][0]["ticket_id"] == ticket["ticket_id"]
    assert (by_key["total"], by_key["page"], by_key["pages"]) == (1, 1, 1)

    by_id = api.get(f"{TICKETS}/tickets/{ticket['ticket_id']}").json()
    # A create costs one round trip: its answer has no status yet; a read has it.
    assert ticket["status"] is None
    assert by_id["ticket_number"] == key and by_id["status"] == "To Do"
    assert api.get(f"{TICKETS}/tickets/{key}").json()["ticket_id"] == ticket["ticket_id"]

    linked = api.post("/api/anomalies/2/ticket-links", json={"ticket_id": key})
    assert linked.status_code == 201, linked.text
    link = linked.json()
    assert (link["anomaly_id"], link["ticket_number"], link["created_by_us"]) == (2, key, False)
    assert sum("Anomaly ID: 2" in c.replace("*", "") for c in api.comments(key)) == 1
    again = api.post("/api/anomalies/2/ticket-links", json={"ticket_id": key})
    assert again.status_code == 409
    listed = api.get("/api/anomalies/2/ticket-links").json()
    assert [item["id"] for item in listed] == [link["id"]]

    gone = api.call("DELETE", f"/api/anomalies/2/ticket-links/{link['id']}")
    assert gone.status_code == 200 and gone.json()["unlinked_at"] is not None
    assert api.get("/api/anomalies/2/ticket-links").json() == []
    assert api.call("DELETE", f"/api/anomalies/2/ticket-links/{link['id']}").status_code == 404
    assert api.sandbox.runtime.state.get(key) is not None  # unlinking never touches Jira


def test_archiving_comments_once_on_every_linked_ticket(api):
    first = create(api).json()["ticket"]["ticket_number"]
    other = create(api, anomaly_id=2).json()["ticket"]["ticket_number"]
    assert api.post("/api/anomalies/1/ticket-links", json={"ticket_id": other}).status_code == 201
    answer = api.call(
        "PATCH", "/api/anomalies/1", json={"status": "Archived", "archive_reason": "Resolved"}
    )
    assert answer.status_code == 200
    while api.services.worker.run_once():
        pass
    for key in (first, other):
        status = [c for c in api.comments(key) if "Anomaly Status: Archived (Resolved)" in c]
        assert len(status) == 1, (key, api.comments(key))
    assert api.get("/api/health", auth=False).json()["outbox_depth"] == 0


def test_a_retry_with_the_same_idempotency_key_creates_nothing(api):
    before = issue_count(api)
    first = create(api, headers={"Idempotency-Key": "k-1"})
    second = create(api, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert issue_count(api) == before + 1
    reused = create(api, title="Another", headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["field_errors"]
    assert issue_count(api) == before + 1


def test_a_pending_create_is_202_and_its_retry_completes_it(api):
    api.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=503, method="POST", path=r"/issue$")]
    )
    pending = create(api, headers={"Idempotency-Key": "k-2"})
    assert pending.status_code == 202, pending.text
    body = pending.json()
    assert body["ticket"] is None and body["status"] == "pending"
    assert create(api, headers={"Idempotency-Key": "k-2"}).status_code == 202
    api.services.sync.deliver(body["sync_log_id"])  # the engine, once: Jira answers now
    done = create(api, headers={"Idempotency-Key": "k-2"})
    assert done.status_code == 201 and done.json()["ticket"]["ticket_number"].startswith("DQ-")
    assert (
        len([i for i in api.sandbox.runtime.state.issues.values() if "anomaly-desk-1" in i.labels])
        == 1
    )


def test_the_form_specification_from_create_metadata(api):
    spec = api.get(f"{TICKETS}/form-specification", params={"project": "DQ", "issue_type": "Task"})
    assert spec.status_code == 200, spec.text
    body = spec.json()
    fields = {f["id"]: f for f in body["fields"]}
    assert body["project"] == "DQ" and body["issue_type"]
    assert fields["title"]["required"] is True
    assert "High" in [v["name"] for v in fields["priority"]["allowed_values"]]
    assert "Task" in [t["name"] for t in body["issue_types"]]
    unknown = api.get(f"{TICKETS}/form-specification", params={"project": "NOPE"})
    assert unknown.status_code == 404 and "project" in unknown.json()["field_errors"]
    bad_type = api.get(
        f"{TICKETS}/form-specification", params={"project": "DQ", "issue_type": "Dragon"}
    )
    assert bad_type.status_code == 404


@pytest.mark.parametrize("query", ['a "quoted" word', "back\\slash", '\\"', "x' OR 1=1 --", "ü"])
def test_search_takes_quotes_and_backslashes(api, query):
    create(api, title=f"About {query}")
    answer = api.get(f"{TICKETS}/tickets/search", params={"query": query})
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["items"], list)


@pytest.mark.parametrize(
    "params", [{}, {"query": ""}, {"query": "x", "size": 0}, {"query": "x", "page": "a"}]
)
def test_bad_search_parameters_are_422(api, params):
    assert api.get(f"{TICKETS}/tickets/search", params=params).status_code == 422


def test_unknown_ticket_anomaly_and_link_are_404(api):
    assert api.get(f"{TICKETS}/tickets/DQ-9999").status_code == 404
    assert api.get(f"{TICKETS}/tickets/99999999").status_code == 404
    assert create(api, anomaly_id=999).status_code == 404
    assert (
        api.post("/api/anomalies/1/ticket-links", json={"ticket_id": "DQ-9999"}).status_code == 404
    )
    assert api.get("/api/anomalies/999/ticket-links").status_code == 404
    assert api.call("DELETE", "/api/anomalies/1/ticket-links/12345").status_code == 404
    assert api.services.tickets.links_for(1) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": 5}, "title"),
        ({"description": None}, "description"),
        ({"priority": "Nope"}, "priority"),
        ({"fields": {"customfield_99999": "x"}}, "fields.customfield_99999"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_creates_are_422_named_by_field_and_create_nothing(api, body, field):
    before = issue_count(api)
    answer = create(api, **body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["field_errors"], answer.json()
    assert issue_count(api) == before
    assert api.services.tickets.links_for(1) == []


def test_linking_refuses_what_is_not_a_key(api):
    answer = api.post("/api/anomalies/1/ticket-links", json={"ticket_id": "not a key"})
    assert answer.status_code == 422 and "ticket_id" in answer.json()["field_errors"]
    assert api.post("/api/anomalies/1/ticket-links", json={}).status_code == 422


def test_without_a_readable_connection_it_is_503(api, monkeypatch):
    monkeypatch.setattr(type(api.services.jira), "__call__", lambda self: None)
    before = issue_count(api)
    answer = create(api)
    assert answer.status_code == 503 and "Connect to Jira" in answer.json()["error"]
    assert api.get(f"{TICKETS}/tickets/search", params={"query": "x"}).status_code == 503
    assert issue_count(api) == before and api.services.sync.log.recent() == []


def test_the_log_statistics_and_health_see_the_create(api):
    key = create(api).json()["ticket"]["ticket_number"]
    log = api.get("/api/sync-log", params={"action": "create", "status": "Ok"}).json()
    assert [(r["action"], r["ticket_key"], r["type"]) for r in log["items"]] == [
        ("create", key, "Manual")
    ]
    assert api.get("/api/sync-log", params={"status": "Failed"}).json()["total"] == 0
    assert api.get("/api/sync-log", params={"q": key}).json()["total"] == 1
    counters = {c["name"]: c for c in api.get("/api/statistics").json()["counters"]}
    assert counters["create"]["total"] == 1 and counters["create"]["today"] == 1
    assert api.get("/api/statistics", params={"tz": "Mars/Olympus"}).status_code == 422


def test_health_counts_a_pending_create(api):
    api.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=503, method="POST", path=r"/issue$")]
    )
    assert create(api).status_code == 202
    health = api.get("/api/health", auth=False).json()
    assert health["outbox_depth"] == 1 and health["oldest_pending_age_s"] >= 0


def test_huge_bodies_are_refused_before_anything_is_sent(api):
    before = issue_count(api)
    too_large = create(api, description="x" * 1_200_000)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    too_long = create(api, description="x" * 40_000)
    assert too_long.status_code == 422 and "description" in too_long.json()["field_errors"]
    assert issue_count(api) == before and api.services.sync.log.recent() == []


def test_jira_unreachable_is_a_clear_503(api):
    api.sandbox.runtime.faults.add_faults([Fault(kind="drop", method="GET", path=r"/issue/DQ-")])
    answer = api.get(f"{TICKETS}/tickets/DQ-1")
    assert answer.status_code == 503, answer.text
    assert "cannot be reached" in answer.json()["error"] and "Traceback" not in answer.text
