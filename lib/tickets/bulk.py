"""Bulk actions: many anomalies, one action, one job that outlives the page.

A job is a ``bulk_jobs`` row, one item per anomaly, and outbox rows the
worker sends (``lib.store.jobs``). Decisions, and why:

- One ticket per anomaly is one create row per anomaly, exactly as the New
  ticket dialog makes (label ``anomaly-desk-<id>``, its own request id); the
  worker sends due creates 50 per ``POST /issue/bulk`` and a lost call is
  reconciled row by row by label, so a retry never makes a second ticket. An
  anomaly whose earlier create is still unfinished gets that row as its item,
  not a second create.
- A group ticket is one create row (label ``anomaly-desk-group-<job>``) whose
  confirmation links every anomaly of the job in the same transaction
  (``lib.outbox.group_links``); its description lists them with links back.
- Link to an existing ticket reads the issue once, links every anomaly and
  queues one comment listing them all: one comment, not one per anomaly.
- Acknowledge, archive and comment go through ``lib.anomalies.changes`` (the
  one path for every change; injected here as ``StatusChanges``, since the
  use-case packages do not import each other), one transaction per anomaly,
  so one refused anomaly (already archived) does not undo the others.
- Everything is checked before anything is written: a bad selection or bad
  fields are refused with nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lib.jira import NotFound, looks_like_issue_key
from lib.outbox.bulk_creates import queue_creates_in
from lib.outbox.creates import insert_create_in
from lib.outbox.engine import SyncEngine
from lib.outbox.payload import create_request
from lib.outbox.policy import ActiveJira, enqueue_comment_in
from lib.store.anomalies import AnomalyNotFound, get_many, matching_ids
from lib.store.db import Database
from lib.store.jobs import BulkJob, BulkJobs, ItemState, JobAction, JobItem, NewItem
from lib.store.links import DuplicateLink, LinkRepository
from lib.store.models import Anomaly, AnomalyFilter, ArchiveReason
from lib.store.sync_log import SyncAction, SyncLog, SyncMode, to_json
from lib.tickets.creating import TicketRefused
from lib.tickets.description import default_summary, doc_text, group_doc, group_summary
from lib.tickets.service import TicketService

MAX_SELECTION = 5000  # one job; a bigger selection is refused, never cut silently
NOT_DONE = "not done: the job stopped before this anomaly (press Retry)"
LOCAL_ACTIONS = (JobAction.ACKNOWLEDGE, JobAction.ARCHIVE, JobAction.COMMENT)


class BulkRefused(ValueError):
    """A bulk action that cannot start; nothing was changed. ``field_errors`` per input."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})


class NoJira(BulkRefused):
    """A ticket action while no Jira connection is active (or its secret is unreadable)."""


class JobNotFound(LookupError):
    def __init__(self, job_id: int):
        super().__init__(f"There is no bulk job with id {job_id}.")
        self.job_id = job_id


class StatusChanges(Protocol):
    """What bulk needs of ``lib.anomalies.changes.AnomalyChanges`` (the one change path)."""

    def acknowledge(self, anomaly_id: int, actor: str, *, mode: str) -> object: ...
    def archive(self, anomaly_id: int, reason: str, actor: str, *, mode: str) -> object: ...
    def comment(self, anomaly_id: int, author: str, text: str, *, mode: str) -> object: ...


@dataclass(frozen=True)
class BulkRequest:
    """One bulk action: the selection (ids, or every anomaly matching a filter) and its options."""

    action: str
    anomaly_ids: tuple[int, ...] = ()
    filter: AnomalyFilter | None = None
    archive_reason: str | None = None  # archive
    text: str | None = None  # comment
    ticket_key: str | None = None  # link
    summary: str | None = None  # ticket_group (default: the group's rules and tables)
    priority: str | None = None  # ticket_each, ticket_group
    issue_type: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class JobProgress:
    """A job and a result per anomaly (key, or the error in words)."""

    job: BulkJob
    items: list[JobItem]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def finished(self) -> int:
        return self.total - self.counts.get(ItemState.PENDING, 0)

    @property
    def running(self) -> bool:
        return self.counts.get(ItemState.PENDING, 0) > 0

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


def _progress(job: BulkJob, items: list[JobItem]) -> JobProgress:
    counts = {str(s): 0 for s in ItemState}
    for item in items:
        counts[item.state] = counts.get(item.state, 0) + 1
    return JobProgress(job, items, counts)


class BulkService:
    """Start, follow, cancel and retry bulk jobs (the Anomalies page and the REST API)."""

    def __init__(
        self,
        db: Database,
        engine: SyncEngine,
        tickets: TicketService,
        changes: StatusChanges,
        public_url: Callable[[], str] | str,
    ):
        self._db = db
        self._engine = engine
        self._tickets = tickets
        self._changes = changes
        self._public = public_url
        self._jobs = BulkJobs(db)
        self._links = LinkRepository(db)

    @property
    def _public_url(self) -> str:
        return self._public() if callable(self._public) else self._public

    # -- reads ---------------------------------------------------------------
    def progress(self, job_id: int) -> JobProgress:
        """Raises: JobNotFound."""
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return _progress(job, self._jobs.items(job_id))

    def recent(self, limit: int = 10) -> list[BulkJob]:
        return self._jobs.recent(limit)

    # -- start ---------------------------------------------------------------
    def start(self, request: BulkRequest, actor: str) -> JobProgress:
        """Check the whole request, then queue or do it; the job's progress.

        Raises:
            BulkRefused: a bad action, selection or option; nothing was changed.
            NoJira: a ticket action without an active Jira connection.
            JiraError: the ticket to link could not be read (other than not found).
        """
        try:
            action = JobAction(request.action)
        except ValueError:
            names = ", ".join(a.value for a in JobAction)
            raise BulkRefused(
                f"'{request.action}' is not a bulk action: use {names}.", {"action": "unknown"}
            ) from None
        actor = (actor or "").strip() or "anomaly-desk"
        anomalies = self._selection(request)
        if action in LOCAL_ACTIONS:
            return self._start_local(action, request, anomalies, actor)
        active = self._tickets.active_jira()
        if active is None:
            raise NoJira("No Jira connection is active: connect to Jira first.")
        if action is JobAction.TICKET_EACH:
            return self._start_each(request, anomalies, actor, active)
        if action is JobAction.TICKET_GROUP:
            return self._start_group(request, anomalies, actor, active)
        return self._start_link(request, anomalies, actor, active)

    def _selection(self, request: BulkRequest) -> list[Anomaly]:
        if request.anomaly_ids and request.filter is not None:
            raise BulkRefused(
                "Give either anomaly ids or a filter, not both.", {"anomaly_ids": "or filter"}
            )
        if request.filter is not None:
            ids = matching_ids(self._db, request.filter, MAX_SELECTION + 1)
        else:
            ids = list(dict.fromkeys(int(i) for i in request.anomaly_ids))
        if not ids:
            raise BulkRefused("Select at least one anomaly.", {"anomaly_ids": "empty selection"})
        if len(ids) > MAX_SELECTION:
            raise BulkRefused(
                f"A bulk action takes at most {MAX_SELECTION:,} anomalies: narrow the filter.",
                {"anomaly_ids": f"more than {MAX_SELECTION}"},
            )
        known = get_many(self._db, ids)
        found = [known[i] for i in ids if i in known]
        missing = [i for i in ids if i not in known]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + ("..." if len(missing) > 10 else "")
            raise BulkRefused(
                f"No anomaly with id {shown}: nothing was changed.", {"anomaly_ids": shown}
            )
        return found

    def _new_job_in(self, cur, action: JobAction, actor: str, conn: int | None, params) -> int:
        return BulkJobs.create_in(
            cur,
            action=action,
            actor=actor,
            connection_id=conn,
            params=params,
            now=self._engine.clock(),
        )

    # -- one ticket per anomaly ----------------------------------------------
    def _start_each(
        self, request: BulkRequest, anomalies: list[Anomaly], actor: str, active: ActiveJira
    ) -> JobProgress:
        prepared = []
        for anomaly in anomalies:
            try:
                prepared.append(
                    self._tickets.prepare_create(
                        anomaly.id,
                        summary=default_summary(anomaly),
                        priority=request.priority,
                        issue_type=request.issue_type,
                        project=request.project,
                        active=active,
                        anomaly=anomaly,
                    )
                )
            except TicketRefused as exc:
                raise BulkRefused(str(exc), exc.field_errors) from None
        now = self._engine.clock()
        params = _ticket_params(request)
        with self._db.transaction() as cur:
            job_id = self._new_job_in(
                cur, JobAction.TICKET_EACH, actor, active.connection_id, params
            )
            earlier = BulkJobs.unfinished_creates_in(
                cur, [a.id for a in anomalies], active.connection_id
            )
            new = [(a.id, create) for a, create in zip(anomalies, prepared) if a.id not in earlier]
            queued = queue_creates_in(
                cur, self._engine, active, new, now=now, actor=actor, mode=SyncMode.MANUAL
            )
            rows = {**earlier, **dict(zip((a for a, _ in new), queued))}
            items = [NewItem(a.id, sync_log_id=rows[a.id]) for a in anomalies]
            BulkJobs.add_items_in(cur, job_id, items)
        self._engine.notify()
        return self.progress(job_id)

    # -- one ticket for the group --------------------------------------------
    def _start_group(
        self, request: BulkRequest, anomalies: list[Anomaly], actor: str, active: ActiveJira
    ) -> JobProgress:
        now = self._engine.clock()
        try:
            fields = self._tickets.ticket_fields(
                active,
                summary=request.summary or group_summary(anomalies),
                description=group_doc(anomalies, self._public_url, now),
                priority=request.priority,
                issue_type=request.issue_type,
                project=request.project,
            )
        except TicketRefused as exc:
            raise BulkRefused(str(exc), exc.field_errors) from None
        with self._db.transaction() as cur:
            job_id = self._new_job_in(
                cur, JobAction.TICKET_GROUP, actor, active.connection_id, _ticket_params(request)
            )
            key = f"anomaly-desk-group-{job_id}"
            create = create_request(
                fields,
                idempotency_key=key,
                request_id=uuid.uuid4().hex,
                owner={"bulk_job": job_id, "anomalies": len(anomalies)},
            )
            log_id = insert_create_in(
                cur,
                self._engine,
                active,
                create,
                now=now,
                actor=actor,
                mode=SyncMode.MANUAL,
                hold=False,
            )
            BulkJobs.set_group_row_in(cur, job_id, log_id)
            BulkJobs.add_items_in(
                cur, job_id, [NewItem(a.id, sync_log_id=log_id) for a in anomalies]
            )
        self._engine.notify()
        return self.progress(job_id)

    # -- link all to an existing ticket --------------------------------------
    def _start_link(
        self, request: BulkRequest, anomalies: list[Anomaly], actor: str, active: ActiveJira
    ) -> JobProgress:
        key = (request.ticket_key or "").strip().upper()
        if not looks_like_issue_key(key):
            raise BulkRefused(
                f"'{key}' is not an issue key (a project key, a dash and a number, like DQ-123).",
                {"ticket_key": "not an issue key"},
            )
        try:
            issue = active.client.get_issue(key)
        except NotFound:
            raise BulkRefused(
                f"Jira has no issue {key}, or this account may not see it.",
                {"ticket_key": "not found"},
            ) from None
        now = self._engine.clock()
        doc = group_doc(anomalies, self._public_url, now)
        with self._db.transaction() as cur:
            job_id = self._new_job_in(
                cur, JobAction.LINK, actor, active.connection_id, {"ticket_key": issue.key}
            )
            items, first = [], None
            for anomaly in anomalies:
                link = self._link_one_in(cur, anomaly.id, issue, actor, active, now)
                first = first or link
                note = None if link else f"{issue.key} was already linked"
                items.append(NewItem(anomaly.id, outcome="done", ticket_key=issue.key, error=note))
            if first is not None:  # one comment listing them all, not one per anomaly
                enqueue_comment_in(
                    cur,
                    first,
                    text=doc_text(doc),
                    doc=doc,
                    mode=SyncMode.MANUAL,
                    actor=actor,
                    now=now,
                )
            BulkJobs.add_items_in(cur, job_id, items)
        self._engine.notify()
        return self.progress(job_id)

    def _link_one_in(self, cur, anomaly_id: int, issue, actor: str, active: ActiveJira, now):
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
        except DuplicateLink:
            return None
        SyncLog.link_event_in(
            cur,
            link,
            action=SyncAction.LINK,
            mode=SyncMode.MANUAL,
            actor=actor,
            now=now,
            request_json=to_json({"method": "GET", "path": f"/issue/{issue.key}", "bulk": True}),
            attempts=1,
            sent_at=now,
        )
        return link

    # -- acknowledge, archive, comment ---------------------------------------
    def _start_local(
        self, action: JobAction, request: BulkRequest, anomalies: list[Anomaly], actor: str
    ) -> JobProgress:
        params = _local_params(action, request)
        with self._db.transaction() as cur:
            job_id = self._new_job_in(cur, action, actor, None, params)
            BulkJobs.add_items_in(
                cur, job_id, [NewItem(a.id, outcome="failed", error=NOT_DONE) for a in anomalies]
            )
        self._do_local(job_id, action, params, [a.id for a in anomalies], actor)
        return self.progress(job_id)

    def _do_local(
        self, job_id: int, action: JobAction, params: dict, ids: Sequence[int], actor: str
    ) -> None:
        for anomaly_id in ids:
            try:
                if action is JobAction.ACKNOWLEDGE:
                    self._changes.acknowledge(anomaly_id, actor, mode=SyncMode.MANUAL)
                elif action is JobAction.ARCHIVE:
                    self._changes.archive(
                        anomaly_id, params["archive_reason"], actor, mode=SyncMode.MANUAL
                    )
                else:
                    self._changes.comment(anomaly_id, actor, params["text"], mode=SyncMode.MANUAL)
                outcome, error = "done", None
            except (AnomalyNotFound, ValueError) as exc:  # InvalidTransition is a ValueError
                outcome, error = "failed", str(exc)
            with self._db.transaction() as cur:
                BulkJobs.set_outcome_in(cur, job_id, anomaly_id, outcome=outcome, error=error)

    # -- cancel and retry ----------------------------------------------------
    def cancel(self, job_id: int, actor: str) -> JobProgress:
        """Rows of the job not sent yet become cancelled; those in flight finish.

        Raises: JobNotFound.
        """
        self.progress(job_id)
        self._jobs.cancel(job_id, (actor or "").strip() or "anomaly-desk", self._engine.clock())
        return self.progress(job_id)

    def retry(self, job_id: int, actor: str) -> JobProgress:
        """Send the failed items again (their own rows: a create keeps its label and request id).

        Raises: JobNotFound.
        """
        progress = self.progress(job_id)
        failed = [i for i in progress.items if i.state == ItemState.FAILED]
        action = JobAction(progress.job.action)
        if action in LOCAL_ACTIONS:
            ids = [i.anomaly_id for i in failed]
            self._do_local(job_id, action, progress.job.params, ids, actor or progress.job.actor)
            return self.progress(job_id)
        for log_id in dict.fromkeys(i.sync_log_id for i in failed if i.sync_log_id is not None):
            try:
                self._engine.retry(log_id)
            except ValueError:
                continue  # finished meanwhile, or its GUID got a ticket another way
        return self.progress(job_id)


def _ticket_params(request: BulkRequest) -> dict:
    values = {
        "priority": request.priority,
        "issue_type": request.issue_type,
        "project": request.project,
        "summary": request.summary,
    }
    return {k: v for k, v in values.items() if v}


def _local_params(action: JobAction, request: BulkRequest) -> dict:
    if action is JobAction.ARCHIVE:
        try:
            return {"archive_reason": ArchiveReason(request.archive_reason).value}
        except ValueError:
            raise BulkRefused(
                f"'{request.archive_reason}' is not an archive reason: use Resolved, Invalid, "
                "Duplicate or Discarded.",
                {"archive_reason": "unknown reason"},
            ) from None
    if action is JobAction.COMMENT:
        text = (request.text or "").strip()
        if not text:
            raise BulkRefused("A comment needs some text.", {"text": "empty"})
        return {"text": text}
    return {}
