"""Whether and when to send a Jira request again: one classification, pure functions.

``classify`` is the one rule: the client's own retries (``retry_delay``) and
the outbox's disposition (``lib.outbox.policy.disposition``) both call it, so
they cannot drift apart; tests/jira/test_retry.py pins it with a table and
checks both callers against every row. The random jitter lives in its own
function (``equal_jitter``), the only one, so tests can replace it.

Verdicts, and why:
- ``retry_now``: sending the same request again is safe and may work: GET,
  PUT, DELETE on 408, 409, 5xx (but 501), timeouts and dropped connections; any
  method on 429 / 503 without a wait (Jira refused before applying), and on
  DNS or TLS failures (no byte reached Jira).
- ``retry_later``: as ``retry_now``, but the server named a wait (Retry-After
  seconds or HTTP date, X-RateLimit-Reset): honour it as given.
- ``answer_lost``: a POST (create, comment) whose answer was lost (timeout,
  dropped connection, a 5xx that may come after the write) may have been
  applied: never re-sent blindly; the caller looks for the result first
  (label search, list comments).
- ``permanent``: the same request would fail the same way: 400, 401, 403,
  404, 410, 413, 422, other 4xx, and a CAPTCHA lockout (retries would lock the
  account further).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses that prove Jira did not apply the request, so even a POST may go again.
NOT_APPLIED_STATUSES = frozenset({409, 429, 503})
# Statuses a later identical request may pass (for a POST: if it was not applied).
TRANSIENT_STATUSES = frozenset({408, 409, 429})
PERMANENT_SERVER_STATUSES = frozenset({501})
# Failure kinds for exceptions (no HTTP answer). DNS and TLS fail before any
# byte reaches Jira; a timeout or a dropped connection may come after the write.
TIMEOUT = "timeout"
CONNECTION = "connection"
DNS = "dns"
TLS = "tls"
UNREADABLE = "unreadable"  # an answer came but was not Jira's JSON (a login page)
NOT_SENT_FAILURES = frozenset({DNS, TLS})


class Verdict(StrEnum):
    RETRY_NOW = "retry_now"
    RETRY_LATER = "retry_later"
    ANSWER_LOST = "answer_lost"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Classification:
    """What to do about one failed call; ``wait`` is the server's, for ``retry_later``."""

    verdict: Verdict
    wait: float | None = None

    @property
    def retryable(self) -> bool:
        return self.verdict in (Verdict.RETRY_NOW, Verdict.RETRY_LATER)


def classify(
    method: str,
    *,
    status: int | None = None,
    failure: str | None = None,
    captcha: bool = False,
    wait: float | None = None,
) -> Classification:
    """The one retry rule: a failed call's answer (``status``) or ``failure`` kind.

    ``wait`` is the server's requested wait (``server_wait``), if any.
    """
    idempotent = method.upper() in IDEMPOTENT_METHODS
    if captcha:
        return Classification(Verdict.PERMANENT)
    if status is not None and status >= 400:
        if status in NOT_APPLIED_STATUSES or (idempotent and _transient(status)):
            return _retry(wait)
        if _transient(status):
            return Classification(Verdict.ANSWER_LOST)  # a POST's 5xx or 408
        return Classification(Verdict.PERMANENT)
    if failure in NOT_SENT_FAILURES or idempotent:
        return _retry(None)
    return Classification(Verdict.ANSWER_LOST)


def _transient(status: int) -> bool:
    return status in TRANSIENT_STATUSES or (
        status >= 500 and status not in PERMANENT_SERVER_STATUSES
    )


def _retry(wait: float | None) -> Classification:
    if wait is not None:
        return Classification(Verdict.RETRY_LATER, wait)
    return Classification(Verdict.RETRY_NOW)


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
    when no answer arrived. A server wait longer than ``max_server_wait``
    stops here, so a worker can reschedule rather than block a thread.
    """
    if attempt >= policy.max_attempts:
        return None
    wait = server_wait(headers, now or datetime.now(UTC))
    verdict = classify(method, status=status, failure=failure, captcha=captcha, wait=wait)
    if verdict.verdict is Verdict.RETRY_LATER:
        return verdict.wait if verdict.wait <= policy.max_server_wait else None
    if verdict.verdict is Verdict.RETRY_NOW:
        return jitter(min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))
    return None


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
