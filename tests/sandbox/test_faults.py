"""Fault injection over real HTTP: rate limits, 5xx, hangs and dropped connections.

What a dropped connection looks like to ``requests`` (verified here, not
assumed): ``requests.exceptions.ConnectionError`` wrapping
``ProtocolError('Connection aborted.', RemoteDisconnected('Remote end closed
connection without response'))`` - the same as a Jira node dying mid-request,
for GET and POST alike (the sandbox reads the request body before closing, so
the close is never a reset). A hang shows as ``requests.exceptions.ReadTimeout``
at the client's own timeout (a ``Timeout``, not a ``ConnectionError``).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from tests.waiting import wait_until

from .conftest import CLOUD_AUTH, issue_fields

HANG_SECONDS = 1.5


@pytest.fixture(scope="module")
def faulty():
    running = start_sandbox_in_thread(
        SandboxConfig(flavour="cloud", hang_seconds=HANG_SECONDS, seed=7)
    )
    yield running
    running.stop()


@pytest.fixture()
def sandbox(faulty):
    requests.post(faulty.base_url + "/_sandbox/reset", timeout=5).raise_for_status()
    return faulty


def _script(sandbox, *faults: dict) -> None:
    response = requests.post(sandbox.base_url + "/_sandbox/faults", json=list(faults), timeout=5)
    assert response.status_code == 201, response.text


def _create(sandbox, timeout: float = 5) -> requests.Response:
    return requests.post(
        sandbox.base_url + "/rest/api/3/issue",
        json={"fields": issue_fields()},
        auth=CLOUD_AUTH,
        timeout=timeout,
    )


def _stats(sandbox) -> dict:
    return requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5).json()


def _issue_count(sandbox) -> int:
    page = requests.get(
        sandbox.base_url + "/rest/api/3/search/jql",
        params={"jql": "project = DQ"},
        auth=CLOUD_AUTH,
        timeout=5,
    )
    return len(page.json()["issues"])


def test_rate_limit_answers_429_with_retry_after_after_n_requests(sandbox):
    requests.post(
        sandbox.base_url + "/_sandbox/settings",
        json={"rate_limit": 5, "rate_limit_seconds": 30},
        timeout=5,
    )
    url = sandbox.base_url + "/rest/api/3/myself"
    answers = [requests.get(url, auth=CLOUD_AUTH, timeout=5) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert "X-RateLimit-NearLimit" not in answers[0].headers
    assert answers[4].headers["X-RateLimit-NearLimit"] == "true"
    limited = answers[5]
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert limited.headers["RateLimit-Reason"] and limited.headers["X-RateLimit-Reset"].endswith(
        "Z"
    )


def test_error_rate_gives_a_seeded_share_of_5xx(sandbox):
    requests.post(sandbox.base_url + "/_sandbox/settings", json={"error_rate": 0.5}, timeout=5)
    codes = [
        requests.get(
            sandbox.base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5
        ).status_code
        for _ in range(40)
    ]
    failures = [code for code in codes if code != 200]
    assert 8 <= len(failures) <= 32 and set(failures) <= {500, 502, 503, 504}
    requests.post(sandbox.base_url + "/_sandbox/reset", timeout=5)
    requests.post(sandbox.base_url + "/_sandbox/settings", json={"error_rate": 0.5}, timeout=5)
    again = [
        requests.get(
            sandbox.base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5
        ).status_code
        for _ in range(40)
    ]
    assert again == codes  # same seed, same run


def test_scripted_status_fault_with_retry_after_hits_only_its_count(sandbox):
    _script(
        sandbox,
        {
            "kind": "status",
            "method": "POST",
            "path": r"^/rest/api/3/issue$",
            "status": 503,
            "retry_after": 2,
            "count": 1,
        },
    )
    first, second = _create(sandbox), _create(sandbox)
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert second.status_code == 201 and second.json()["key"] == "DQ-1"


def test_drop_before_apply_raises_connection_error_and_creates_nothing(sandbox):
    _script(sandbox, {"kind": "drop", "method": "POST", "path": "/issue$"})
    with pytest.raises(requests.exceptions.ConnectionError) as dropped:
        _create(sandbox)
    assert "RemoteDisconnected" in repr(dropped.value)
    assert _issue_count(sandbox) == 0
    stats = _stats(sandbox)
    assert (
        stats["received"]["POST /rest/api/3/issue"] == 1
        and "POST /rest/api/3/issue" not in stats["applied"]
    )


def test_drop_after_apply_loses_the_answer_but_keeps_the_issue(sandbox):
    _script(sandbox, {"kind": "drop_after_apply", "method": "POST", "path": "/issue$"})
    with pytest.raises(requests.exceptions.ConnectionError):
        _create(sandbox)
    assert _issue_count(sandbox) == 1
    assert _stats(sandbox)["applied"]["POST /rest/api/3/issue"] == 1
    assert _create(sandbox).json()["key"] == "DQ-2"  # the connection pool recovers


def test_timeout_hangs_without_blocking_other_requests(sandbox):
    _script(sandbox, {"kind": "timeout", "method": "POST", "path": "/issue$"})
    outcome: dict = {}

    def hanging_create() -> None:
        try:
            _create(sandbox, timeout=HANG_SECONDS / 3)
        except requests.exceptions.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=hanging_create)
    thread.start()
    wait_until(
        lambda: (
            requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5)
            .json()["injected"]
            .get("timeout")
        ),
        5,
        "the create hanging in the sandbox",
    )
    # Wall-clock on purpose: that a hang does not block other requests is the point.
    started = time.monotonic()
    assert (
        requests.get(
            sandbox.base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5
        ).status_code
        == 200
    )
    assert time.monotonic() - started < HANG_SECONDS / 2
    thread.join()
    assert isinstance(outcome["error"], requests.exceptions.ReadTimeout)
    assert _issue_count(sandbox) == 0


def test_latency_delays_answers(sandbox):
    _script(sandbox, {"kind": "latency", "path": "/myself", "latency_ms": 300})
    started = time.monotonic()  # the fault's latency is what is measured
    assert (
        requests.get(
            sandbox.base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5
        ).status_code
        == 200
    )
    assert time.monotonic() - started >= 0.3


def test_captcha_fault_sends_the_seraph_header(sandbox):
    _script(sandbox, {"kind": "captcha", "path": "/myself"})
    answer = requests.get(sandbox.base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5)
    assert (
        answer.status_code == 401
        and answer.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    )


def test_control_api_lists_clears_and_refuses_bad_faults(sandbox):
    _script(sandbox, {"kind": "drop", "count": None})
    assert len(requests.get(sandbox.base_url + "/_sandbox/faults", timeout=5).json()) == 1
    assert requests.delete(sandbox.base_url + "/_sandbox/faults", timeout=5).status_code == 204
    assert requests.get(sandbox.base_url + "/_sandbox/faults", timeout=5).json() == []
    assert (
        requests.post(
            sandbox.base_url + "/_sandbox/faults", json={"kind": "explode"}, timeout=5
        ).status_code
        == 400
    )
    assert (
        requests.post(
            sandbox.base_url + "/_sandbox/settings", json={"nonsense": 1}, timeout=5
        ).status_code
        == 400
    )


def test_apply_late_times_the_client_out_and_lands_the_write_later(sandbox):
    _script(sandbox, {"kind": "apply_late", "method": "POST", "path": "/issue$", "latency_ms": 600})
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _create(sandbox, timeout=0.3)
    assert _issue_count(sandbox) == 0  # the client gave up; Jira has not applied it yet
    wait_until(lambda: _issue_count(sandbox), 5, "the late write landing")
    # Measured on the wall clock on purpose: the sandbox's latency is the point.
    assert _issue_count(sandbox) == 1 and time.monotonic() - started >= 0.6
    stats = _stats(sandbox)
    assert stats["applied"]["POST /rest/api/3/issue"] == 1
    assert stats["injected"] == {"apply_late": 1}
    assert stats["bodies"][0]["body"]["fields"]["summary"] == issue_fields()["summary"]
