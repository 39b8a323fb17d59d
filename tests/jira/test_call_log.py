"""A failed Jira call leaves one server log line: method, path, status, request id, no secret."""

from __future__ import annotations

import logging

import pytest
import requests

from lib.jira import BasicAuth, BearerAuth, Flavour, JiraError, RetryPolicy
from tests.jira.conftest import CLOUD_URL, DC_URL, TOKEN, make_client

USER = "bot@acme.example"


def _failed_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("jira.request.failed")]


@pytest.mark.parametrize(
    "flavour, base, auth",
    [
        (Flavour.CLOUD, CLOUD_URL, BasicAuth(USER, TOKEN)),
        (Flavour.DATA_CENTER, DC_URL, BearerAuth(TOKEN)),
    ],
)
def test_a_refused_call_logs_method_path_status_and_request_id(mocked, caplog, flavour, base, auth):
    caplog.set_level(logging.DEBUG, logger="anomaly_desk.jira")
    client = make_client(flavour, base, [], auth=auth)
    # The query carries the token (a user pasted it into a search): never logged.
    mocked.get(
        client.url("/issue/picker"),
        status=403,
        headers={"X-AREQUESTID": "req-7f3a"},
        json={"errorMessages": [f"no {TOKEN}"]},
    )
    with pytest.raises(JiraError):
        client.issue_picker(f"token {TOKEN}")
    [record] = _failed_lines(caplog)
    line = record.getMessage()
    assert "method=GET" in line and "path=/issue/picker" in line, line
    assert "status=403" in line and "request_id=req-7f3a" in line and "code=forbidden" in line
    assert (record.jira_method, record.jira_status, record.jira_request_id) == (
        "GET",
        403,
        "req-7f3a",
    )
    everything = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert TOKEN not in everything and "?" not in line and "query=" not in everything
    assert "Authorization" not in everything and base not in everything  # nor the full URL


def test_a_call_without_an_answer_logs_its_method_path_and_no_status(mocked, caplog):
    caplog.set_level(logging.INFO, logger="anomaly_desk.jira")
    client = make_client(
        Flavour.DATA_CENTER, DC_URL, [], auth=BearerAuth(TOKEN), retry_policy=RetryPolicy(2)
    )
    mocked.put(client.url("/issue/DQ-1"), body=requests.ConnectionError(f"reset {TOKEN}"))
    mocked.put(client.url("/issue/DQ-1"), body=requests.ReadTimeout("slow"))
    with pytest.raises(JiraError):
        client.edit_issue("DQ-1", {"summary": "x"})
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("jira.request.retry method=PUT path=/issue/DQ-1") for m in messages)
    [failed] = [m for m in messages if m.startswith("jira.request.failed")]
    assert "method=PUT path=/issue/DQ-1 status=None request_id=None code=timeout" in failed
    assert TOKEN not in caplog.text


def test_a_secret_in_the_path_is_scrubbed_from_the_line(mocked, caplog):
    caplog.set_level(logging.WARNING, logger="anomaly_desk.jira")
    client = make_client(Flavour.DATA_CENTER, DC_URL, [], auth=BearerAuth(TOKEN))
    mocked.get(client.url(f"/issue/{TOKEN}"), status=404, json={"errorMessages": ["gone"]})
    with pytest.raises(JiraError):
        client.get_issue(TOKEN)
    [record] = _failed_lines(caplog)
    assert TOKEN not in record.getMessage() and "path=/issue/[redacted]" in record.getMessage()
