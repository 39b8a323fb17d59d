"""Run the automation command (``GUID|CREATE|...``) and the Tickets page's raw payloads.

Decisions, and why:

- A malformed command, or an UPDATE for a GUID that made no ticket, is refused
  before anything is sent **and nothing is written**: the log records Jira
  calls, and a refused command made none (the caller gets the message).
- A CREATE is sent at once (the caller waits for the key). A ticket made here
  has no anomaly, so the outbox's create path (reconciled by the anomaly's
  label, linked to the anomaly) does not fit: the GUID plays that part. Its
  ``automation_tickets`` row is written before the POST; a row without a key
  means "sent, answer not confirmed", and the next CREATE with that GUID looks
  for the issue by its label ``anomaly-desk-auto-<guid-slug>`` (proved ours by
  the issue property's request id) before it ever sends again.
- A CREATE for a GUID that already has a ticket answers that ticket without
  sending: automation retries with the same GUID.
- An UPDATE is queued as an ``update`` row (mode ``automatic``): the worker
  sends it, subject to the operator's update limit (deferred past it).
- The Tickets page's Update is a manual ``update`` row sent at once through
  the engine (so it is logged like every other Jira call).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lib.jira import JiraError, NotFound, looks_like_issue_key
from lib.jira.richtext import Doc
from lib.outbox.engine import ISSUE_PROPERTY, Delivery, SyncEngine, utc_now
from lib.outbox.policy import LOST, PERMANENT, ActiveJira, ClientProvider, disposition
from lib.store.db import Database
from lib.store.sync_log import LogRow, SyncLog, to_json
from lib.tickets.automation_command import (
    Action,
    AutomationCommand,
    AutomationRefused,
    parse_command,
)
from lib.tickets.description import as_doc, doc_to_json

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
class AutomationTicket:
    guid: str
    connection_id: int
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    created_at: datetime | None
    attempted_at: datetime
    request_id: str


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


_COLUMNS = (
    "guid, connection_id, ticket_id, ticket_key, ticket_url, created_at, attempted_at, request_id"
)


class AutomationService:
    """The automation command and raw-payload creates/updates for the active Jira."""

    def __init__(
        self,
        db: Database,
        engine: SyncEngine,
        jira_provider: ClientProvider,
        *,
        clock: Callable[[], datetime] | None = None,
        confirm_s: float = 5.0,
    ):
        self._db = db
        self._engine = engine
        self._provider = jira_provider
        self._clock = clock or engine.clock or utc_now
        self._confirm = timedelta(seconds=confirm_s)
        self._log = SyncLog(db)

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
        fields = self._with_defaults(command.fields, active)
        return self._create(command.guid, fields, active, actor, "automatic", known)

    def ticket_for(self, guid: str) -> AutomationTicket | None:
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM automation_tickets WHERE guid = ?", [guid]
            ).fetchone()
        return AutomationTicket(*row) if row else None

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

    # -- creates (sent now) --------------------------------------------------
    def create_ticket(self, fields: dict, actor: str, mode: str = "manual") -> AutomationResult:
        """Create an issue from raw fields, no anomaly (the Tickets page); a new GUID each time.

        Raises:
            AutomationRefused: Jira refused the fields (``field_errors`` in the message).
        """
        active = self._active()
        if isinstance(active, AutomationResult):
            return active
        return self._create(
            f"table-{uuid.uuid4().hex[:12]}", dict(fields), active, actor, mode, None
        )

    def _create(
        self,
        guid: str,
        fields: dict,
        active: ActiveJira,
        actor: str,
        mode: str,
        known: AutomationTicket | None,
    ) -> AutomationResult:
        if known is not None:  # an earlier answer was lost: is it on Jira after all?
            found = self._reconcile(known, active)
            if found is not None:
                return found
        claim = self._claim(guid, active, known)
        if isinstance(claim, AutomationResult):
            return claim
        fields["labels"] = list(dict.fromkeys([*(fields.get("labels") or []), guid_label(guid)]))
        properties = {ISSUE_PROPERTY: {"automation_guid": guid, "request_id": claim.request_id}}
        log_id = self._log_create(guid, fields, properties, active, actor, mode)
        try:
            created = active.client.create_issue(fields, properties)
        except JiraError as exc:
            return self._create_failed(guid, log_id, exc)
        try:
            issue = active.client.get_issue(created.key)
            url, issue_id = issue.browse_url, issue.id
        except JiraError:  # it exists: keep what the create answered
            url, issue_id = active.client.browse_url(created.key), created.id
        self._record(
            guid, log_id, issue_id, created.key, url, {"id": created.id, "key": created.key}
        )
        return AutomationResult(CREATED, f"Created {created.key}.", guid, created.key, url, log_id)

    def _claim(
        self, guid: str, active: ActiveJira, known: AutomationTicket | None
    ) -> AutomationTicket | AutomationResult:
        """Write (or renew) the GUID's row before sending: a lost answer is then traceable."""
        now, request_id = self._clock(), uuid.uuid4().hex
        with self._db.transaction() as cur:
            if known is None:
                inserted = cur.execute(
                    "INSERT INTO automation_tickets (guid, connection_id, attempted_at, request_id)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING guid",
                    [guid, active.connection_id, now, request_id],
                ).fetchone()
                if inserted is None:  # another caller with the same GUID got there first
                    return AutomationResult(
                        PENDING,
                        f"Another request for {guid} is being sent; "
                        "run the same command again in a few seconds.",
                        guid,
                    )
            else:
                cur.execute(
                    "UPDATE automation_tickets SET attempted_at = ?, request_id = ?,"
                    " connection_id = ? WHERE guid = ? AND ticket_key IS NULL",
                    [now, request_id, active.connection_id, guid],
                )
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM automation_tickets WHERE guid = ?", [guid]
            ).fetchone()
        return AutomationTicket(*row)

    def _log_create(
        self, guid: str, fields: dict, properties: dict, active: ActiveJira, actor: str, mode: str
    ) -> int:
        now = self._clock()
        shown = {k: active.client.render(v) if isinstance(v, Doc) else v for k, v in fields.items()}
        with self._db.transaction() as cur:
            return SyncLog.insert_in(
                cur,
                now=now,
                action="create",
                mode=mode,
                status="sending",
                connection_id=active.connection_id,
                actor=actor,
                attempts=1,
                sent_at=now,
                claimed_by=self._engine.claim_token,
                request_id=properties[ISSUE_PROPERTY]["request_id"],
                request_json=to_json({"fields": shown, "properties": properties}),
            )

    def _record(
        self, guid: str, log_id: int, issue_id: str, key: str, url: str, response: Any
    ) -> None:
        now = self._clock()
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE automation_tickets SET ticket_id = ?, ticket_key = ?,"
                " ticket_url = ?, created_at = ? WHERE guid = ?",
                [issue_id, key, url, now, guid],
            )
            if log_id is not None:
                SyncLog.update_in(
                    cur,
                    log_id,
                    status="ok",
                    claimed_by=None,
                    finished_at=now,
                    ticket_id=issue_id,
                    ticket_key=key,
                    ticket_url=url,
                    response_json=to_json(response),
                )

    def _create_failed(self, guid: str, log_id: int, exc: JiraError) -> AutomationResult:
        kind = disposition(exc, post=True)
        now = self._clock()
        with self._db.transaction() as cur:
            SyncLog.update_in(
                cur,
                log_id,
                status="failed",
                permanent=kind == PERMANENT,
                claimed_by=None,
                error=str(exc),
                finished_at=now,
                response_json=to_json(
                    {"status": exc.status, "code": exc.code, "errors": exc.field_errors}
                ),
            )
            if kind != LOST:  # proved not applied: the GUID is free for a corrected command
                cur.execute("DELETE FROM automation_tickets WHERE guid = ?", [guid])
        if kind == PERMANENT:
            raise JiraRefused(_refusal(exc), exc.field_errors, log_id)
        if kind == LOST:
            return AutomationResult(
                PENDING,
                f"Sent, but Jira's answer was lost ({exc}). Run the "
                "same command again: it looks for the ticket first and never "
                "creates a second one.",
                guid,
                log_id=log_id,
            )
        return AutomationResult(
            UNAVAILABLE,
            f"Jira did not take it ({exc}); nothing was created. Run the same command again later.",
            guid,
            log_id=log_id,
        )

    def _reconcile(self, known: AutomationTicket, active: ActiveJira) -> AutomationResult | None:
        """The ticket a lost create made, a wait, or None: send it again."""
        try:
            for issue in active.client.find_issues_by_label(guid_label(known.guid)):
                if self._made_by(active, issue.key, known):
                    self._record(known.guid, None, issue.id, issue.key, issue.browse_url, None)
                    return AutomationResult(
                        CREATED,
                        f"{issue.key} was made by an earlier attempt "
                        "whose answer was lost; no second ticket was made.",
                        known.guid,
                        issue.key,
                        issue.browse_url,
                    )
        except JiraError as exc:
            return AutomationResult(
                UNAVAILABLE,
                f"Could not look for the earlier attempt's ticket "
                f"({exc}); nothing was sent. Run the command again later.",
                known.guid,
            )
        # Jira's search lags a fresh create: a miss right after the POST proves nothing.
        if self._clock() < known.attempted_at + self._confirm:
            return AutomationResult(
                PENDING,
                "The earlier attempt is not confirmed yet (Jira's "
                "search lags a little); run the same command again in a few "
                "seconds.",
                known.guid,
            )
        return None

    @staticmethod
    def _made_by(active: ActiveJira, key: str, known: AutomationTicket) -> bool:
        try:
            value = active.client.get_property(key, ISSUE_PROPERTY)
        except NotFound:
            return False
        return isinstance(value, dict) and value.get("automation_guid") == known.guid

    # -- updates -------------------------------------------------------------
    def _queue_command_update(self, command: AutomationCommand, actor: str) -> AutomationResult:
        known = self.ticket_for(command.guid)
        if known is None or not known.ticket_key:
            raise AutomationRefused(
                f"Part 1 (GUID) '{command.guid}' has no ticket: an UPDATE needs a CREATE with "
                "the same GUID first. Nothing was sent."
            )
        log_id = self._insert_update(
            known.connection_id,
            known.ticket_key,
            known.ticket_id,
            known.ticket_url,
            command.fields,
            actor,
            "automatic",
            "pending",
        )
        self._engine.notify()  # the worker sends it, within the update limit
        return self.update_state(log_id, command.guid)

    def update_state(self, log_id: int, guid: str | None = None) -> AutomationResult:
        """An update row's state in words (queued, deferred until, sent, failed)."""
        row = self._log.get(log_id)
        if row is None:
            raise LookupError(f"log row {log_id} does not exist")
        return AutomationResult(
            SENT if row.status == "ok" else QUEUED,
            _update_words(row),
            guid,
            row.ticket_key,
            row.ticket_url,
            log_id,
            row.status,
            row.next_attempt_at if row.status == "deferred" else None,
        )

    def update_ticket(self, key: str, fields: dict, actor: str, mode: str = "manual") -> Delivery:
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
            "sending",
        )
        delivery = self._engine.send_claimed(self._log.get(log_id), active)
        if delivery.outcome != "ok":
            self._engine.notify()
        return delivery

    def _insert_update(
        self,
        connection_id: int,
        key: str,
        ticket_id: str | None,
        url: str | None,
        fields: dict,
        actor: str,
        mode: str,
        status: str,
    ) -> int:
        """One ``update`` row; ``sending`` rows are held by this process (sent by the caller)."""
        now = self._clock()
        description = fields.get("description")
        active = self._provider()
        # Rich text is rendered now (the row belongs to one connection, so its
        # flavour is known); the description is also kept as a doc (body_doc) and
        # the engine renders that one per send, as for creates.
        shown = {
            k: active.client.render(v)
            if active is not None
            and (isinstance(v, Doc) or (k == "description" and isinstance(v, str)))
            else v
            for k, v in fields.items()
        }
        held = (
            {"claimed_by": self._engine.claim_token, "attempts": 1, "sent_at": now}
            if status == "sending"
            else {}
        )
        with self._db.transaction() as cur:
            return SyncLog.insert_in(
                cur,
                now=now,
                action="update",
                mode=mode,
                status=status,
                connection_id=connection_id,
                ticket_id=ticket_id,
                ticket_key=key,
                ticket_url=url,
                actor=actor,
                next_attempt_at=now,
                body_doc=doc_to_json(as_doc(description)) if description else None,
                request_json=to_json({"method": "PUT", "path": f"/issue/{key}", "fields": shown}),
                **held,
            )


class JiraRefused(AutomationRefused):
    """Jira refused the fields (a 400, 403, 404...): ``field_errors`` per field, as Jira said."""

    def __init__(self, message: str, field_errors: dict[str, str], log_id: int | None = None):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})
        self.log_id = log_id


def _refusal(exc: JiraError) -> str:
    errors = "; ".join(f"{name}: {message}" for name, message in exc.field_errors.items())
    return f"Jira refused the ticket: {errors or exc}"


def _update_words(row: LogRow) -> str:
    if row.status == "ok":
        return f"Updated {row.ticket_key}."
    if row.status == "deferred":
        return (
            f"Update of {row.ticket_key} queued: past the update limit, planned for "
            f"{row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC."
        )
    if row.status == "failed":
        return f"Update of {row.ticket_key} failed: {row.error}"
    return f"Update of {row.ticket_key} queued (log row {row.id}); the sync worker sends it."
