"""A log made for debugging: copy-as-cURL of what the engine sends, and Retry for every action.

The cURL command is checked against the request the engine really sent (the
client's own session records it) and then run with curl against the sandbox,
with the credentials given only as shell variables.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL, DEMO_DC_PAT
from lib.jira.sandbox.faults import Fault
from lib.reporting.curl import auth_option
from lib.reporting.log_service import LogService, Resend
from lib.store.sync_log import SyncMode
from lib.tickets.automation import AutomationService
from tests.sync.conftest import FixedClock

# A summary a shell would otherwise expand or cut: quotes, $, backticks, a newline.
SUMMARY = "O'Brien's $HOME `whoami` nulls\nin orders"
SECRETS = (
    DEMO_CLOUD_API_TOKEN,
    DEMO_DC_PAT,
    base64.b64encode(f"{DEMO_CLOUD_EMAIL}:{DEMO_CLOUD_API_TOKEN}".encode()).decode(),
)


def connection_of(h) -> SimpleNamespace:
    """What the log service reads of a connection: where, which API, which kind of secret."""
    return SimpleNamespace(
        host=h.sandbox.base_url,
        flavour=h.flavour,
        auth_type="basic" if h.flavour == "cloud" else "bearer",
        api_prefix=None,
    )


def log_service(h) -> LogService:
    return LogService(
        h.db,
        FixedClock(),
        h.engine.retry,
        resend=Resend(
            refresh=lambda link_id, actor: h.tickets.refresh(link_id, actor=actor),
            link=lambda anomaly_id, key, actor: h.tickets.link_existing(anomaly_id, key, actor),
        ),
        connection_for=lambda connection_id: connection_of(h),
    )


def recording(h) -> list:
    """Every request the engine's client sends from now on (method, url, parsed body)."""
    sent: list = []

    def keep(response, *args, **kwargs):
        request = response.request
        body = json.loads(request.body) if request.body else None
        sent.append((request.method, request.url, body))

    h.client._session.hooks["response"].append(keep)
    return sent


def parsed(command: str) -> tuple[str, str, object]:
    words = shlex.split(command)
    body = words[words.index("--data-raw") + 1] if "--data-raw" in words else None
    return (
        words[words.index("--request") + 1],
        words[words.index("--url") + 1],
        json.loads(body) if body is not None else None,
    )


def run_curl(h, command: str) -> tuple[int, str]:
    """Run the command as a person would, the credentials in the shell's environment."""
    assert shutil.which("curl"), "curl is needed to run the copied command"
    env = {
        "PATH": os.environ["PATH"],
        "JIRA_EMAIL": DEMO_CLOUD_EMAIL,
        "JIRA_API_TOKEN": DEMO_CLOUD_API_TOKEN,
        "JIRA_TOKEN": DEMO_DC_PAT,
    }
    done = subprocess.run(
        ["bash", "-c", command + " -sS -w '\\n%{http_code}'"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def assert_no_secret(command: str) -> None:
    for secret in SECRETS:
        assert secret not in command
    assert "Basic " not in command
    assert "Bearer $JIRA_TOKEN" in command or '-u "$JIRA_EMAIL:$JIRA_API_TOKEN"' in command


def test_a_create_as_curl_is_what_the_engine_sent_and_makes_the_same_issue(harness):
    h = harness
    sent = recording(h)
    h.tickets.create_ticket(1, summary=SUMMARY, actor="alice")
    [row] = h.log_rows(action="create")
    command = log_service(h).curl(row.id).command
    assert_no_secret(command)
    [(method, url, body)] = [s for s in sent if s[0] == "POST"]
    assert parsed(command) == (method, url, body)
    status, answer = run_curl(h, command)
    assert status == 201, answer
    made = h.state.get(json.loads(answer)["key"])
    assert made.summary == body["fields"]["summary"] and "$HOME `whoami`" in made.summary
    assert made.description == body["fields"]["description"]
    assert f"anomaly-desk-{row.anomaly_id}" in made.labels


def test_a_comment_and_an_update_as_curl_are_what_the_engine_sent(harness):
    h = harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    auto = AutomationService(h.db, h.engine, lambda: h.holder["active"])
    assert auto.run("job-1|CREATE|summary;Disk full").ok
    sent = recording(h)
    h.changes.acknowledge(1, "alice", mode=SyncMode.MANUAL)
    assert auto.run("job-1|UPDATE|priority;Low|description;See https://desk.test/a/1").ok
    h.drain()
    log = log_service(h)
    for action, method in (("comment", "POST"), ("update", "PUT")):
        [row] = h.log_rows(action=action)
        command = log.curl(row.id).command
        assert_no_secret(command)
        assert parsed(command) in [s for s in sent if s[0] == method]
        status, answer = run_curl(h, command)
        assert status in (201, 204), answer
    assert h.comments(key)[-1] == h.comments(key)[-2]  # the copied comment landed as the first


def test_rows_without_a_call_say_why_and_dc_basic_auth_gets_its_own_variables(harness):
    h = harness
    link = h.tickets.create_ticket(1, summary="s", actor="alice").link
    h.tickets.unlink(link.id, "alice")
    [row] = h.log_rows(action="unlink")
    with pytest.raises(ValueError, match="made no call"):
        log_service(h).curl(row.id)
    assert auth_option("basic", "dc") == (
        '-u "$JIRA_USERNAME:$JIRA_PASSWORD"',
        ("JIRA_USERNAME", "JIRA_PASSWORD"),
    )


# -- Retry for every action that can be sent again ---------------------------------------
def test_retry_requeues_failed_outbox_rows_of_every_kind(cloud_harness):
    h = cloud_harness
    h.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=400, method="POST", path=r"/issue$")]
    )
    log = log_service(h)
    with pytest.raises(Exception):  # noqa: B017 - the page shows Jira's refusal
        h.tickets.create_ticket(1, summary="s", actor="alice")
    [create] = h.log_rows(action="create", status="failed")
    assert log.details(create.id).retryable
    result = log.retry(create.id, "alice")
    assert result.ok and "never makes a second ticket" in result.message
    h.drain()
    assert h.engine.log.get(create.id).status == "ok"
    h.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=400, method="POST", path=r"/comment$")]
    )
    h.changes.acknowledge(1, "alice", mode=SyncMode.MANUAL)
    h.drain()
    [comment] = h.log_rows(action="comment", status="failed")
    assert log.retry(comment.id, "alice").ok
    h.drain()
    assert h.engine.log.get(comment.id).status == "ok"
    auto = AutomationService(h.db, h.engine, lambda: h.holder["active"])
    assert auto.run("job-2|CREATE|summary;Disk full").ok
    h.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=400, method="PUT", path=r"/issue/")]
    )
    auto.run("job-2|UPDATE|priority;Low")
    h.drain()
    [update] = h.log_rows(action="update", status="failed")
    assert log.details(update.id).retryable and log.retry(update.id, "alice").ok
    h.drain()
    assert h.engine.log.get(update.id).status == "ok"


def test_retry_reads_a_failed_refresh_again(cloud_harness):
    h = cloud_harness
    link = h.tickets.create_ticket(1, summary="s", actor="alice").link
    h.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=503, method="GET", path=r"/issue/")]
    )
    with pytest.raises(Exception):  # noqa: B017 - a failed read is raised to the caller
        h.tickets.refresh(link.id)
    [failed] = h.log_rows(action="refresh", status="failed")
    log = log_service(h)
    assert log.details(failed.id).retryable
    result = log.retry(failed.id, "alice")
    assert result.ok and result.message.startswith(f"Read {link.issue_key} again")
    assert [r.actor for r in h.log_rows(action="refresh", status="ok")] == ["alice"]


def test_retry_links_again_after_a_failed_link_and_unlinks_are_not_retried(cloud_harness):
    h = cloud_harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    h.sandbox.runtime.faults.add_faults(
        [Fault(kind="status", status=503, method="GET", path=r"/issue/")]
    )
    with pytest.raises(Exception):  # noqa: B017 - TicketRefused, shown on the page
        h.tickets.link_existing(2, key, "alice")
    [failed] = h.log_rows(action="link", status="failed")
    log = log_service(h)
    result = log.retry(failed.id, "bob")
    assert result.ok and f"Linked {key} to anomaly 2" in result.message
    assert [link.issue_key for link in h.tickets.links_for(2)] == [key]
    again = log.retry(failed.id, "bob")  # now linked: refused in words, nothing changes
    assert not again.ok and "already linked" in again.message
    h.tickets.unlink(h.tickets.links_for(2)[0].id, "bob")
    [unlink] = h.log_rows(action="unlink")
    with pytest.raises(ValueError, match="not a failed row"):
        log.retry(unlink.id, "bob")


def test_a_read_as_curl_is_the_recorded_call_and_runs(harness):
    h = harness
    link = h.tickets.create_ticket(1, summary="s", actor="alice").link
    h.tickets.refresh(link.id)
    [row] = h.log_rows(action="refresh")
    command = log_service(h).curl(row.id).command
    assert_no_secret(command)
    method, url, body = parsed(command)
    assert (method, body) == ("GET", None) and url == h.client.url(f"/issue/{link.issue_id}")
    status, answer = run_curl(h, command)
    assert status == 200 and json.loads(answer)["key"] == link.issue_key
