"""The real client (lib.jira.client) against the sandbox over HTTP: every operation,
both flavours, and each kind of fault. The client's retries sleep through a
recorded fake, so rate limits and 5xx cost no wall time.
"""

from __future__ import annotations

import pytest
import requests

from lib.jira import (
    BadCredentials,
    BadRequest,
    BasicAuth,
    BearerAuth,
    CaptchaRequired,
    Flavour,
    Gone,
    JiraClient,
    JiraConnectionError,
    JiraError,
    JiraTimeout,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    detect_flavour,
    doc_from_text,
)
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread

HANG_SECONDS = 1.0
DEMO = {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}}


@pytest.fixture(scope="module")
def both():
    running = start_sandbox_in_thread(
        SandboxConfig(flavour="both", hang_seconds=HANG_SECONDS, seed=3)
    )
    yield running
    running.stop()


@pytest.fixture(params=["cloud", "dc"])
def client(request, both):
    requests.post(both.base_url + "/_sandbox/reset", timeout=5).raise_for_status()
    sleeps: list[float] = []
    if request.param == "cloud":
        auth, flavour = BasicAuth("demo@anomaly-desk.example", "sandbox-api-token"), Flavour.CLOUD
    else:
        auth, flavour = BearerAuth("sandbox-pat"), Flavour.DATA_CENTER
    made = JiraClient(
        both.base_url,
        auth,
        flavour=flavour,
        timeout=HANG_SECONDS / 2,
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
        sleep=sleeps.append,
    )
    made.sleeps = sleeps
    return made


def _script(both, **fault) -> None:
    requests.post(both.base_url + "/_sandbox/faults", json=[fault], timeout=5).raise_for_status()


def _stats(both) -> dict:
    return requests.get(both.base_url + "/_sandbox/stats", timeout=5).json()


def test_every_operation(client):
    assert client.server_info().deployment_type == "Cloud"
    assert client.myself().display_name
    assert [p.key for p in client.projects()] == ["DQ", "OPS"]
    task = next(t for t in client.issue_types("DQ") if t.name == "Task")
    assert {f.field_id for f in client.fields_for_issue_type("DQ", task.id)} >= {
        "summary",
        "priority",
    }
    assert client.priorities("OPS", task.id) == ["High", "Medium", "Low"]
    created = client.create_issue(
        {
            **DEMO,
            "summary": "Null spike",
            "description": doc_from_text("Nulls rose"),
            "labels": ["anomaly-desk-1"],
            "priority": {"name": "High"},
        },
        properties={"anomaly-desk": {"id": 1}},
    )
    assert created.key == "DQ-1"
    made, refused = client.create_issues_bulk(
        [({**DEMO, "summary": "A"}, None), ({**DEMO, "summary": ""}, None)]
    )
    assert made.key == "DQ-2" and isinstance(refused, JiraError)
    client.edit_issue("DQ-1", {"summary": "Null spike in orders"})
    issue = client.get_issue("DQ-1")
    assert (issue.summary, issue.priority_name, issue.labels) == (
        "Null spike in orders",
        "High",
        ("anomaly-desk-1",),
    )
    assert issue.browse_url.endswith("/browse/DQ-1")
    client.add_comment("DQ-1", doc_from_text("Fixed upstream"))
    assert [c.body_text for c in client.comments("DQ-1")] == ["Fixed upstream"]
    assert [p.key for p in client.issue_picker("null", "project = DQ")] == ["DQ-1"]
    assert [i.key for i in client.search("project = DQ ORDER BY key ASC")] == ["DQ-1", "DQ-2"]
    assert [i.key for i in client.find_issues_by_label("anomaly-desk-1", "DQ")] == ["DQ-1"]
    done = next(t for t in client.transitions("DQ-1") if t.to_category == "done")
    client.do_transition("DQ-1", done.id)
    assert client.get_issue("DQ-1").status_category == "done"
    client.set_property("DQ-1", "anomaly-desk", {"id": 2})
    assert client.get_property("DQ-1", "anomaly-desk") == {"id": 2}


def test_refusals_surface_as_client_errors(client):
    with pytest.raises(NotFound):
        client.get_issue("DQ-999")
    with pytest.raises(BadRequest):
        client.create_issue({**DEMO, "summary": "x", "labels": ["has space"]})
    with pytest.raises(BadRequest):
        list(client.search("project = DQ OR project = OPS"))


def test_flavour_detection_and_bad_credentials(both):
    assert detect_flavour(both.base_url) is Flavour.CLOUD
    wrong = JiraClient(
        both.base_url, BasicAuth("demo@anomaly-desk.example", "nope"), flavour=Flavour.CLOUD
    )
    with pytest.raises(BadCredentials):
        wrong.myself()


def test_removed_search_is_gone_for_a_cloud_client_on_v2(both):
    running = start_sandbox_in_thread(SandboxConfig(flavour="cloud"))
    try:
        legacy = JiraClient(
            running.base_url,
            BasicAuth("demo@anomaly-desk.example", "sandbox-api-token"),
            flavour=Flavour.DATA_CENTER,
            api_prefix="rest/api/2",
        )
        with pytest.raises(Gone):
            list(legacy.search("project = DQ"))
    finally:
        running.stop()


def test_rate_limit_is_retried_for_reads_honouring_retry_after(client, both):
    _script(both, kind="status", method="GET", path="/myself$", status=429, retry_after=1, count=1)
    assert client.myself()
    assert client.sleeps and client.sleeps[0] >= 1


def test_persistent_rate_limit_raises_rate_limited(client, both):
    _script(
        both, kind="status", method="GET", path="/myself$", status=429, retry_after=1, count=None
    )
    with pytest.raises(RateLimited):
        client.myself()


def test_5xx_is_retried_for_reads_and_raised_when_it_persists(client, both):
    _script(both, kind="status", method="GET", path="/issue/createmeta", status=503, count=1)
    assert client.issue_types("DQ")
    _script(both, kind="status", method="GET", path="/myself$", status=502, count=None)
    with pytest.raises(ServerError):
        client.myself()


def test_timeout_on_a_read_is_retried(client, both):
    _script(both, kind="timeout", method="GET", path="/myself$", count=1)
    assert client.myself()


def test_lost_create_answer_is_not_resent_and_the_issue_exists(client, both):
    _script(both, kind="drop_after_apply", method="POST", path="/issue$", count=1)
    with pytest.raises(JiraConnectionError):
        client.create_issue({**DEMO, "summary": "Once only", "labels": ["anomaly-desk-9"]})
    received = sum(
        n
        for k, n in _stats(both)["received"].items()
        if k.startswith("POST") and k.endswith("/issue")
    )
    assert received == 1  # the POST was not retried blindly
    assert [i.key for i in client.find_issues_by_label("anomaly-desk-9", "DQ")] == ["DQ-1"]


def test_dropped_create_before_apply_creates_nothing(client, both):
    _script(both, kind="drop", method="POST", path="/issue$", count=1)
    with pytest.raises(JiraConnectionError):
        client.create_issue({**DEMO, "summary": "Never", "labels": ["anomaly-desk-8"]})
    assert client.find_issues_by_label("anomaly-desk-8", "DQ") == []


def test_hanging_create_raises_timeout(client, both):
    _script(both, kind="timeout", method="POST", path="/comment$", count=1)
    client.create_issue({**DEMO, "summary": "Has comments"})
    with pytest.raises(JiraTimeout):
        client.add_comment("DQ-1", "hello")


def test_captcha_is_not_retried(client, both):
    _script(both, kind="captcha", path="/myself$", count=None)
    with pytest.raises(CaptchaRequired):
        client.myself()
    assert _stats(both)["injected"]["captcha"] == 1
