"""``create_issues_bulk``: what the client sends to /issue/bulk is what the spec takes (v3),
and each element's result comes back in input order, a refusal worded as a single create's."""

from __future__ import annotations

import pytest

from lib.jira import BadRequest, BasicAuth, BearerAuth, Flavour, JiraClient, RetryPolicy
from lib.jira.richtext import doc_from_text
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL, DEMO_DC_PAT

DEMO = {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}}


def _client(base_url: str, flavour: str) -> JiraClient:
    if flavour == "cloud":
        auth, kind = BasicAuth(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN), Flavour.CLOUD
    else:
        auth, kind = BearerAuth(DEMO_DC_PAT), Flavour.DATA_CENTER
    return JiraClient(
        base_url, auth, flavour=kind, timeout=5, retry_policy=RetryPolicy(max_attempts=1)
    )


def _items(n: int, bad: int | None = None) -> list[tuple[dict, dict]]:
    return [
        (
            {
                **DEMO,
                "summary": "" if i == bad else f"Anomaly {i}",
                "description": doc_from_text(f"Nulls in table {i}"),
                "labels": [f"anomaly-desk-{i}"],
            },
            {"anomaly-desk": {"anomaly_id": i, "request_id": f"r{i}"}},
        )
        for i in range(n)
    ]


def test_the_client_body_validates_against_the_cloud_spec_and_answers_in_order(
    cloud, cloud_sandbox
):
    client = _client(cloud_sandbox.base_url, "cloud")
    results = client.create_issues_bulk(_items(3, bad=1))
    assert [getattr(r, "key", None) for r in results] == ["DQ-1", None, "DQ-2"]
    assert isinstance(results[1], BadRequest) and "summary" in results[1].field_errors
    assert "Jira rejected the values" in str(results[1])
    sent = cloud_sandbox.runtime.faults.stats_json()["bodies"][-1]
    assert sent["path"] == "/rest/api/3/issue/bulk"
    # The same body again, through the caller that validates request and answer against the spec.
    again = cloud.post("/rest/api/3/issue/bulk", json=sent["body"])
    assert again.status_code == 201 and again.json()["errors"][0]["failedElementNumber"] == 1
    issue = cloud_sandbox.runtime.state.get("DQ-1")
    assert issue.properties["anomaly-desk"] == {"anomaly_id": 0, "request_id": "r0"}
    assert isinstance(issue.description, dict)  # ADF on Cloud


def test_data_center_gets_wiki_markup_and_all_refused_is_per_element(dc, dc_sandbox):
    client = _client(dc_sandbox.base_url, "dc")
    [made] = client.create_issues_bulk(_items(1))
    assert made.key == "DQ-1"
    assert isinstance(dc_sandbox.runtime.state.get("DQ-1").description, str)
    refused = client.create_issues_bulk(_items(2, bad=0)[:1] + [({**DEMO, "summary": ""}, None)])
    assert all(isinstance(r, BadRequest) for r in refused)  # a 400 answer, still per element


def test_more_than_fifty_is_refused_before_sending(cloud_sandbox):
    with pytest.raises(ValueError, match="1 to 50"):
        _client(cloud_sandbox.base_url, "cloud").create_issues_bulk(_items(51))
