"""The retry decision as a table, plus the client's use of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from lib.jira import JiraTimeout, RateLimited, ServerError
from lib.jira.retry import RetryPolicy, equal_jitter, retry_delay, server_wait

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
    ("GET", 500, None, 1, {}, False, None),  # 500: a bug, not a hiccup
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
