"""Delivery of outbox rows to Jira, exactly once: claim, send, record.

A row is claimed (status ``sending``) in a short transaction, the HTTP call is
made with no transaction open, and the answer is recorded in another short
transaction. A row whose answer was lost is never re-sent blindly: a comment
is looked for among the issue's comments, a create among the issues carrying
its idempotency label (matched by the ``request_id`` kept in an issue
property). Decisions, and why:

- Every create (the New ticket dialog, the Tickets page, the automation
  command) is a ``create`` row sent by ``send_create`` (``lib.outbox.creates``);
  callers that wait for the key deliver their row at once through the same code.
- A write whose answer was lost may still land late: Jira can apply a request
  after the client gave up at its timeout. The first look for it is made only
  ``late_write_s`` after the loss (by default twice the client's timeout, so
  a write Jira applies up to one more timeout late is found, not repeated).
- Jira's search is eventually consistent right after a create, so a create is
  only declared missing when a second search, ``reconcile_confirm_s`` after
  the first miss, still does not find it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.jira import JiraError, error_kind
from lib.jira.doc_json import doc_from_json
from lib.jira.richtext import adf_to_text
from lib.outbox import bulk_creates, creates, transitions
from lib.outbox.health import IntegrationHealth
from lib.outbox.payload import ISSUE_PROPERTY, join_rich
from lib.outbox.policy import (
    LOST,
    OK,
    PERMANENT,
    RETRY,
    SKIPPED,
    ActiveJira,
    Backoff,
    ClientProvider,
    disposition,
    normalise,
)
from lib.store.db import Database
from lib.store.links import LinkRepository, TicketLink
from lib.store.outbox_queue import OutboxQueue
from lib.store.sync_log import (
    CLAIMABLE,
    RETRYABLE_ACTIONS,
    LogRow,
    SyncAction,
    SyncLog,
    SyncStatus,
    to_json,
)
from lib.store.sync_log_many import claim_many_in

__all__ = ["ISSUE_PROPERTY", "Delivery", "SyncEngine", "utc_now"]

log = logging.getLogger("anomaly_desk.sync")

PROCESS_TOKEN = uuid.uuid4().hex  # claims of this process; others' are stale after a crash
RESPONSE_LIMIT = 4000
LATE_WRITE_FACTOR = 2.0  # x the client's timeout: how long a lost write may take to land


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
    ticket_url: str | None = None


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
        late_write_s: float | None = None,
        claim_token: str = PROCESS_TOKEN,
        health: IntegrationHealth | None = None,
    ):
        self.db = db
        self.health = health or IntegrationHealth(db, clock)
        self.client_provider = client_provider
        self.clock = clock
        self.backoff = backoff
        self.reconcile_confirm = timedelta(seconds=reconcile_confirm_s)
        self._late_write_s = late_write_s
        self.claim_token = claim_token
        self.log = SyncLog(db)
        self.queue = OutboxQueue(db)  # what is due, first per ticket (the worker)
        self.links = LinkRepository(db)
        self._listeners: list[Callable[[], None]] = []

    def late_write_wait(self, client: Any) -> float:
        """Seconds to wait after a lost answer before looking for the write on Jira."""
        if self._late_write_s is not None:
            return self._late_write_s
        return LATE_WRITE_FACTOR * float(getattr(client, "timeout", 30.0) or 30.0)

    # -- notification: a new pending row wakes the worker at once -------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- claims --------------------------------------------------------------
    def recover_stale_claims(self) -> int:
        """Rows another (dead) process left in ``sending``: answer lost, reconcile them.

        They are looked for only after the late-write wait: the dead process's
        last request may still be applied by Jira (not by a Jira that lived in that
        process, demo mode's sandbox: its state file already says what landed).
        """
        active = self.client_provider()
        wait = 0.0
        if active is not None and not active.in_process:
            wait = self.late_write_wait(active.client)
        with self.db.transaction() as cur:
            count = SyncLog.recover_stale_in(
                cur, self.claim_token, self.clock() + timedelta(seconds=wait)
            )
        if count:
            log.warning("sync.recovered_claims", extra={"sync_rows": count})
        return count

    def _claim(self, log_id: int, active: ActiveJira) -> LogRow | Delivery:
        now = self.clock()
        with self.db.transaction() as cur:
            row = SyncLog.get_in(cur, log_id)
            if row is None or row.status not in CLAIMABLE or row.waiting:
                status = row.status if row else "missing"
                return Delivery(log_id, status, SKIPPED, "already taken, waiting or finished")
            if OutboxQueue.earlier_in_queue_in(cur, row):
                # Checked inside the claim's transaction: with several senders,
                # never two rows of one ticket in flight, never out of order.
                return Delivery(log_id, row.status, SKIPPED, "behind an earlier row of its ticket")
            if row.connection_id != active.connection_id:
                message = (
                    f"Jira connection {row.connection_id} is not the active one: "
                    "activate it and press Retry."
                )
                SyncLog.fail_in(cur, log_id, now=now, error=message)
                return Delivery(log_id, SyncStatus.FAILED, PERMANENT, message)
            SyncLog.claim_in(cur, row, token=self.claim_token, now=now)
            return SyncLog.get_in(cur, log_id)

    def claim(self, row: LogRow, active: ActiveJira) -> LogRow | Delivery:
        """Take a due row for one attempt (the worker's senders then ``send_claimed`` it).

        ``row`` as the due query read it: one statement claims it when it is
        still due (1 instead of 4 a row); otherwise ``_claim`` says why not
        (taken, waiting, behind an earlier row of its ticket, another
        connection's: failed) in a Delivery.
        """
        if row.connection_id == active.connection_id:
            with self.db.transaction() as cur:
                claimed = OutboxQueue.claim_head_in(
                    cur, row, token=self.claim_token, now=self.clock()
                )
            if claimed is not None:
                return claimed
        return self._claim(row.id, active)

    def deliver(self, log_id: int, active: ActiveJira | None = None) -> Delivery:
        """Send one pending or deferred row now (the worker, or the UI right after queueing)."""
        active = active or self.client_provider()
        if active is None:
            return Delivery(log_id, SyncStatus.PENDING, SKIPPED, "no active Jira connection")
        claimed = self._claim(log_id, active)
        if isinstance(claimed, Delivery):
            return claimed
        return self.send_claimed(claimed, active)

    def deliver_creates(self, log_ids: list[int], active: ActiveJira) -> list[Delivery]:
        """Send up to 50 due create rows in one bulk call (``lib.outbox.bulk_creates``)."""
        with self.db.transaction() as cur:  # one claim for the call, not one per row
            claimed = claim_many_in(
                cur,
                log_ids,
                connection_id=active.connection_id,
                token=self.claim_token,
                now=self.clock(),
            )
        taken = {row.id for row in claimed}
        # The rest (another connection's, taken, waiting): the one-by-one path says why.
        skipped = [self.deliver(i, active) for i in log_ids if i not in taken]
        if not claimed:
            return skipped
        try:
            sent = bulk_creates.send_creates_bulk(self, claimed, active)
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the rows claimed forever
            log.exception("sync.deliver_creates.crashed", extra={"sync_rows": len(claimed)})
            sent = [
                self.release(
                    row,
                    f"internal error: {type(exc).__name__}: {exc}",
                    needs_reconcile=True,
                    delay=self.backoff.delay(row.attempts),
                )
                for row in claimed
            ]
        return skipped + sent

    def send_claimed(self, row: LogRow, active: ActiveJira) -> Delivery:
        """Send a row this process already holds in ``sending``."""
        delivery = self._dispatch(row, active)
        if delivery.outcome == OK:
            self.health.record_success(row.connection_id)  # failures: in on_error
        return delivery

    def _dispatch(self, row: LogRow, active: ActiveJira) -> Delivery:
        try:
            if row.action == SyncAction.COMMENT:
                return self._send_comment(row, active)
            if row.action == SyncAction.CREATE:
                return creates.send_create(self, row, active)
            if row.action == SyncAction.UPDATE:
                return self._send_update(row, active)
            if row.action == SyncAction.TRANSITION:  # a ticket move (lib.outbox.transitions)
                return transitions.send_transition(self, row, active)
            return self.fail(row, f"{row.action} rows are not sent by the outbox")
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the row claimed forever
            log.exception("sync.deliver.crashed", extra={"sync_log_id": row.id})
            return self.release(
                row,
                f"internal error: {type(exc).__name__}: {exc}",
                needs_reconcile=True,
                delay=self.backoff.delay(row.attempts),
            )

    def retry(self, log_id: int) -> LogRow:
        """Queue a failed create, comment or update again (the Retry action).

        A create is retried through the same row, so it keeps its request id and
        label: if an earlier attempt did reach Jira, it is found, not made twice.

        Raises:
            ValueError: the row is not a failed create, comment or update, or its
                automation GUID already has a ticket.
        """
        with self.db.transaction() as cur:
            row = SyncLog.get_in(cur, log_id)
            if (
                row is None
                or row.status != SyncStatus.FAILED
                or row.action not in RETRYABLE_ACTIONS
            ):
                raise ValueError(
                    f"Log row {log_id} is not a failed create, comment, update or move: "
                    "only those can be sent again."
                )
            if row.action == SyncAction.CREATE:
                creates.check_retry_in(cur, row)
            SyncLog.requeue_in(cur, log_id, self.clock())
            row = SyncLog.get_in(cur, log_id)
        self.notify()
        return row

    # -- outcomes ------------------------------------------------------------
    def finish_ok(
        self, row: LogRow, *, latency: float | None, response: Any, **ticket: Any
    ) -> None:
        with self.db.transaction() as cur:
            SyncLog.finish_ok_in(
                cur,
                row.id,
                now=self.clock(),
                response_json=to_json(response, RESPONSE_LIMIT),
                latency_ms=latency,
                **ticket,
            )

    def fail(
        self,
        row: LogRow,
        message: str,
        response: Any = None,
        *,
        latency: float | None = None,
        error_kind: str | None = None,
    ) -> Delivery:
        self.log.fail(
            row.id,
            now=self.clock(),
            error=message,
            error_kind=error_kind,
            response_json=to_json(response, RESPONSE_LIMIT),
            latency_ms=latency,
        )
        return Delivery(
            row.id,
            SyncStatus.FAILED,
            PERMANENT,
            message,
            field_errors=dict((response or {}).get("errors") or {}),
        )

    def release(
        self,
        row: LogRow,
        message: str,
        *,
        needs_reconcile: bool,
        delay: float,
        outcome: str = RETRY,
        retry_after: float | None = None,
        latency: float | None = None,
        forget_miss: bool = False,
        error_kind: str | None = None,
    ) -> Delivery:
        self.log.release(
            row.id,
            error=message,
            error_kind=error_kind,
            needs_reconcile=needs_reconcile,
            latency_ms=latency,
            next_attempt_at=self.clock() + timedelta(seconds=delay),
            forget_miss=forget_miss,
        )
        return Delivery(row.id, SyncStatus.PENDING, outcome, message, retry_after=retry_after)

    def on_error(
        self,
        row: LogRow,
        exc: JiraError,
        latency: float,
        client: Any,
        *,
        post: bool = True,
        record_health: bool = True,  # False: one bulk call's failure, recorded once
    ) -> Delivery:
        kind = disposition(exc, post=post)
        what = str(error_kind(exc))
        if record_health:
            self.health.record_failure(row.connection_id, exc)
        if kind == PERMANENT:
            response = {"status": exc.status, "code": exc.code, "errors": exc.field_errors}
            return self.fail(row, str(exc), response, latency=latency, error_kind=what)
        retry_after = getattr(exc, "retry_after", None)
        delay = self.backoff.delay(row.attempts, retry_after)
        if kind == LOST:
            # Jira may still apply it: look only once a late write would show.
            # A new send starts a new wait, so an older miss must not count.
            delay = max(delay, self.late_write_wait(client))
        # 429/503 prove this send was not applied, and an earlier lost one was
        # already looked for before it: nothing is left to reconcile.
        return self.release(
            row,
            str(exc),
            needs_reconcile=kind == LOST,
            delay=delay,
            outcome=kind,
            retry_after=retry_after,
            latency=latency,
            forget_miss=kind == LOST,
            error_kind=what,
        )

    def release_lookup(self, row: LogRow, what: str, exc: JiraError) -> Delivery:
        """A look for a lost write failed: keep reconciling, after the server's wait."""
        wait = getattr(exc, "retry_after", None)
        return self.release(
            row,
            f"{what}: {exc}",
            needs_reconcile=True,
            retry_after=wait,
            delay=self.backoff.delay(row.attempts, wait),
        )

    # -- comments ------------------------------------------------------------
    def _send_comment(self, row: LogRow, active: ActiveJira) -> Delivery:
        client = active.client
        doc = doc_from_json(row.body_doc)
        if row.needs_reconcile:
            try:
                landed = self._comment_landed(row, active, doc)
            except JiraError as exc:
                return self.release_lookup(row, "checking for a lost comment", exc)
            if landed:
                self.finish_ok(row, latency=None, response={"found": "on Jira after a lost answer"})
                return Delivery(
                    row.id,
                    SyncStatus.OK,
                    OK,
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
            self.log.record_request(row.id, to_json(request))
            return self.on_error(row, exc, _ms(started), client)
        self.finish_ok(
            row,
            latency=_ms(started),
            request_json=to_json(request),
            response={"id": comment.id, "created": comment.created},
        )
        return Delivery(row.id, SyncStatus.OK, OK, ticket_key=row.ticket_key)

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
        fields = join_rich(
            dict(row.request.get("fields") or {}), row.rich_fields, legacy_description=row.body_doc
        )
        started = time.monotonic()
        try:
            active.client.edit_issue(row.ticket_key, fields)
        except JiraError as exc:
            # post=False: a timeout or 5xx is retried, never reconciled; 400 with
            # field errors, 403 and 404 would fail again, so they stop the row.
            return self.on_error(row, exc, _ms(started), active.client, post=False)
        self.finish_ok(row, latency=_ms(started), response={"status": 204})
        return Delivery(
            row.id, SyncStatus.OK, OK, f"updated {row.ticket_key}", ticket_key=row.ticket_key
        )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
