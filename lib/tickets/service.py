"""What a user does with Jira tickets: create, search, link, unlink, refresh.

Each call logs its Jira calls in ``sync_log`` (mode ``manual`` from the UI,
``automatic`` from the worker). A create goes through the outbox row it
writes first, so a lost answer is reconciled by label before anything is
created again; the UI gets "sent, waiting for Jira's confirmation" instead of
blocking. Linking adds the anomaly's details as a comment through the outbox
too, so that comment is delivered exactly once as well.

A person's per-link Refresh (``read_from_jira``) reads through the inbound
poll (``lib.tickets.inbound``, handed in by ``read_back_through``): the same
read as the anomaly's "Refresh from Jira", so state, resolution, assignee and
Jira's comments come back at once, not on the next poll.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from lib.jira import (
    BadRequest,
    Issue,
    JiraError,
    NotFound,
    error_kind,
    jql_quote,
    looks_like_issue_key,
)
from lib.outbox.engine import Delivery, SyncEngine
from lib.outbox.policy import OK, SKIPPED, ActiveJira, enqueue_comment_in
from lib.store.anomalies import AnomalyNotFound, AnomalyRepository
from lib.store.db import Database
from lib.store.links import DuplicateLink, LinkRepository, TicketLink
from lib.store.sync_log import SyncAction, SyncLog, SyncMode, SyncStatus, to_json
from lib.tickets.creating import CreateResult, Submission, TicketCreation, TicketRefused
from lib.tickets.description import anomaly_doc, doc_text

__all__ = [
    "CreateResult",
    "LinkResult",
    "SearchHit",
    "Submission",
    "TicketRefused",
    "TicketService",
]

SEARCH_LIMIT = 20


@dataclass(frozen=True)
class LinkResult:
    link: TicketLink
    comment: Delivery  # the details comment: "ok", or queued for the worker


@dataclass(frozen=True)
class SearchHit:
    key: str
    summary: str
    status_name: str | None
    url: str
    issue_id: str | None = None  # known from JQL and the picker (the REST API answers it)
    priority: str | None = None
    updated: datetime | None = None


def _hit(issue: Issue) -> SearchHit:
    return SearchHit(
        issue.key,
        issue.summary or "",
        issue.status_name,
        issue.browse_url,
        issue.id,
        issue.priority_name,
        issue.updated,
    )


class TicketService(TicketCreation):
    def __init__(self, db: Database, engine: SyncEngine, public_url: str | Callable[[], str]):
        """``public_url``: the dashboard's address for links back (or a callable, read per use,
        so a connection's own public address can change without a restart)."""
        self._db = db
        self._engine = engine
        self._public = public_url
        self._anomalies = AnomalyRepository(db)
        self._links = LinkRepository(db)
        self._log = SyncLog(db)
        self._read_back: Callable[[ActiveJira, list[int], str], object] | None = None

    def read_back_through(self, read: Callable[[ActiveJira, list[int], str], object]) -> None:
        """The inbound poll's read of given links (built after this service, so handed in)."""
        self._read_back = read

    @property
    def _public_url(self) -> str:
        return self._public() if callable(self._public) else self._public

    @property
    def _clock(self) -> Callable:
        return self._engine.clock

    def active_jira(self) -> ActiveJira | None:
        """The Jira connection in use now, or None."""
        return self._engine.client_provider()

    def _active(self) -> ActiveJira:
        active = self._engine.client_provider()
        if active is None:
            raise TicketRefused("No Jira connection is active: connect to Jira first.")
        return active

    def links_for(self, anomaly_id: int, include_unlinked: bool = False) -> list[TicketLink]:
        return self._links.for_anomaly(anomaly_id, include_unlinked=include_unlinked)

    # -- create --------------------------------------------------------------
    def search_issues(self, query: str, project: str | None = None) -> list[SearchHit]:
        """Issues matching a key or words (picker + JQL text search, merged by key)."""
        active = self._active()
        client, text = active.client, (query or "").strip()
        if not text:
            return []
        if looks_like_issue_key(text):
            try:
                issue = client.get_issue(text.upper())
            except NotFound:
                return []
            return [_hit(issue)]
        project = project or active.default_project
        bound = f"project = {jql_quote(project)}" if project else None
        hits: dict[str, SearchHit] = {}
        for item in client.issue_picker(text, bound):
            hits.setdefault(
                item.key,
                SearchHit(
                    item.key, item.summary_text, None, client.browse_url(item.key), item.id or None
                ),
            )
        if bound or not client.cloud:  # Cloud refuses unbounded JQL
            jql = f"summary ~ {jql_quote(text)}" + (f" AND {bound}" if bound else "")
            try:
                for issue in itertools.islice(client.search(jql), SEARCH_LIMIT):
                    hits[issue.key] = _hit(issue)
            except BadRequest:
                pass  # text JQL refuses some words (reserved, too short): the picker still counts
        hits = dict(itertools.islice(hits.items(), SEARCH_LIMIT))
        # The picker gives no status: read the picker-only hits' in one bounded JQL call.
        bare = [key for key, hit in hits.items() if hit.status_name is None]
        if bare:
            keys = ", ".join(jql_quote(key) for key in bare)
            try:
                for issue in itertools.islice(client.search(f"key in ({keys})"), len(bare)):
                    if issue.key in hits:
                        hits[issue.key] = replace(_hit(issue), summary=hits[issue.key].summary)
            except (BadRequest, NotFound):
                pass  # a key Jira no longer knows: the hit stays, its status unknown
        return list(hits.values())

    def get_issue(self, id_or_key: str) -> Issue:
        """One issue of the active Jira, by id or key (the REST API's ticket read).

        Raises:
            TicketRefused: no Jira connection is active.
            NotFound: no such issue, or this account may not see it.
            JiraError: Jira could not be read.
        """
        text = (id_or_key or "").strip()
        return self._active().client.get_issue(text.upper() if looks_like_issue_key(text) else text)

    def link_existing(
        self,
        anomaly_id: int,
        key: str,
        actor: str,
        mode: str = SyncMode.MANUAL,
        *,
        send_now: bool = True,
    ) -> LinkResult:
        """Link an existing issue and add the anomaly's details to it as a comment.

        ``send_now=False`` (auto-ticket rules) leaves the comment to the worker,
        which holds automatic comments to the update limit.

        Raises:
            TicketRefused: not a key, unknown issue, or already linked.
            AnomalyNotFound: no such anomaly.
        """
        active = self._active()
        anomaly = self._anomalies.get(anomaly_id)
        if anomaly is None:
            raise AnomalyNotFound(anomaly_id)
        key = (key or "").strip().upper()
        if not looks_like_issue_key(key):
            raise TicketRefused(
                f"'{key}' is not an issue key (a project key, a dash and a number, like DQ-123)."
            )
        with self._db.read() as cur:
            if LinkRepository.find_active_in(cur, anomaly_id, active.connection_id, key):
                raise TicketRefused(
                    f"{key} is already linked to anomaly {anomaly_id}: nothing was changed."
                )
        issue, latency = self._get_for_link(active, anomaly_id, key, actor, mode)
        now = self._clock()
        doc = anomaly_doc(anomaly, self._public_url, now)
        with self._db.transaction() as cur:
            try:
                link = self._links.add_in(
                    cur,
                    anomaly_id=anomaly_id,
                    connection_id=active.connection_id,
                    issue=issue,
                    created_by_us=False,
                    actor=actor,
                    now=now,
                )
            except DuplicateLink as exc:
                raise TicketRefused(str(exc)) from None
            SyncLog.insert_in(
                cur,
                now=now,
                action=SyncAction.LINK,
                mode=mode,
                status=SyncStatus.OK,
                anomaly_id=anomaly_id,
                connection_id=active.connection_id,
                link_id=link.id,
                ticket_id=issue.id,
                ticket_key=issue.key,
                ticket_url=issue.browse_url,
                actor=actor,
                latency_ms=latency,
                request_json=to_json({"method": "GET", "path": f"/issue/{key}"}),
                response_json=to_json({"key": issue.key, "status": issue.status_name}),
                finished_at=now,
                attempts=1,
                sent_at=now,
            )
            comment_id = enqueue_comment_in(
                cur, link, text=doc_text(doc), doc=doc, mode=mode, actor=actor, now=now
            )
        if not send_now:
            self._engine.notify()
            queued = Delivery(comment_id, SyncStatus.PENDING, SKIPPED, "queued for the worker")
            return LinkResult(link, queued)
        delivery = self._engine.deliver(comment_id, active)
        if delivery.outcome != OK:
            self._engine.notify()
        return LinkResult(link, delivery)

    def _get_for_link(self, active: ActiveJira, anomaly_id: int, key: str, actor: str, mode: str):
        started = time.monotonic()
        try:
            return active.client.get_issue(key), round((time.monotonic() - started) * 1000, 1)
        except JiraError as exc:
            message = (
                f"Jira has no issue {key}, or this account may not see it."
                if isinstance(exc, NotFound)
                else str(exc)
            )
            now = self._clock()
            with self._db.transaction() as cur:
                log_id = SyncLog.insert_in(
                    cur,
                    now=now,
                    action=SyncAction.LINK,
                    mode=mode,
                    status=SyncStatus.FAILED,
                    permanent=True,
                    anomaly_id=anomaly_id,
                    connection_id=active.connection_id,
                    ticket_key=key,
                    actor=actor,
                    error=message,
                    attempts=1,
                    sent_at=now,
                    finished_at=now,
                    request_json=to_json({"method": "GET", "path": f"/issue/{key}"}),
                    latency_ms=round((time.monotonic() - started) * 1000, 1),
                )
            raise TicketRefused(message, log_id=log_id, kind=str(error_kind(exc))) from None

    def unlink(self, link_id: int, actor: str) -> TicketLink:
        """Remove a link (logged); the Jira issue is not touched.

        Raises:
            TicketRefused: no such link, or already unlinked.
        """
        now = self._clock()
        with self._db.transaction() as cur:
            link = LinkRepository.get_in(cur, link_id)
            if link is None or not link.active:
                raise TicketRefused(f"Link {link_id} does not exist or was already removed.")
            LinkRepository.unlink_in(cur, link_id, actor, now)
            SyncLog.link_event_in(
                cur, link, action=SyncAction.UNLINK, mode=SyncMode.MANUAL, actor=actor, now=now
            )
            return LinkRepository.get_in(cur, link_id)

    # -- refresh -------------------------------------------------------------
    def refresh(
        self, link_id: int, mode: str = SyncMode.MANUAL, actor: str = "anomaly-desk"
    ) -> TicketLink:
        """Read the issue's summary, status and priority from Jira into the link.

        A 404 keeps the link and marks it "not found or no permission".

        Raises:
            TicketRefused: no such link, or it belongs to another connection.
            JiraError: Jira could not be read (logged as a failed refresh).
        """
        active = self._active()
        link = self._links.get(link_id)
        if link is None:
            raise TicketRefused(f"Link {link_id} does not exist.")
        if link.connection_id != active.connection_id:
            raise TicketRefused(f"{link.issue_key} was linked through another Jira connection.")
        started = time.monotonic()
        error: JiraError | None = None
        try:
            issue = active.client.get_issue(link.issue_id)  # by id: a moved issue keeps it
        except JiraError as exc:
            issue, error = None, exc
        self._record_refresh(
            link, issue, error, mode, actor, round((time.monotonic() - started) * 1000, 1)
        )
        if error is not None and not isinstance(error, NotFound):
            raise error
        return self._links.get(link_id)

    def read_from_jira(self, link_id: int, actor: str) -> TicketLink:
        """A person's Refresh of one link: its ticket read by id through the inbound poll.

        Without a poll (a bare service in a test) it is the single-issue ``refresh``.

        Raises:
            TicketRefused: no such link, or it belongs to another connection.
            JiraError: Jira could not be read (logged as a failed refresh).
        """
        if self._read_back is None:
            return self.refresh(link_id, actor=actor)
        active = self._active()
        link = self._links.get(link_id)
        if link is None or link.unlinked_at is not None:
            raise TicketRefused(f"Link {link_id} does not exist.")
        if link.connection_id != active.connection_id:
            raise TicketRefused(f"{link.issue_key} was linked through another Jira connection.")
        self._read_back(active, [link_id], actor)
        return self._links.get(link_id)

    def _record_refresh(
        self,
        link: TicketLink,
        issue,
        error: JiraError | None,
        mode: str,
        actor: str,
        latency: float,
    ) -> None:
        now = self._clock()
        with self._db.transaction() as cur:
            if issue is not None:
                LinkRepository.update_from_issue_in(cur, link.id, issue, now)
            elif isinstance(error, NotFound):
                LinkRepository.mark_missing_in(cur, link.id, now)
            SyncLog.insert_in(
                cur,
                now=now,
                action=SyncAction.REFRESH,
                mode=mode,
                status=SyncStatus.OK if issue else SyncStatus.FAILED,
                permanent=isinstance(error, NotFound),
                anomaly_id=link.anomaly_id,
                connection_id=link.connection_id,
                link_id=link.id,
                ticket_id=link.issue_id,
                ticket_key=issue.key if issue else link.issue_key,
                ticket_url=issue.browse_url if issue else link.url,
                actor=actor,
                error=str(error) if error else None,
                latency_ms=latency,
                attempts=1,
                sent_at=now,
                finished_at=now,
                request_json=to_json({"method": "GET", "path": f"/issue/{link.issue_id}"}),
                response_json=to_json(
                    {"key": issue.key, "status": issue.status_name, "priority": issue.priority_name}
                    if issue
                    else {"status": error.status, "code": error.code}
                ),
            )

    def refresh_anomaly(self, anomaly_id: int, mode: str = SyncMode.MANUAL) -> list[TicketLink]:
        """Refresh every active link of an anomaly on the active connection."""
        active = self._active()
        return [
            self.refresh(link.id, mode)
            for link in self._links.for_anomaly(anomaly_id)
            if link.connection_id == active.connection_id
        ]
