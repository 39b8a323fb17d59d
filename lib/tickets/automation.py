"""Run the automation command (``GUID|CREATE|...``) and the Tickets page's raw payloads.

Decisions, and why:

- A malformed command, or an UPDATE for a GUID that made no ticket, is refused
  before anything is sent **and nothing is written**: the log records Jira
  calls, and a refused command made none (the caller gets the message).
- A CREATE is an outbox ``create`` row like every other create, with the
  GUID's label ``anomaly-desk-auto-<guid-slug>`` as its idempotency key; it is
  delivered at once (the caller waits for the key) through the engine, so a
  lost answer is reconciled by that label and a failed create can be retried
  from the Log. ``automation_tickets`` (GUID -> ticket) is filled by the
  engine when Jira confirms the create.
- A CREATE for a GUID that already has a ticket answers that ticket without
  sending; one whose earlier create is unconfirmed settles that create first.
- An UPDATE is queued as an ``update`` row (mode ``automatic``): the worker
  sends it, subject to the operator's update limit (deferred past it). An
  UPDATE while its CREATE is unconfirmed waits on the create row.
- The Tickets page's Update is a manual ``update`` row sent at once through
  the engine (so it is logged like every other Jira call).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lib.jira import looks_like_issue_key
from lib.outbox.creates import queue_create_in
from lib.outbox.engine import Delivery, SyncEngine, utc_now
from lib.outbox.payload import CreateRequest, create_request, render_fields, split_rich
from lib.outbox.policy import (
    LOST,
    OK,
    PERMANENT,
    SKIPPED,
    WAITING,
    ActiveJira,
    ClientProvider,
)
from lib.store.automation_tickets import AutomationTicket, AutomationTickets
from lib.store.db import Database
from lib.store.sync_log import (
    UNFINISHED,
    LogRow,
    SyncAction,
    SyncLog,
    SyncMode,
    SyncStatus,
    to_json,
)
from lib.tickets.automation_command import (
    Action,
    AutomationCommand,
    AutomationRefused,
    parse_command,
)
from lib.tickets.description import as_doc

AUTO_LABEL_PREFIX = "anomaly-desk-auto-"
AUTOMATION_ACTOR = "automation"

# How a result maps to an exit code / HTTP status at the edges.
CREATED, EXISTING, QUEUED, SENT, PENDING, UNAVAILABLE = (
    "created",
    "existing",
    "queued",
    "sent",
    "pending",
    "unavailable",
)
DONE = frozenset({CREATED, EXISTING, QUEUED, SENT})


@dataclass(frozen=True)
class AutomationResult:
    """What a command did. ``ok`` is False when it could not run (try the same again)."""

    status: str  # created | existing | queued | sent | pending | unavailable
    message: str
    guid: str | None = None
    ticket_key: str | None = None
    ticket_url: str | None = None
    log_id: int | None = None
    row_status: str | None = None  # the update row: pending, deferred, ok, failed
    planned_at: datetime | None = None  # a deferred update's planned time
    field_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in DONE

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "message": self.message,
            "guid": self.guid,
            "ticket_key": self.ticket_key,
            "ticket_url": self.ticket_url,
            "log_id": self.log_id,
            "row_status": self.row_status,
            "planned_at": self.planned_at.isoformat() if self.planned_at else None,
        }


def guid_label(guid: str) -> str:
    """The label a GUID's ticket carries (Jira labels: no spaces, at most 255 characters)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", guid.lower()).strip("-") or "x"
    return f"{AUTO_LABEL_PREFIX}{slug}"[:255]


class AutomationService:
    """The automation command and raw-payload creates/updates for the active Jira."""

    def __init__(
        self,
        db: Database,
        engine: SyncEngine,
        jira_provider: ClientProvider,
        *,
        clock: Callable[[], datetime] | None = None,
    ):
        self._db = db
        self._engine = engine
        self._provider = jira_provider
        self._clock = clock or engine.clock or utc_now
        self._log = SyncLog(db)
        self._tickets = AutomationTickets(db)

    # -- the command ---------------------------------------------------------
    def run(self, text: str, actor: str = AUTOMATION_ACTOR) -> AutomationResult:
        """Parse and run one command string.

        Raises:
            AutomationRefused: malformed, an UPDATE for an unknown GUID, or Jira
                refused the fields (the message says which). Nothing was sent
                for the first two.
        """
        command = parse_command(text)
        if command.action == Action.UPDATE:
            return self._queue_command_update(command, actor)
        known = self.ticket_for(command.guid)
        if known is not None and known.ticket_key:
            return AutomationResult(
                EXISTING,
                f"{known.ticket_key} was already made for {command.guid}; nothing was sent.",
                command.guid,
                known.ticket_key,
                known.ticket_url,
            )
        active = self._active()
        if isinstance(active, AutomationResult):
            return active
        paused = self._engine.health.automation_paused(active.connection_id)
        if paused is not None:  # automation would only add failures: a person resumes it
            return AutomationResult(UNAVAILABLE, f"Automation is paused: {paused.reason}")
        fields = self._with_defaults(command.fields, active)
        return self._create(command.guid, fields, active, actor, SyncMode.AUTOMATIC, known=known)

    def ticket_for(self, guid: str) -> AutomationTicket | None:
        return self._tickets.get(guid)

    def _active(self) -> ActiveJira | AutomationResult:
        active = self._provider()
        if active is None:
            return AutomationResult(
                UNAVAILABLE,
                "The active Jira connection's secret cannot be "
                "read: enter it again on the Connect to Jira page.",
            )
        return active

    @staticmethod
    def _with_defaults(fields: dict, active: ActiveJira) -> dict:
        """The connection's default project, issue type and priority where not given."""
        out = dict(fields)
        if "project" not in out:
            if not active.default_project:
                raise AutomationRefused(
                    "No project given and the Jira connection has no default "
                    "project: add 'project;KEY' or set a default on Connect."
                )
            out["project"] = {"key": active.default_project}
        if "issuetype" not in out:
            kind = active.default_issue_type
            if not kind:
                raise AutomationRefused(
                    "No issue type given and the Jira connection has no "
                    "default: add 'issuetype;Task' or set one on Connect."
                )
            out["issuetype"] = {"id": kind} if str(kind).isdigit() else {"name": kind}
        if "priority" not in out and active.default_priority:
            out["priority"] = {"name": active.default_priority}
        return out

    # -- creates (one outbox row each, sent now) ------------------------------
    def create_ticket(
        self,
        fields: dict,
        actor: str,
        mode: str = SyncMode.MANUAL,
        submission_key: str | None = None,
    ) -> AutomationResult:
        """Create an issue from raw fields, no anomaly (the Tickets page).

        ``submission_key`` names the press: the same key again answers the
        first ticket (a new key per intended ticket).

        Raises:
            AutomationRefused: Jira refused the fields (``field_errors`` in the message).
        """
        active = self._active()
        if isinstance(active, AutomationResult):
            return active
        guid = f"table-{(submission_key or uuid.uuid4().hex)[:32]}"
        known = self.ticket_for(guid)
        if known is not None and known.ticket_key:
            return AutomationResult(
                EXISTING,
                f"{known.ticket_key} was already created by this press; nothing was sent.",
                guid,
                known.ticket_key,
                known.ticket_url,
            )
        return self._create(guid, dict(fields), active, actor, mode, submission_key, known=known)

    def prepare_create(self, fields: dict, submission_key: str) -> CreateRequest:
        """The request ``create_ticket(fields, ..., submission_key)`` sends (the page's preview)."""
        guid = f"table-{submission_key[:32]}"
        return self._request(guid, dict(fields), request_id=submission_key)

    @staticmethod
    def _request(guid: str, fields: dict, request_id: str) -> CreateRequest:
        if isinstance(fields.get("description"), str):  # rich text: a doc, rendered per flavour
            fields = {**fields, "description": as_doc(fields["description"])}
        return create_request(
            fields,
            idempotency_key=guid_label(guid),
            request_id=request_id,
            owner={"automation_guid": guid},
        )

    def _create(
        self,
        guid: str,
        fields: dict,
        active: ActiveJira,
        actor: str,
        mode: str,
        submission_key: str | None = None,
        *,
        known: AutomationTicket | None = None,
    ) -> AutomationResult:
        earlier = self._log.create_for_guid(guid)
        if earlier is not None and earlier.status != SyncStatus.OK:
            return self._settle(earlier, active)  # an earlier answer was lost: is it on Jira?
        # A GUID row without a key was written before the POST by versions
        # before 006: that create may be on Jira, so it is looked for first.
        legacy = known if known is not None and not known.ticket_key else None
        request_id = legacy.request_id if legacy else submission_key or uuid.uuid4().hex
        request = self._request(guid, fields, request_id)
        with self._db.transaction() as cur:
            row = queue_create_in(
                cur,
                self._engine,
                active,
                request,
                now=self._clock(),
                actor=actor,
                mode=mode,
                automation_guid=guid,
                reconcile_first=legacy is not None,
            )
        return self._create_result(guid, self._engine.send_claimed(row, active))

    def _settle(self, row: LogRow, active: ActiveJira) -> AutomationResult:
        delivery = self._engine.deliver(row.id, active)
        if delivery.outcome == OK:
            return AutomationResult(
                CREATED,
                f"{delivery.ticket_key} was made by an earlier attempt "
                "whose answer was lost; no second ticket was made.",
                row.automation_guid,
                delivery.ticket_key,
                delivery.ticket_url,
                row.id,
            )
        if delivery.status in UNFINISHED or delivery.outcome == SKIPPED:
            return AutomationResult(
                PENDING,
                "The earlier attempt is not confirmed yet (Jira may still apply it, and "
                "its search lags a little); run the same command again in a few seconds. "
                "It is never created twice.",
                row.automation_guid,
                log_id=row.id,
            )
        return self._create_result(row.automation_guid, delivery)

    def _create_result(self, guid: str, delivery: Delivery) -> AutomationResult:
        if delivery.outcome == OK:
            return AutomationResult(
                CREATED,
                f"Created {delivery.ticket_key}.",
                guid,
                delivery.ticket_key,
                delivery.ticket_url,
                delivery.log_id,
            )
        if delivery.outcome == PERMANENT:
            errors = "; ".join(f"{n}: {m}" for n, m in delivery.field_errors.items())
            raise JiraRefused(
                f"Jira refused the ticket: {errors or delivery.message}",
                delivery.field_errors,
                delivery.log_id,
            )
        self._engine.notify()  # the worker finishes it
        if delivery.outcome in (LOST, WAITING):
            message = (
                f"Sent, but Jira's answer was lost ({delivery.message}). Run the "
                "same command again: it looks for the ticket first and never "
                "creates a second one."
            )
        else:
            message = (
                f"Jira did not take it yet ({delivery.message}); it is queued and the "
                "sync worker sends it (never twice). Run the same command again later "
                "for its key."
            )
        return AutomationResult(PENDING, message, guid, log_id=delivery.log_id)

    # -- updates -------------------------------------------------------------
    def _queue_command_update(self, command: AutomationCommand, actor: str) -> AutomationResult:
        known = self.ticket_for(command.guid)
        if known is not None and known.ticket_key:
            log_id = self._insert_update(
                known.connection_id,
                known.ticket_key,
                known.ticket_id,
                known.ticket_url,
                command.fields,
                actor,
                SyncMode.AUTOMATIC,
                SyncStatus.PENDING,
            )
        else:
            create = self._log.create_for_guid(command.guid)
            if create is None:
                raise AutomationRefused(
                    f"Part 1 (GUID) '{command.guid}' has no ticket: an UPDATE needs a CREATE "
                    "with the same GUID first. Nothing was sent."
                )
            # Its CREATE is not confirmed yet: the update waits on it, and the
            # engine gives it the ticket when Jira confirms the create.
            log_id = self._insert_update(
                create.connection_id,
                None,
                None,
                None,
                command.fields,
                actor,
                SyncMode.AUTOMATIC,
                SyncStatus.PENDING,
                waits_on=create.id,
                idempotency_key=create.idempotency_key,
            )
        self._engine.notify()  # the worker sends it, within the update limit
        return self.update_state(log_id, command.guid)

    def update_state(self, log_id: int, guid: str | None = None) -> AutomationResult:
        """An update row's state in words (queued, deferred until, sent, failed)."""
        row = self._log.get(log_id)
        if row is None:
            raise LookupError(f"log row {log_id} does not exist")
        return AutomationResult(
            SENT if row.status == SyncStatus.OK else QUEUED,
            _update_words(row),
            guid,
            row.ticket_key,
            row.ticket_url,
            log_id,
            row.status,
            row.next_attempt_at if row.status == "deferred" else None,
        )

    def update_ticket(
        self, key: str, fields: dict, actor: str, mode: str = SyncMode.MANUAL
    ) -> Delivery:
        """PUT fields to an issue now, logged (the Tickets page). A retryable failure stays queued.

        Raises:
            AutomationRefused: not an issue key, no fields, or no usable connection.
        """
        key = (key or "").strip().upper()
        if not looks_like_issue_key(key):
            raise AutomationRefused(f"'{key}' is not an issue key (like DQ-123).")
        if not fields:
            raise AutomationRefused("There is no field to update: include at least one row.")
        active = self._active()
        if isinstance(active, AutomationResult):
            raise AutomationRefused(active.message)
        log_id = self._insert_update(
            active.connection_id,
            key,
            None,
            active.client.browse_url(key),
            fields,
            actor,
            mode,
            SyncStatus.SENDING,
        )
        delivery = self._engine.send_claimed(self._log.get(log_id), active)
        if delivery.outcome != OK:
            self._engine.notify()
        return delivery

    def _insert_update(
        self,
        connection_id: int,
        key: str | None,
        ticket_id: str | None,
        url: str | None,
        fields: dict,
        actor: str,
        mode: str,
        status: str,
        **waiting: Any,
    ) -> int:
        """One ``update`` row; ``sending`` rows are held by this process (sent by the caller)."""
        now = self._clock()
        if isinstance(fields.get("description"), str):
            fields = {**fields, "description": as_doc(fields["description"])}
        plain, rich = split_rich(fields)
        active = self._provider()
        # The log shows the fields as this connection's flavour renders them; the
        # docs are kept apart (rich_fields) and rendered again at each send.
        shown = render_fields(active.client, fields) if active is not None else plain
        held = (
            {"claimed_by": self._engine.claim_token, "attempts": 1, "sent_at": now}
            if status == SyncStatus.SENDING
            else {}
        )
        with self._db.transaction() as cur:
            return SyncLog.insert_in(
                cur,
                now=now,
                action=SyncAction.UPDATE,
                mode=mode,
                status=status,
                connection_id=connection_id,
                ticket_id=ticket_id,
                ticket_key=key,
                ticket_url=url,
                actor=actor,
                next_attempt_at=now,
                rich_fields=rich,
                request_json=to_json({"method": "PUT", "path": f"/issue/{key}", "fields": shown}),
                **held,
                **waiting,
            )


class JiraRefused(AutomationRefused):
    """Jira refused the fields (a 400, 403, 404...): ``field_errors`` per field, as Jira said."""

    def __init__(self, message: str, field_errors: dict[str, str], log_id: int | None = None):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})
        self.log_id = log_id


def _update_words(row: LogRow) -> str:
    if row.waiting:
        return (
            f"Update queued (log row {row.id}): it is sent once Jira confirms the "
            "ticket its CREATE made."
        )
    if row.status == SyncStatus.OK:
        return f"Updated {row.ticket_key}."
    if row.status == SyncStatus.DEFERRED:
        return (
            f"Update of {row.ticket_key} queued: past the update limit, planned for "
            f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC."
        )
    if row.status == SyncStatus.FAILED:
        return f"Update of {row.ticket_key} failed: {row.error}"
    return f"Update of {row.ticket_key} queued (log row {row.id}); the sync worker sends it."
