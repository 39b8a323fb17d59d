"""Delivery of outbox rows to Jira, exactly once: claim, send, record.

A row is claimed (status ``sending``) in a short transaction, the HTTP call is
made with no transaction open, and the answer is recorded in another short
transaction. A row whose answer was lost is never re-sent blindly: a comment
is looked for among the issue's comments, a create among the issues carrying
the anomaly's label (matched by the ``request_id`` kept in an issue property).
Jira's search is eventually consistent right after a create, so a create is
only declared missing when a second search, ``reconcile_confirm_s`` after the
first miss, still does not find it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.jira import Issue, JiraError, NotFound
from lib.jira.richtext import adf_to_text
from lib.outbox.policy import (
    LOST,
    PERMANENT,
    RETRY,
    ActiveJira,
    Backoff,
    ClientProvider,
    disposition,
    normalise,
)
from lib.store.db import Database
from lib.store.links import DuplicateLink, LinkRepository, TicketLink
from lib.store.sync_log import RETRYABLE_ACTIONS, LogRow, SyncLog, to_json
from lib.tickets.description import anomaly_label, doc_from_json

log = logging.getLogger("anomaly_desk.sync")

PROCESS_TOKEN = uuid.uuid4().hex  # claims of this process; others' are stale after a crash
ISSUE_PROPERTY = "anomaly-desk"
RESPONSE_LIMIT = 4000


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Delivery:
    """What one attempt did: the row's new status and, for the UI, why."""

    log_id: int
    status: str  # the row's status afterwards
    outcome: str  # ok | lost | retry | permanent | waiting | skipped
    message: str = ""
    retry_after: float | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    link: TicketLink | None = None
    ticket_key: str | None = None


def rendered_text(client: Any, doc) -> str:
    """The text Jira gives back for ``doc`` (ADF flattened, or the wiki string)."""
    body = client.render(doc)
    return normalise(adf_to_text(body) if isinstance(body, dict) else str(body))


class SyncEngine:
    """Sends outbox rows (comments, creates, updates) for the active Jira connection."""

    def __init__(
        self,
        db: Database,
        client_provider: ClientProvider,
        *,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff = Backoff(),
        reconcile_confirm_s: float = 5.0,
        claim_token: str = PROCESS_TOKEN,
    ):
        self.db = db
        self.client_provider = client_provider
        self.clock = clock
        self.backoff = backoff
        self.reconcile_confirm = timedelta(seconds=reconcile_confirm_s)
        self.claim_token = claim_token
        self.log = SyncLog(db)
        self.links = LinkRepository(db)
        self._listeners: list[Callable[[], None]] = []

    # -- notification: a new pending row wakes the worker at once -------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- claims --------------------------------------------------------------
    def recover_stale_claims(self) -> int:
        """Rows another (dead) process left in ``sending``: answer lost, reconcile them."""
        with self.db.transaction() as cur:
            rows = cur.execute(
                "UPDATE sync_log SET status = 'pending', needs_reconcile = TRUE, claimed_by = NULL,"
                " next_attempt_at = ? WHERE status = 'sending'"
                " AND (claimed_by IS NULL OR claimed_by <> ?) RETURNING id",
                [self.clock(), self.claim_token],
            ).fetchall()
        if rows:
            log.warning("sync.recovered_claims", extra={"sync_rows": len(rows)})
        return len(rows)

    def _claim(self, log_id: int, active: ActiveJira) -> LogRow | Delivery:
        now = self.clock()
        with self.db.transaction() as cur:
            row = SyncLog.get_in(cur, log_id)
            if row is None or row.status not in ("pending", "deferred"):
                return Delivery(
                    log_id, row.status if row else "missing", "skipped", "already taken or finished"
                )
            if row.connection_id != active.connection_id:
                message = (
                    f"Jira connection {row.connection_id} is not the active one: "
                    "activate it and press Retry."
                )
                SyncLog.update_in(
                    cur, log_id, status="failed", permanent=True, error=message, finished_at=now
                )
                return Delivery(log_id, "failed", PERMANENT, message)
            SyncLog.update_in(
                cur,
                log_id,
                status="sending",
                claimed_by=self.claim_token,
                attempts=row.attempts + 1,
                sent_at=now,
            )
            return SyncLog.get_in(cur, log_id)

    def deliver(self, log_id: int, active: ActiveJira | None = None) -> Delivery:
        """Send one pending or deferred row now (the worker, or the UI right after queueing)."""
        active = active or self.client_provider()
        if active is None:
            return Delivery(log_id, "pending", "skipped", "no active Jira connection")
        claimed = self._claim(log_id, active)
        if isinstance(claimed, Delivery):
            return claimed
        return self.send_claimed(claimed, active)

    def send_claimed(self, row: LogRow, active: ActiveJira) -> Delivery:
        """Send a row this process already holds in ``sending``."""
        try:
            if row.action == "comment":
                return self._send_comment(row, active)
            if row.action == "create":
                return self._send_create(row, active)
            if row.action == "update":
                return self._send_update(row, active)
            return self._fail(row, f"{row.action} rows are not sent by the outbox")
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the row claimed forever
            log.exception("sync.deliver.crashed", extra={"sync_log_id": row.id})
            return self._release(
                row,
                f"internal error: {type(exc).__name__}: {exc}",
                needs_reconcile=True,
                delay=self.backoff.delay(row.attempts),
            )

    def retry(self, log_id: int) -> LogRow:
        """Queue a failed create, comment or update again (the Retry action).

        Raises:
            ValueError: the row is not a failed create, comment or update, or it is
                an automation create (no anomaly: its command is run again instead).
        """
        with self.db.transaction() as cur:
            row = SyncLog.get_in(cur, log_id)
            if row is None or row.status != "failed" or row.action not in RETRYABLE_ACTIONS:
                raise ValueError(
                    f"Log row {log_id} is not a failed create, comment or update: "
                    "only those can be sent again."
                )
            if row.action == "create" and row.anomaly_id is None:
                # The outbox reconciles creates by the anomaly's label; a create
                # without an anomaly is reconciled by its command's GUID instead.
                raise ValueError(
                    f"Log row {log_id} is a create without an anomaly (automation or "
                    "the Tickets page): run the same command again to retry it."
                )
            SyncLog.update_in(
                cur,
                log_id,
                status="pending",
                permanent=False,
                next_attempt_at=self.clock(),
                finished_at=None,
            )
            row = SyncLog.get_in(cur, log_id)
        self.notify()
        return row

    # -- outcomes ------------------------------------------------------------
    def _finish_ok(
        self, row: LogRow, *, latency: float | None, response: Any, **values: Any
    ) -> None:
        with self.db.transaction() as cur:
            self._ok_in(cur, row, latency=latency, response=response, **values)

    def _ok_in(
        self, cur, row: LogRow, *, latency: float | None, response: Any, **values: Any
    ) -> None:
        SyncLog.update_in(
            cur,
            row.id,
            status="ok",
            claimed_by=None,
            finished_at=self.clock(),
            needs_reconcile=False,
            permanent=False,
            error=None,
            response_json=to_json(response, RESPONSE_LIMIT),
            latency_ms=latency,
            **values,
        )

    def _fail(
        self, row: LogRow, message: str, response: Any = None, *, latency: float | None = None
    ) -> Delivery:
        self.log.update(
            row.id,
            status="failed",
            permanent=True,
            claimed_by=None,
            error=message,
            finished_at=self.clock(),
            response_json=to_json(response, RESPONSE_LIMIT),
            latency_ms=latency,
        )
        return Delivery(
            row.id,
            "failed",
            PERMANENT,
            message,
            field_errors=dict((response or {}).get("errors") or {}),
        )

    def _release(
        self,
        row: LogRow,
        message: str,
        *,
        needs_reconcile: bool,
        delay: float,
        outcome: str = RETRY,
        retry_after: float | None = None,
        latency: float | None = None,
        **extra: Any,
    ) -> Delivery:
        self.log.update(
            row.id,
            status="pending",
            claimed_by=None,
            error=message,
            needs_reconcile=needs_reconcile,
            latency_ms=latency,
            next_attempt_at=self.clock() + timedelta(seconds=delay),
            **extra,
        )
        return Delivery(row.id, "pending", outcome, message, retry_after=retry_after)

    def _on_error(
        self,
        row: LogRow,
        exc: JiraError,
        latency: float,
        *,
        post: bool = True,
        lost_delay: float | None = None,
    ) -> Delivery:
        kind = disposition(exc, post=post)
        if kind == PERMANENT:
            response = {"status": exc.status, "code": exc.code, "errors": exc.field_errors}
            return self._fail(row, str(exc), response, latency=latency)
        retry_after = getattr(exc, "retry_after", None)
        delay = self.backoff.delay(row.attempts, retry_after)
        extra: dict[str, Any] = {}
        if kind == LOST:
            # Look again only once Jira's search can see a fresh create; a new
            # send starts a new wait, so an older miss must not count.
            delay = max(delay, lost_delay or 0.0)
            extra["reconcile_miss_at"] = None
        # 429/503 prove this send was not applied, and an earlier lost one was
        # already looked for before it: nothing is left to reconcile.
        return self._release(
            row,
            str(exc),
            needs_reconcile=kind == LOST,
            delay=delay,
            outcome=kind,
            retry_after=retry_after,
            latency=latency,
            **extra,
        )

    # -- comments ------------------------------------------------------------
    def _send_comment(self, row: LogRow, active: ActiveJira) -> Delivery:
        client = active.client
        doc = doc_from_json(row.body_doc)
        if row.needs_reconcile:
            try:
                landed = self._comment_landed(row, active, doc)
            except JiraError as exc:
                wait = getattr(exc, "retry_after", None)
                return self._release(
                    row,
                    f"checking for a lost comment: {exc}",
                    needs_reconcile=True,
                    retry_after=wait,
                    delay=self.backoff.delay(row.attempts, wait),
                )
            if landed:
                self._finish_ok(
                    row, latency=None, response={"found": "on Jira after a lost answer"}
                )
                return Delivery(
                    row.id,
                    "ok",
                    "ok",
                    "found on Jira after a lost answer",
                    ticket_key=row.ticket_key,
                )
        request = {
            "method": "POST",
            "path": f"/issue/{row.ticket_key}/comment",
            "body": client.render(doc),
        }
        started = time.monotonic()
        try:
            comment = client.add_comment(row.ticket_key, doc)
        except JiraError as exc:
            self.log.update(row.id, request_json=to_json(request))
            return self._on_error(row, exc, _ms(started))
        self._finish_ok(
            row,
            latency=_ms(started),
            request_json=to_json(request),
            response={"id": comment.id, "created": comment.created},
        )
        return Delivery(row.id, "ok", "ok", ticket_key=row.ticket_key)

    def _comment_landed(self, row: LogRow, active: ActiveJira, doc) -> bool:
        """Whether Jira holds this comment more often than earlier rows delivered it."""
        expected = {normalise(row.body_text or ""), rendered_text(active.client, doc)}
        on_jira = sum(
            1 for c in active.client.comments(row.ticket_key) if normalise(c.body_text) in expected
        )
        earlier = self.log.delivered_count(
            row.connection_id, row.ticket_key, row.body_text or "", row.id
        )
        return on_jira > earlier

    # -- updates -------------------------------------------------------------
    def _send_update(self, row: LogRow, active: ActiveJira) -> Delivery:
        """PUT the row's fields. Idempotent: a lost answer is simply sent again."""
        fields = dict(row.request.get("fields") or {})
        if row.body_doc:  # rendered now, for this connection's flavour
            fields["description"] = doc_from_json(row.body_doc)
        started = time.monotonic()
        try:
            active.client.edit_issue(row.ticket_key, fields)
        except JiraError as exc:
            # post=False: a timeout or 5xx is retried, never reconciled; 400 with
            # field errors, 403 and 404 would fail again, so they stop the row.
            return self._on_error(row, exc, _ms(started), post=False)
        self._finish_ok(row, latency=_ms(started), response={"status": 204})
        return Delivery(row.id, "ok", "ok", f"updated {row.ticket_key}", ticket_key=row.ticket_key)

    # -- creates -------------------------------------------------------------
    def _send_create(self, row: LogRow, active: ActiveJira) -> Delivery:
        request = row.request
        fields = dict(request.get("fields") or {})
        if row.body_doc:
            fields["description"] = doc_from_json(row.body_doc)
        if row.needs_reconcile:
            found = self._reconcile_create(row, active, fields)
            if isinstance(found, Delivery):
                return found
            if found is not None:
                return self._created(
                    row,
                    active,
                    found,
                    latency=None,
                    response={"found": "by label after a lost answer", "key": found.key},
                )
        started = time.monotonic()
        try:
            created = active.client.create_issue(fields, request.get("properties"))
        except JiraError as exc:
            return self._on_error(
                row, exc, _ms(started), lost_delay=self.reconcile_confirm.total_seconds()
            )
        latency = _ms(started)
        try:
            issue = active.client.get_issue(created.key)
        except JiraError:  # the issue exists: link it with what the create answered
            issue = Issue(
                created.id,
                created.key,
                fields.get("summary"),
                None,
                None,
                None,
                None,
                (),
                active.client.browse_url(created.key),
            )
        return self._created(
            row, active, issue, latency=latency, response={"id": created.id, "key": created.key}
        )

    def _created(
        self, row: LogRow, active: ActiveJira, issue: Issue, *, latency: float | None, response: Any
    ) -> Delivery:
        now = self.clock()
        with self.db.transaction() as cur:
            try:
                link = self.links.add_in(
                    cur,
                    anomaly_id=row.anomaly_id,
                    connection_id=active.connection_id,
                    issue=issue,
                    created_by_us=True,
                    actor=row.actor or "anomaly-desk",
                    now=now,
                )
            except DuplicateLink:
                link = LinkRepository.find_active_in(
                    cur, row.anomaly_id, active.connection_id, issue.key, issue.id
                )
            self._ok_in(
                cur,
                row,
                latency=latency,
                response=response,
                link_id=link.id,
                ticket_id=issue.id,
                ticket_key=issue.key,
                ticket_url=issue.browse_url,
            )
        self.notify()
        return Delivery(row.id, "ok", "ok", f"created {issue.key}", link=link, ticket_key=issue.key)

    def _reconcile_create(
        self, row: LogRow, active: ActiveJira, fields: dict
    ) -> Issue | Delivery | None:
        """The issue a lost create made, a Delivery to wait, or None: send it again."""
        project = fields.get("project") or {}
        project_ref = project.get("key") or project.get("id")
        try:
            for issue in active.client.find_issues_by_label(
                anomaly_label(row.anomaly_id), project_ref
            ):
                if self._made_by(row, active, issue.key):
                    return issue
        except JiraError as exc:
            wait = getattr(exc, "retry_after", None)
            return self._release(
                row,
                f"looking for a lost create: {exc}",
                needs_reconcile=True,
                delay=self.backoff.delay(row.attempts, wait),
                retry_after=wait,
            )
        now = self.clock()
        first_miss = row.reconcile_miss_at or now
        if row.reconcile_miss_at is None:
            self.log.update(row.id, reconcile_miss_at=now)
        confirm_at = first_miss + self.reconcile_confirm
        if now < confirm_at:
            delay = (confirm_at - now).total_seconds()
            return self._release(
                row,
                "sent, waiting for Jira's confirmation",
                needs_reconcile=True,
                delay=delay,
                outcome="waiting",
            )
        return None  # confirmed missing: only now create it again

    def _made_by(self, row: LogRow, active: ActiveJira, key: str) -> bool:
        try:
            value = active.client.get_property(key, ISSUE_PROPERTY)
        except NotFound:
            return False
        return isinstance(value, dict) and value.get("request_id") == row.request_id


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
