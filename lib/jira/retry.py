"""When to send a Jira request again, and after how long: pure functions.

The decision is separated from the HTTP code so a table of tests can pin
every case (see tests/jira/test_retry.py), and the random jitter lives in its
own function so those tests can replace it.

Decisions, and why:
- GET, PUT, DELETE (idempotent) are retried on 429, 502, 503, 504, timeouts
  and connection errors.
- POST is retried only when Jira *answered* 429 or 503: Jira refused the
  request before applying it, so sending it again cannot create a duplicate.
  A POST whose answer was lost (timeout, dropped connection) may have been
  applied: it is never re-sent here; the caller (the sync engine) looks for
  the result first (label search, list comments).
- 400, 401, 403, 404 and a CAPTCHA lockout are never retried: the same
  request would fail the same way (and CAPTCHA retries lock the account).
- A server-given wait (Retry-After seconds or HTTP date, X-RateLimit-Reset
  ISO time) is honoured as-is; if it is longer than ``max_server_wait`` we
  give up instead, so a worker can reschedule rather than block a thread.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that prove Jira did not apply the request, so even a POST may go again.
NOT_APPLIED_STATUSES = frozenset({429, 503})
# Failure kinds reported by the client for exceptions (no HTTP answer).
TIMEOUT = "timeout"
CONNECTION = "connection"
RETRYABLE_FAILURES = frozenset({TIMEOUT, CONNECTION})


@dataclass(frozen=True)
class RetryPolicy:
    """Limits for retries; ``max_attempts`` counts the first try."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_server_wait: float = 120.0


def equal_jitter(delay: float, rand: Callable[[], float] = random.random) -> float:
    """Spread clients out: a delay between half and all of ``delay``."""
    return delay / 2 + rand() * delay / 2


def server_wait(headers: Mapping[str, str] | None, now: datetime) -> float | None:
    """Seconds the server asked us to wait (Retry-After, X-RateLimit-Reset), or None."""
    if not headers:
        return None
    retry_after = _header(headers, "Retry-After")
    if retry_after is not None:
        seconds = _parse_retry_after(retry_after, now)
        if seconds is not None:
            return seconds
    reset = _header(headers, "X-RateLimit-Reset")
    if reset is not None:
        when = _parse_iso(reset)
        if when is not None:
            return max(0.0, (when - now).total_seconds())
    return None


def retry_delay(
    policy: RetryPolicy,
    method: str,
    *,
    attempt: int,
    status: int | None = None,
    failure: str | None = None,
    captcha: bool = False,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
    jitter: Callable[[float], float] = equal_jitter,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to stop.

    ``attempt`` is the number of attempts already made (1 after the first).
    Pass either the HTTP ``status`` Jira answered or the ``failure`` kind
    (``"timeout"`` / ``"connection"``) when no answer arrived.
    """
    if attempt >= policy.max_attempts or captcha:
        return None
    if not _may_retry(method.upper(), status, failure):
        return None
    wait = server_wait(headers, now or datetime.now(UTC))
    if wait is not None:
        return wait if wait <= policy.max_server_wait else None
    backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return jitter(backoff)


def _may_retry(method: str, status: int | None, failure: str | None) -> bool:
    if status is not None:
        if status not in RETRYABLE_STATUSES:
            return False
        return method in IDEMPOTENT_METHODS or status in NOT_APPLIED_STATUSES
    if failure in RETRYABLE_FAILURES:
        # No answer: only idempotent calls may go again (a POST may have landed).
        return method in IDEMPOTENT_METHODS
    return False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _parse_retry_after(value: str, now: datetime) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _parse_iso(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
