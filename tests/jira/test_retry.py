"""The retry decision as a table, plus the client's use of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from lib.jira import Flavour, JiraError, JiraTimeout, RateLimited, ServerError, UnexpectedAnswer
from lib.jira.errors import classify_error
from lib.jira.retry import (
    RetryPolicy,
    Verdict,
    classify,
    equal_jitter,
    retry_delay,
    server_wait,
)
from lib.outbox.policy import disposition
from tests.jira.conftest import DC_URL, make_client

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=5.0, max_server_wait=60.0)


def no_jitter(delay: float) -> float:
    return delay


# (method, status, failure, attempt, headers, captcha, expected delay or None)
TABLE = [
    ("GET", 429, None, 1, {}, False, 1.0),
    ("GET", 502, None, 1, {}, False, 1.0),
    ("GET", 503, None, 2, {}, False, 2.0),
    ("GET", 504, None, 3, {}, False, 4.0),
    ("PUT", 503, None, 1, {}, False, 1.0),
    ("DELETE", 504, None, 1, {}, False, 1.0),
    ("GET", None, "timeout", 1, {}, False, 1.0),
    ("PUT", None, "connection", 2, {}, False, 2.0),
    ("GET", 503, None, 4, {}, False, None),  # max attempts reached
    ("GET", 500, None, 1, {}, False, 1.0),  # one rule with the outbox: a GET may go again
    ("GET", 501, None, 1, {}, False, None),  # not implemented: it never will be
    ("POST", None, "dns", 1, {}, False, 1.0),  # nothing reached Jira
    ("GET", 400, None, 1, {}, False, None),
    ("GET", 401, None, 1, {}, False, None),
    ("GET", 403, None, 1, {}, False, None),
    ("GET", 404, None, 1, {}, False, None),
    ("GET", 401, None, 1, {}, True, None),  # CAPTCHA: never
    ("GET", 429, None, 1, {}, True, None),
    ("POST", None, "timeout", 1, {}, False, None),  # a lost POST may have been applied
    ("POST", None, "connection", 1, {}, False, None),
    ("POST", 502, None, 1, {}, False, None),  # a gateway error may hide an applied POST
    ("POST", 504, None, 1, {}, False, None),
    ("POST", 429, None, 1, {}, False, 1.0),  # Jira refused it: not applied
    ("POST", 503, None, 1, {}, False, 1.0),
    ("GET", 429, None, 1, {"Retry-After": "7"}, False, 7.0),
    ("POST", 429, None, 1, {"retry-after": "3"}, False, 3.0),
    ("GET", 429, None, 1, {"Retry-After": "Wed, 01 Jan 2025 12:00:30 GMT"}, False, 30.0),
    ("GET", 429, None, 1, {"X-RateLimit-Reset": "2025-01-01T12:00:10Z"}, False, 10.0),
    ("GET", 429, None, 1, {"X-RateLimit-Reset": "2025-01-01T12:00:20.000+00:00"}, False, 20.0),
    ("GET", 429, None, 1, {"Retry-After": "3600"}, False, None),  # longer than we block: give up
    ("GET", 429, None, 1, {"Retry-After": "soon"}, False, 1.0),  # unreadable: own backoff
    ("GET", 503, None, 1, {"Retry-After": "Wed, 01 Jan 2025 11:00:00 GMT"}, False, 0.0),  # past
]


@pytest.mark.parametrize("method,status,failure,attempt,headers,captcha,expected", TABLE)
def test_retry_table(method, status, failure, attempt, headers, captcha, expected):
    got = retry_delay(
        POLICY,
        method,
        attempt=attempt,
        status=status,
        failure=failure,
        captcha=captcha,
        headers=headers,
        now=NOW,
        jitter=no_jitter,
    )
    assert got == expected


def test_backoff_is_capped():
    delays = [
        retry_delay(
            RetryPolicy(max_attempts=20, base_delay=1, max_delay=5),
            "GET",
            attempt=n,
            status=503,
            now=NOW,
            jitter=no_jitter,
        )
        for n in range(1, 8)
    ]
    assert delays == [1, 2, 4, 5, 5, 5, 5]


def test_equal_jitter_stays_between_half_and_full():
    assert equal_jitter(4.0, rand=lambda: 0.0) == 2.0
    assert equal_jitter(4.0, rand=lambda: 1.0) == 4.0
    assert 2.0 <= equal_jitter(4.0) <= 4.0


def test_server_wait_prefers_retry_after():
    assert (
        server_wait({"Retry-After": "5", "X-RateLimit-Reset": "2025-01-01T12:01:00Z"}, NOW) == 5.0
    )
    assert server_wait({}, NOW) is None


def test_client_retries_get_with_backoff_then_succeeds(cloud, mocked, sleeps):
    url = cloud.url("/myself")
    mocked.get(url, status=503, body="busy")
    mocked.get(url, status=429, headers={"Retry-After": "2"}, json={"message": "slow down"})
    from tests.jira.conftest import fixture

    mocked.get(url, json=fixture("cloud_myself"))
    assert cloud.myself().display_name == "Anomaly Bot"
    assert len(sleeps) == 2 and 0 < sleeps[0] <= 0.01 and sleeps[1] == 2.0


def test_client_gives_up_after_max_attempts(cloud, mocked, sleeps):
    mocked.get(
        cloud.url("/myself"),
        status=502,
        body="<html><title>Bad gateway</title></html>",
        content_type="text/html",
    )
    with pytest.raises(ServerError) as info:
        cloud.myself()
    assert len(mocked.calls) == 3 and len(sleeps) == 2
    assert "Bad gateway" in str(info.value)


def test_client_never_resends_a_post_whose_answer_was_lost(dc, mocked, sleeps):
    mocked.post(dc.url("/issue"), body=requests.ReadTimeout("lost"))
    with pytest.raises(JiraTimeout):
        dc.create_issue({"summary": "x"})
    assert len(mocked.calls) == 1 and sleeps == []


def test_client_retries_a_post_refused_with_429(dc, mocked, sleeps):
    mocked.post(dc.url("/issue/DQ-1/comment"), status=429, headers={"Retry-After": "1"})
    mocked.post(dc.url("/issue/DQ-1/comment"), status=201, json={"id": "1", "body": "hi"})
    assert dc.add_comment("DQ-1", "hi").id == "1"
    assert sleeps == [1.0]


def test_rate_limited_error_carries_the_wait(cloud, mocked):
    mocked.get(
        cloud.url("/myself"),
        status=429,
        headers={"Retry-After": "500"},
        json={"errorMessages": ["Rate limit exceeded"]},
    )
    with pytest.raises(RateLimited) as info:
        cloud.myself()
    assert info.value.retry_after == 500.0 and len(mocked.calls) == 1


# ---------------------------------------------------------------- one classification
# (method, status, failure, captcha, server wait, verdict)
V = Verdict
CLASSIFICATION = [
    ("GET", 429, None, False, None, V.RETRY_NOW),
    ("GET", 429, None, False, 7.0, V.RETRY_LATER),
    ("POST", 429, None, False, 3.0, V.RETRY_LATER),  # refused before it was applied
    ("POST", 429, None, False, None, V.RETRY_NOW),
    ("POST", 503, None, False, None, V.RETRY_NOW),
    ("POST", 409, None, False, None, V.RETRY_NOW),
    ("PUT", 409, None, False, None, V.RETRY_NOW),
    ("GET", 408, None, False, None, V.RETRY_NOW),
    ("POST", 408, None, False, None, V.ANSWER_LOST),
    ("GET", 500, None, False, None, V.RETRY_NOW),
    ("PUT", 502, None, False, None, V.RETRY_NOW),
    ("GET", 504, None, False, 5.0, V.RETRY_LATER),
    ("POST", 500, None, False, None, V.ANSWER_LOST),  # may come after the write
    ("POST", 502, None, False, 5.0, V.ANSWER_LOST),  # a wait does not make it safe
    ("POST", 504, None, False, None, V.ANSWER_LOST),
    ("GET", 501, None, False, None, V.PERMANENT),
    ("POST", 400, None, False, None, V.PERMANENT),
    ("PUT", 401, None, False, None, V.PERMANENT),
    ("GET", 401, None, True, None, V.PERMANENT),  # CAPTCHA: never
    ("GET", 429, None, True, 1.0, V.PERMANENT),
    ("GET", 403, None, False, None, V.PERMANENT),
    ("GET", 404, None, False, None, V.PERMANENT),
    ("PUT", 405, None, False, None, V.PERMANENT),
    ("GET", 410, None, False, None, V.PERMANENT),
    ("POST", 413, None, False, None, V.PERMANENT),
    ("PUT", 422, None, False, None, V.PERMANENT),
    ("GET", None, "timeout", False, None, V.RETRY_NOW),
    ("PUT", None, "connection", False, None, V.RETRY_NOW),
    ("POST", None, "timeout", False, None, V.ANSWER_LOST),
    ("POST", None, "connection", False, None, V.ANSWER_LOST),
    ("POST", None, "dns", False, None, V.RETRY_NOW),  # refused before any byte was sent
    ("POST", None, "tls", False, None, V.RETRY_NOW),
    ("POST", None, "unreadable", False, None, V.ANSWER_LOST),  # a login page after a POST
    ("GET", None, "unreadable", False, None, V.RETRY_NOW),
]


@pytest.mark.parametrize("method,status,failure,captcha,wait,verdict", CLASSIFICATION)
def test_classification_table(method, status, failure, captcha, wait, verdict):
    got = classify(method, status=status, failure=failure, captcha=captcha, wait=wait)
    assert got.verdict is verdict
    assert got.wait == (wait if verdict is V.RETRY_LATER else None)


# Rows the client can meet over HTTP: what it is sent, and the call that meets it.
_EXCEPTIONS = {
    "timeout": requests.ReadTimeout("read timed out"),
    "connection": requests.ConnectionError("Connection reset by peer"),
    "dns": requests.ConnectionError("Failed to resolve 'jira': Name or service not known"),
    "tls": requests.exceptions.SSLError("certificate verify failed"),
}
_CALLS = {
    "GET": ("GET", "/myself", lambda c: c.myself()),
    "PUT": ("PUT", "/issue/DQ-1", lambda c: c.edit_issue("DQ-1", {"summary": "x"})),
    "POST": ("POST", "/issue/DQ-1/comment", lambda c: c.add_comment("DQ-1", "x")),
}
_OK = {
    "GET": {"json": {"accountId": "a", "displayName": "Bot"}, "status": 200},
    "PUT": {"status": 204},
    "POST": {"json": {"id": "1", "body": "x"}, "status": 201},
}


def _failure(status, failure, captcha, wait) -> dict:
    if failure is not None:
        return {"body": _EXCEPTIONS[failure]}
    headers = {"Retry-After": str(int(wait))} if wait is not None else {}
    if captcha:
        headers["X-Seraph-LoginReason"] = "AUTHENTICATION_DENIED"
    return {"status": status, "headers": headers, "json": {"errorMessages": ["no"]}}


@pytest.mark.parametrize(
    "method,status,failure,captcha,wait,verdict",
    [row for row in CLASSIFICATION if row[2] != "unreadable"],
)
def test_client_retry_and_outbox_disposition_agree_on_every_row(
    mocked, method, status, failure, captcha, wait, verdict
):
    verb, path, call = _CALLS[method]
    sleeps: list[float] = []
    client = make_client(
        Flavour.DATA_CENTER,
        DC_URL,
        sleeps,
        retry_policy=RetryPolicy(max_attempts=2, base_delay=0.01, max_server_wait=60),
    )
    mocked.add(verb, client.url(path), **_failure(status, failure, captcha, wait))
    mocked.add(verb, client.url(path), **_OK[method])
    retryable = verdict in (V.RETRY_NOW, V.RETRY_LATER)
    if retryable:
        call(client)  # the second answer is the good one
        assert len(sleeps) == 1 and (verdict is V.RETRY_NOW or sleeps == [wait])
    else:
        with pytest.raises(JiraError) as raised:
            call(client)
        assert sleeps == [] and len(mocked.calls) == 1
    # The outbox, given the error the client raises on a single try, agrees.
    mocked.reset()
    mocked.add(verb, client.url(path), **_failure(status, failure, captcha, wait))
    single = make_client(Flavour.DATA_CENTER, DC_URL, [], retry_policy=RetryPolicy(max_attempts=1))
    with pytest.raises(JiraError) as raised:
        call(single)
    expected = {V.ANSWER_LOST: "lost", V.PERMANENT: "permanent"}.get(verdict, "retry")
    assert disposition(raised.value, post=method == "POST") == expected
    assert classify_error(raised.value, method).verdict is verdict


def test_an_unreadable_answer_is_classified_like_a_lost_one_for_a_post():
    error = UnexpectedAnswer("login page", status=200, method="POST", path="/x")
    assert disposition(error, post=True) == "lost" and disposition(error, post=False) == "retry"


def test_the_outbox_backoff_uses_the_one_jitter():
    from lib.outbox.policy import Backoff

    for rand in (0.0, 0.3, 1.0):
        assert Backoff(base=2, cap=300, rand=lambda r=rand: r).delay(3) == equal_jitter(
            8, rand=lambda r=rand: r
        )
