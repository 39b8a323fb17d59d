"""Jira's side comes back: the batched poll of linked tickets.

One poll asks Jira about every active link of the connection in searches of
at most 100 issue ids each, and only for issues updated since the last poll.
Decisions, and why:

- By id (``id in (...)``), not by key: a moved issue keeps its id, so the
  search finds it under its new key and the link follows; a key Jira no
  longer knows would make the whole JQL a 400.
- ``updated >= "yyyy-MM-dd HH:mm"`` is read by Jira in the polling account's
  time zone (from ``/myself``, asked once and kept) at minute precision, so
  the bound is the last poll's start, floored to the minute, minus one more
  minute; issues seen twice are deduped by Jira's own ``updated``.
- The search asks for the comments too (``comment`` field): a changed ticket
  costs no call of its own unless Jira cut its comment list short. 1,000
  links with 50 changed are 10 calls.
- Deletions show only when an issue is asked for by id: every
  ``sweep_every`` (and on Resync now) the poll drops the ``updated`` bound, and
  an id missing from the answer is read by id: 404 or 403 marks the link.
- Comments are ours when written by the polling account, or when their id
  (or text) is one the outbox recorded sending to that issue. Ours are never
  shown; none is ever sent back (they are not anomaly comments), so no loop.
- A rate limit is honoured as the one retry rule says (``lib.jira.retry``):
  wait the server's Retry-After (injected ``sleep``), up to the policy's
  limits, then the error goes to the worker, which pauses.
- Jira's Done comes back only when the connection says so, only for an
  anomaly one of whose tickets changed in this poll, through the change
  service (injected), with nothing sent back.
- A poll of given links (``only_links``: Resync now, an anomaly's Refresh
  from Jira, a link's own Refresh) reads just those by id, state, resolution,
  assignee and comments, and writes an unchanged issue again too, so the
  link's "synced" time says the read happened. A link's own Refresh comes in
  through ``read_links``, logged as Manual under the person's name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.jira import BadRequest, Forbidden, JiraError, NotFound
from lib.jira.errors import classify_error
from lib.jira.records import Comment, PolledIssue
from lib.jira.retry import RetryPolicy, Verdict, equal_jitter
from lib.outbox.policy import ActiveJira
from lib.store.anomaly_tickets import AnomalyTicketRepository
from lib.store.db import Database
from lib.store.jira_side import (
    GONE_FORBIDDEN,
    GONE_NOT_FOUND,
    JiraComment,
    JiraSideRepository,
    OurComments,
    PollState,
    PollTarget,
    TicketState,
    naive_utc,
    normalised,
)
from lib.store.models import Status
from lib.store.reconciliation import ReconciliationRepository
from lib.store.sync_log import SyncAction, SyncLog, SyncMode, SyncStatus, to_json
from lib.tickets.reconciliation import all_done, archive_reason_for, drift_of

log = logging.getLogger("anomaly_desk.inbound")

CHUNK = 100  # issue ids per search: Jira's page of full issues is 100
OVERLAP = timedelta(minutes=1)  # JQL dates have minute precision
SWEEP_EVERY = timedelta(hours=1)


@dataclass
class PollResult:
    calls: int = 0
    changed: int = 0  # links whose issue changed since the last poll
    new_comments: int = 0  # comments made in Jira, new to us
    moved: int = 0
    gone: int = 0
    archived: list[int] = field(default_factory=list)  # anomalies Jira's Done archived
    swept: bool = False


@dataclass(frozen=True)
class TicketView:
    """One link's Jira side for the panel: what Jira said last, and its comments made in Jira."""

    state: TicketState | None
    activity: list[JiraComment]


@dataclass(frozen=True)
class _Call:
    path: str
    request: dict
    latency_ms: float
    error: str | None = None
    found: int | None = None


class InboundPoll:
    """Reads linked tickets back from Jira; ``poll`` is one pass (the worker calls it)."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        done_comes_back: Callable[[int], bool] = lambda connection_id: False,
        archive_from_jira: Callable[[int, str], Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry_policy: RetryPolicy = RetryPolicy(),
        sweep_every: timedelta = SWEEP_EVERY,
    ):
        self._db = db
        self._clock = clock
        self._side = JiraSideRepository(db)
        self._done_comes_back = done_comes_back
        self._archive = archive_from_jira
        self._sleep = sleep
        self._policy = retry_policy
        self._sweep_every = sweep_every

    # -- what the panel shows -------------------------------------------------
    def ticket_view(self, link_id: int) -> TicketView:
        return TicketView(
            self._side.states([link_id]).get(link_id),
            self._side.activity([link_id]).get(link_id, []),
        )

    # -- when -----------------------------------------------------------------
    def poll_if_due(self, active: ActiveJira, interval: timedelta) -> PollResult | None:
        """A poll when ``interval`` passed; else one of never-read links only, if any."""
        state = self._side.poll_state(active.connection_id)
        now = self._clock()
        if state.last_started_at is None or now - state.last_started_at >= interval:
            return self.poll(active)
        fresh = [
            t.link_id
            for t in self._side.targets(active.connection_id)
            if t.jira_updated is None and not t.gone
        ]
        return self.poll(active, only_links=fresh) if fresh else None

    # -- one poll -------------------------------------------------------------
    def read_links(self, active: ActiveJira, link_ids: Sequence[int], actor: str) -> PollResult:
        """A person's Refresh: these links' tickets read now, by id, logged as Manual.

        Raises: as ``poll``.
        """
        return self.poll(active, only_links=link_ids, mode=SyncMode.MANUAL, actor=actor)

    def poll(
        self,
        active: ActiveJira,
        *,
        sweep: bool | None = None,
        only_links: Sequence[int] = (),
        mode: str = SyncMode.AUTOMATIC,
        actor: str = "jira poll",
    ) -> PollResult:
        """Ask Jira about the connection's linked tickets (or only ``only_links``, by id).

        Raises:
            RateLimited: Jira's wait is longer than the retry policy allows.
            JiraError: Jira could not be read (what was read before is kept).
        """
        now = self._clock()
        state = self._account(active, self._side.poll_state(active.connection_id))
        targets = self._side.targets(active.connection_id)
        partial = bool(only_links)
        if partial:
            wanted = set(only_links)
            targets = [t for t in targets if t.link_id in wanted]
        sweep = partial or (
            sweep
            if sweep is not None
            else state.last_swept_at is None or now - state.last_swept_at >= self._sweep_every
        )
        result, calls = PollResult(swept=sweep), []
        try:
            self._poll_targets(active, state, targets, sweep, result, calls, partial)
        finally:
            result.calls += len(calls)
            self._log_calls(active.connection_id, calls, now, mode, actor)
        if not partial:
            swept_at = now if sweep else state.last_swept_at
            with self._db.transaction() as cur:
                JiraSideRepository.save_poll_state_in(
                    cur, replace(state, last_started_at=now, last_swept_at=swept_at)
                )
        self._record_drift(active.connection_id, now)
        return result

    def _poll_targets(self, active, state, targets, sweep, result, calls, partial=False) -> None:
        since = None if sweep else state.last_started_at
        by_issue: dict[str, list[PollTarget]] = {}
        for t in targets:
            if not _jira_id(t.issue_id):
                log.warning("inbound.bad_issue_id", extra={"link_id": t.link_id})
                continue  # only Jira's own ids go into JQL
            if sweep or not t.gone:
                by_issue.setdefault(t.issue_id, []).append(t)
        fresh = [i for i, ts in by_issue.items() if any(t.jira_updated is None for t in ts)]
        known = [i for i in by_issue if i not in set(fresh)]
        seen: dict[str, PolledIssue] = {}
        for ids, bound in ((fresh, None), (known, since)):
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                seen.update(self._search(active, chunk, bound, state.time_zone, calls))
        changed_anomalies: set[int] = set()
        for issue_id, polled in seen.items():
            self._record(
                active, state, by_issue[issue_id], polled, result, calls, changed_anomalies, partial
            )
        if sweep:
            missing = [i for i in by_issue if i not in seen]
            self._check_missing(active, by_issue, missing, result, calls)
        self._done_back(active.connection_id, changed_anomalies, result)

    def _account(self, active: ActiveJira, state: PollState) -> PollState:
        """The polling account and its time zone, asked once per connection and kept."""
        if state.account_id is not None:
            return state
        me = active.client.myself()
        state = replace(state, account_id=me.account_id or me.name or "", time_zone=me.time_zone)
        with self._db.transaction() as cur:
            JiraSideRepository.save_poll_state_in(cur, state)
        return state

    # -- Jira calls -----------------------------------------------------------
    def _search(self, active, ids, since, time_zone, calls) -> dict[str, PolledIssue]:
        jql = f"id in ({', '.join(ids)})"  # digits only (_jira_id)
        if since is not None:
            jql += f' AND updated >= "{jql_bound(since, time_zone)}"'
        path = "/search/jql" if active.client.cloud else "/search"
        try:
            found = self._call(
                calls, path, {"jql": jql}, lambda: list(active.client.poll_issues(jql))
            )
        except BadRequest:
            if len(ids) == 1:
                return {}  # an id Jira refuses in JQL: the sweep reads it by id
            # One id Jira no longer accepts spoils the chunk: ask one by one.
            out: dict[str, PolledIssue] = {}
            for one in ids:
                out.update(self._search(active, [one], since, time_zone, calls))
            return out
        return {p.issue.id: p for p in found}

    def _call(self, calls: list, path: str, request: dict, send: Callable[[], Any]) -> Any:
        """One Jira read with the one retry rule; every attempt is a Log row."""
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                answer = send()
            except JiraError as exc:
                calls.append(_Call(path, request, _ms(started), error=str(exc)))
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    raise
                self._sleep(delay)
                continue
            found = len(answer) if isinstance(answer, list) else None
            calls.append(_Call(path, request, _ms(started), found=found))
            return answer

    def _retry_delay(self, exc: JiraError, attempt: int) -> float | None:
        # A search or a read changes nothing: retried as a GET would be.
        verdict = classify_error(exc, "GET")
        if attempt >= self._policy.max_attempts:
            return None
        if verdict.verdict is Verdict.RETRY_LATER:
            return verdict.wait if verdict.wait <= self._policy.max_server_wait else None
        if verdict.verdict is Verdict.RETRY_NOW:
            step = self._policy.base_delay * 2 ** (attempt - 1)
            return equal_jitter(min(self._policy.max_delay, step))
        return None

    # -- what came back -------------------------------------------------------
    def _record(self, active, state, targets, polled, result, calls, changed, asked) -> None:
        """Store one issue's answer; ``asked``: a person asked for it, so even unchanged."""
        updated = naive_utc(polled.issue.updated)
        fresh = [
            t for t in targets if t.jira_updated is None or t.jira_updated != updated or t.gone
        ]
        if not fresh and not asked:
            return  # seen in the overlap minute, unchanged since: nothing to do
        comments = list(polled.comments)
        if polled.comments_total > len(comments):
            path = f"/issue/{polled.issue.id}/comment"
            comments = self._call(
                calls, path, {}, lambda: list(active.client.comments(polled.issue.id))
            )
        ours = self._side.our_comments(active.connection_id, [polled.issue.id])
        marked = [(c, _is_ours(c, state.account_id, ours, polled.issue.id)) for c in comments]
        now = self._clock()
        with self._db.transaction() as cur:
            for target in targets if asked else fresh:
                result.moved += JiraSideRepository.record_issue_in(cur, target, polled, now)
            # Only a move INTO Done brings Done back: a ticket that stays Done while our
            # comment (say, the reopen's) bumps its updated time must not archive again.
            if polled.issue.status_category == "done":
                changed.update(t.anomaly_id for t in fresh if t.status_category != "done")
            result.new_comments += JiraSideRepository.add_comments_in(
                cur, active.connection_id, polled.issue.id, marked, now
            )
        result.changed += len(fresh)

    def _check_missing(self, active, by_issue, missing, result, calls) -> None:
        """Ids the sweep did not find: read each by id; 404 or 403 marks its links."""
        for issue_id in missing:
            if all(t.gone for t in by_issue[issue_id]):
                continue  # already marked; the search would have found it back
            path = f"/issue/{issue_id}"
            try:
                self._call(
                    calls, path, {"method": "GET"}, lambda i=issue_id: active.client.get_issue(i)
                )
            except (NotFound, Forbidden) as exc:
                reason = GONE_FORBIDDEN if isinstance(exc, Forbidden) else GONE_NOT_FOUND
                with self._db.transaction() as cur:
                    for target in by_issue[issue_id]:
                        JiraSideRepository.mark_gone_in(cur, target.link_id, reason, self._clock())
                result.gone += len(by_issue[issue_id])

    def _done_back(self, connection_id: int, anomaly_ids: set[int], result: PollResult) -> None:
        if not anomaly_ids or self._archive is None or not self._done_comes_back(connection_id):
            return
        rows = ReconciliationRepository(self._db).linked_anomalies(
            connection_id, sorted(anomaly_ids)
        )
        for row in rows:
            if row.status == Status.ARCHIVED or not all_done(row):
                continue
            try:
                self._archive(row.anomaly_id, archive_reason_for(row.resolutions))
            except ValueError as exc:  # a workflow rule of ours refused: say so, go on
                log.warning(
                    "inbound.done_back.refused",
                    extra={"anomaly_id": row.anomaly_id, "error": str(exc)},
                )
                continue
            result.archived.append(row.anomaly_id)

    # -- bookkeeping ----------------------------------------------------------
    def _record_drift(self, connection_id: int, now: datetime) -> None:
        rows = ReconciliationRepository(self._db).linked_anomalies(connection_id)
        overview = AnomalyTicketRepository(self._db).ticket_overview([r.anomaly_id for r in rows])
        _, counts = drift_of(rows, overview)
        with self._db.transaction() as cur:
            JiraSideRepository.record_drift_in(cur, now.date(), connection_id, counts)

    def _log_calls(
        self, connection_id: int, calls: list[_Call], now: datetime, mode: str, actor: str
    ) -> None:
        if not calls:
            return
        with self._db.transaction() as cur:
            for call in calls:
                SyncLog.insert_in(
                    cur,
                    now=now,
                    action=SyncAction.REFRESH,
                    mode=mode,
                    status=SyncStatus.FAILED if call.error else SyncStatus.OK,
                    connection_id=connection_id,
                    actor=actor,
                    error=call.error,
                    latency_ms=call.latency_ms,
                    attempts=1,
                    sent_at=now,
                    finished_at=now,
                    request_json=to_json({"path": call.path, **call.request}),
                    response_json=to_json(
                        {"issues": call.found} if call.found is not None else None
                    ),
                )


def jql_bound(since: datetime, time_zone: str | None) -> str:
    """``since`` (naive UTC) as a JQL date in the account's zone, a minute early, floored."""
    try:
        zone = ZoneInfo(time_zone) if time_zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = (since.replace(tzinfo=UTC) - OVERLAP).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M")


def _jira_id(value: str) -> bool:
    """Whether ``value`` is an issue id as Jira writes them (ASCII digits): safe in JQL."""
    text = str(value)
    return text.isascii() and text.isdigit()


def _is_ours(comment: Comment, account: str | None, ours: OurComments, issue_id: str) -> bool:
    if account and comment.author_id == account:
        return True
    return comment.id in ours.ids or (issue_id, normalised(comment.body_text)) in ours.texts


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
