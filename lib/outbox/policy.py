"""The outbox's rules: what to enqueue, what to send next, when to try again.

Everything here is a pure function or a write inside the caller's
transaction; the HTTP side lives in ``lib.outbox.engine``. Decisions, and why:

- One pending row per active link, in the same transaction as the anomaly
  change: a change is never stored without its queued Jira updates.
- Changes to one issue go out strictly in order: a row waits while an earlier
  row for the same issue is unfinished (pending, sending, deferred). A failed
  row does not block the ones after it, or one refused comment would stop an
  issue's sync for good.
- A POST whose answer was lost (timeout, dropped connection, a 5xx that may
  come after the write) may have been applied: it is reconciled before it is
  ever sent again. 429 and 503 prove Jira did not apply it.
- Refusals that the same request would meet again (400, 403, 404, 410, 413,
  bad credentials, CAPTCHA) are permanent: no more retries until Retry.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import duckdb

from lib.jira import JiraClient, JiraError
from lib.jira.doc_json import doc_to_json
from lib.jira.errors import classify_error
from lib.jira.retry import Verdict, equal_jitter
from lib.jira.richtext import Doc, doc_from_text
from lib.store.app_settings import AppSettings
from lib.store.db import Database
from lib.store.links import LinkRepository, TicketLink
from lib.store.sync_log import LogRow, SyncAction, SyncLog, SyncStatus


class Outcome(StrEnum):
    """What one delivery attempt did (``Delivery.outcome``)."""

    OK = "ok"
    LOST = "lost"  # the answer was lost: the write may have been applied
    RETRY = "retry"  # not applied: send again after a backoff
    PERMANENT = "permanent"  # refused: stop until Retry
    WAITING = "waiting"  # sent, waiting for Jira's confirmation (search lag)
    SKIPPED = "skipped"  # not attempted (taken, waiting, finished, no connection)


OK, LOST, RETRY, PERMANENT = Outcome.OK, Outcome.LOST, Outcome.RETRY, Outcome.PERMANENT
WAITING, SKIPPED = Outcome.WAITING, Outcome.SKIPPED


@dataclass(frozen=True)
class ActiveJira:
    """The Jira the engine talks to now: the connection's id, its client and defaults.

    The worker should get a client built with ``RetryPolicy(max_attempts=1)``:
    the outbox schedules retries itself, and a client sleeping on Retry-After
    would keep the worker from stopping promptly.
    """

    connection_id: int
    client: JiraClient
    default_project: str | None = None
    default_issue_type: str | None = None
    default_priority: str | None = None
    # Demo mode's sandbox runs inside the dashboard's own process: a write it had
    # not answered died with that process, so none can land after a restart.
    in_process: bool = False


ClientProvider = Callable[[], "ActiveJira | None"]


# ---------------------------------------------------------------- error policy
def disposition(error: JiraError, *, post: bool = True) -> str:
    """``lost`` (may have been applied: reconcile), ``retry`` or ``permanent``.

    The rule is ``lib.jira.retry.classify``, shared with the client's retries.
    """
    verdict = classify_error(error, "POST" if post else "PUT").verdict
    if verdict is Verdict.ANSWER_LOST:
        return LOST
    return PERMANENT if verdict is Verdict.PERMANENT else RETRY


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter and a cap (seconds)."""

    base: float = 2.0
    cap: float = 300.0
    rand: Callable[[], float] = random.random

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next try after ``attempts`` tries (>= 1).

        A server-given wait is honoured (never shortened); it is not capped, as
        sending earlier would only earn another 429.
        """
        step = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        jittered = equal_jitter(step, self.rand)
        return max(jittered, retry_after) if retry_after is not None else jittered


# ---------------------------------------------------------------- update limit
@dataclass(frozen=True)
class UpdateLimit:
    """At most ``max_updates`` automatic updates per ``per_seconds``; 0 switches it off."""

    max_updates: int = 10
    per_seconds: float = 60.0

    @property
    def enabled(self) -> bool:
        return self.max_updates > 0 and self.per_seconds > 0

    def plan(self, sent: Iterable[datetime], now: datetime, count: int) -> list[datetime]:
        """Planned send times for ``count`` waiting updates, in order.

        ``sent`` are recent send times. Each planned slot keeps every window
        of ``per_seconds`` at or under the limit, counting earlier slots.
        """
        if not self.enabled:
            return [now] * count
        window = timedelta(seconds=self.per_seconds)
        times = sorted(t for t in sent if t > now - window)
        out: list[datetime] = []
        for _ in range(count):
            slot = (
                now
                if len(times) < self.max_updates
                else max(now, times[-self.max_updates] + window)
            )
            times.append(slot)
            out.append(slot)
        return out


def load_update_limit(db: Database) -> UpdateLimit:
    """The operator's update limit (default 10 per 60 s)."""
    default = UpdateLimit()
    most, seconds = AppSettings(db).update_limit_text()
    try:
        return UpdateLimit(
            int(most if most is not None else default.max_updates),
            float(seconds if seconds is not None else default.per_seconds),
        )
    except ValueError:
        return default


def save_update_limit(db: Database, limit: UpdateLimit) -> None:
    """Store the update limit (0 updates switches it off).

    Raises:
        ValueError: negative numbers or a zero interval with a limit; nothing is stored.
    """
    if limit.max_updates < 0 or limit.per_seconds <= 0:
        raise ValueError(
            "The update limit needs 0 or more updates per a positive number of seconds."
        )
    AppSettings(db).save_update_limit(limit.max_updates, limit.per_seconds)


# ---------------------------------------------------------------- what goes next
def pick_due(
    rows: Sequence[LogRow], now: datetime, *, near_limit: bool = False, limit: int = 50
) -> list[LogRow]:
    """Rows to send now: due, not blocked by an earlier unfinished row of their issue.

    ``rows`` are the unfinished rows ordered by id. At most one row per issue
    is returned, so a batch never reorders one issue's changes. Near Jira's
    rate limit, creates go first: a new ticket matters more than a comment.
    """
    seen: set[tuple] = set()
    due: list[LogRow] = []
    for row in sorted(rows, key=lambda r: r.id):
        ticket = row.ticket
        if ticket in seen:
            continue
        seen.add(ticket)  # this row blocks every later row of its issue
        if row.status == SyncStatus.SENDING or row.waiting:
            continue  # in flight (or being recovered), or its create is not confirmed yet
        if row.next_attempt_at is None or row.next_attempt_at <= now:
            due.append(row)
    if near_limit:
        due.sort(key=lambda r: (r.action != SyncAction.CREATE, r.id))
    return due[:limit]


def normalise(text: str) -> str:
    """Text compared with Jira's copy: whitespace collapsed, outer space trimmed."""
    return re.sub(r"\s+", " ", text or "").strip()


# ---------------------------------------------------------------- enqueue
def enqueue_comment_in(
    cur: duckdb.DuckDBPyConnection,
    link: TicketLink,
    *,
    text: str,
    doc: Doc | None,
    mode: str,
    actor: str,
    now: datetime,
) -> int:
    """Queue one comment for one linked issue (inside the caller's transaction).

    ``mode`` comes from the caller, never assumed: a person's change is
    ``manual`` and must not wait behind the automatic update limit.
    """
    return SyncLog.insert_in(
        cur,
        now=now,
        action=SyncAction.COMMENT,
        mode=mode,
        status=SyncStatus.PENDING,
        anomaly_id=link.anomaly_id,
        connection_id=link.connection_id,
        link_id=link.id,
        ticket_id=link.issue_id,
        ticket_key=link.issue_key,
        ticket_url=link.url,
        actor=actor,
        body_text=text,
        body_doc=doc_to_json(doc or doc_from_text(text)),
        next_attempt_at=now,
    )


def enqueue_for_links_in(
    cur: duckdb.DuckDBPyConnection,
    anomaly_id: int,
    text: str,
    *,
    mode: str,
    actor: str,
    now: datetime,
    connection_id: int | None = None,
) -> list[int]:
    """One pending comment per active link of the anomaly (of one connection if given),
    and one waiting on each of its creates that Jira has not confirmed yet.

    ``mode`` is the caller's (``manual`` for a person, ``automatic`` for
    automation): only automatic rows are held to the update limit.
    """
    links = LinkRepository.for_anomaly_in(cur, anomaly_id, connection_id=connection_id)
    ids = [
        enqueue_comment_in(cur, link, text=text, doc=None, mode=mode, actor=actor, now=now)
        for link in links
    ]
    return ids + enqueue_for_pending_creates_in(
        cur, anomaly_id, text, mode=mode, actor=actor, now=now, connection_id=connection_id
    )


def enqueue_for_pending_creates_in(
    cur: duckdb.DuckDBPyConnection,
    anomaly_id: int,
    text: str,
    *,
    mode: str,
    actor: str,
    now: datetime,
    connection_id: int | None = None,
) -> list[int]:
    """One comment per unconfirmed create of the anomaly, waiting on that create.

    Without it a change made while a create waits for Jira's confirmation
    would reach no ticket: the link does not exist yet. The row has no ticket
    until the engine confirms the create and fills it in; then it goes out
    once, in order with the anomaly's other changes.
    """
    return [
        SyncLog.insert_in(
            cur,
            now=now,
            action=SyncAction.COMMENT,
            mode=mode,
            status=SyncStatus.PENDING,
            anomaly_id=anomaly_id,
            connection_id=create.connection_id,
            waits_on=create.id,
            actor=actor,
            body_text=text,
            body_doc=doc_to_json(doc_from_text(text)),
            next_attempt_at=now,
        )
        for create in SyncLog.unfinished_creates_in(cur, anomaly_id, connection_id)
    ]
