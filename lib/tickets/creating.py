"""Creating a ticket for an anomaly: validated fields, one outbox row, one press one ticket.

``TicketCreation`` is the create half of ``TicketService`` (mixed in), kept
apart so each module stays readable. Every create goes through the outbox
(``lib.outbox.creates``): the row is written first and delivered at once, so
a lost answer is reconciled by the anomaly's label before anything is created
again, and the UI gets "sent, waiting for Jira's confirmation" instead of
blocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lib.jira import Doc
from lib.outbox.creates import queue_create_in
from lib.outbox.engine import Delivery
from lib.outbox.payload import CreateRequest, create_request
from lib.outbox.policy import LOST, OK, PERMANENT, WAITING, ActiveJira
from lib.store.anomalies import AnomalyNotFound
from lib.store.links import TicketLink
from lib.store.models import Anomaly
from lib.store.sync_log import UNFINISHED, SyncLog, SyncMode, SyncStatus
from lib.tickets.description import (
    SUMMARY_LIMIT,
    anomaly_doc,
    anomaly_label,
    as_doc,
    check_description,
)


class TicketRefused(ValueError):
    """A ticket action that cannot be done; the message says why, in a user's words."""

    def __init__(
        self,
        message: str,
        field_errors: dict[str, str] | None = None,
        log_id: int | None = None,
        kind: str | None = None,
    ):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})
        self.log_id = log_id
        self.kind = kind  # the ErrorKind when a Jira call failed (rules tell a blip from a refusal)


@dataclass(frozen=True)
class Submission:
    """One opening of a create form: its key, and when it was opened (the preview's time)."""

    key: str
    at: datetime


def _as_submission(value: Submission | str | None, now: datetime) -> Submission | None:
    if value is None or isinstance(value, Submission):
        return value
    key = str(value).strip()
    if not key or len(key) > 128:
        raise TicketRefused("A submission key is 1-128 characters.")
    # Only the key matters for a string: the time is that of this press.
    return Submission(key, now)


@dataclass(frozen=True)
class CreateResult:
    status: str  # "created" or "pending" (sent or queued; the worker finishes it)
    message: str
    log_id: int
    link: TicketLink | None = None

    @property
    def key(self) -> str | None:
        return self.link.issue_key if self.link else None


class TicketCreation:
    """Create tickets for anomalies (needs ``TicketService``'s store, engine and clock)."""

    def new_submission(self) -> Submission:
        """A key for one opening of a create form: a second press answers the first ticket."""
        return Submission(uuid.uuid4().hex, self._clock())

    def create_ticket(
        self,
        anomaly_id: int,
        *,
        summary: str,
        description: Doc | str | None = None,
        priority: str | None = None,
        issue_type: str | None = None,
        project: str | None = None,
        extra_fields: dict | None = None,
        labels: Sequence[str] = (),
        actor: str,
        mode: str = SyncMode.MANUAL,
        submission: Submission | str | None = None,
    ) -> CreateResult:
        """Create a Jira issue for an anomaly and link it (one outbox row, sent now).

        ``submission`` (one key per form opening) makes a second press of the
        same form answer the first press's ticket instead of making another.

        Raises:
            TicketRefused: bad input (``field_errors`` per field) or Jira refused it.
            AnomalyNotFound: no such anomaly.
        """
        active = self._active()
        submission = _as_submission(submission, self._clock())
        if submission is not None and (again := self._same_submission(submission, active)):
            return again
        request = self.prepare_create(
            anomaly_id,
            summary=summary,
            description=description,
            priority=priority,
            issue_type=issue_type,
            project=project,
            extra_fields=extra_fields,
            labels=labels,
            submission=submission,
            active=active,
        )
        queue = dict(
            actor=actor,
            mode=mode,
            anomaly_id=anomaly_id,
            submission_key=submission.key if submission else None,
        )
        # Queued unless an earlier create is unfinished (checked in the same
        # statement): that one may be on Jira, so it is settled first.
        row = self._queue(active, request, unless_unfinished=True, **queue)
        if row is None:
            earlier = self._settle_earlier_create(anomaly_id, active)
            if earlier is not None:
                return earlier
            row = self._queue(active, request, **queue)
        return self._create_result(self._engine.send_claimed(row, active))

    def _queue(self, active: ActiveJira, request: CreateRequest, **kw):
        with self._db.transaction() as cur:
            return queue_create_in(cur, self._engine, active, request, now=self._clock(), **kw)

    def prepare_create(
        self,
        anomaly_id: int,
        *,
        summary: str,
        description: Doc | str | None = None,
        priority: str | None = None,
        issue_type: str | None = None,
        project: str | None = None,
        extra_fields: dict | None = None,
        labels: Sequence[str] = (),
        submission: Submission | None = None,
        active: ActiveJira | None = None,
        anomaly: Anomaly | None = None,  # already read (a bulk job reads them all at once)
    ) -> CreateRequest:
        """The create request for an anomaly, exactly as ``create_ticket`` sends it.

        Raises:
            TicketRefused: bad input (``field_errors`` per field).
            AnomalyNotFound: no such anomaly.
        """
        active = active or self._active()
        if anomaly is None or anomaly.id != anomaly_id:
            anomaly = self._anomalies.get(anomaly_id)
        if anomaly is None:
            raise AnomalyNotFound(anomaly_id)
        at = submission.at if submission else self._clock()
        doc = (
            as_doc(description)
            if description is not None
            else anomaly_doc(anomaly, self._public_url, at)
        )
        fields = self._fields(
            active, summary, doc, priority, issue_type, project, extra_fields, labels
        )
        fields["labels"] = [anomaly_label(anomaly_id), *fields["labels"]]  # the key first
        return create_request(
            fields,
            idempotency_key=anomaly_label(anomaly_id),
            # One submission, one request id: a preview shows the id that is sent.
            request_id=submission.key if submission else uuid.uuid4().hex,
            owner={"anomaly_id": anomaly_id},
        )

    def ticket_fields(
        self,
        active: ActiveJira,
        *,
        summary: str,
        description: Doc,
        priority: str | None = None,
        issue_type: str | None = None,
        project: str | None = None,
        labels: Sequence[str] = (),
    ) -> dict:
        """A create's fields, checked as the New ticket dialog's are (a bulk job's group ticket).

        Raises:
            TicketRefused: bad input (``field_errors`` per field).
        """
        return self._fields(
            active, summary, description, priority, issue_type, project, None, labels
        )

    def _fields(
        self,
        active: ActiveJira,
        summary: str,
        doc: Doc,
        priority: str | None,
        issue_type: str | None,
        project: str | None,
        extra: dict | None,
        labels: Sequence[str],
    ) -> dict:
        errors: dict[str, str] = {}
        summary = (summary or "").strip()
        if not summary:
            errors["summary"] = "Summary is required."
        elif len(summary) > SUMMARY_LIMIT:
            errors["summary"] = (
                f"Summary is {len(summary)} characters long; Jira allows {SUMMARY_LIMIT}."
            )
        if problem := check_description(doc):
            errors["description"] = problem
        project = project or active.default_project
        issue_type = issue_type or active.default_issue_type
        if not project:
            errors["project"] = "Choose a project."
        if not issue_type:
            errors["issuetype"] = "Choose an issue type."
        bad_labels = [label for label in labels if not label or " " in label or len(label) > 255]
        if bad_labels:
            errors["labels"] = "Labels have no spaces and at most 255 characters."
        if errors:
            raise TicketRefused("Fix the fields marked below.", errors)
        fields = {
            **(extra or {}),
            "project": {"key": project},
            "summary": summary,
            "issuetype": {"id": issue_type} if str(issue_type).isdigit() else {"name": issue_type},
            "description": doc,
            "labels": list(labels),
        }
        if priority or active.default_priority:
            fields["priority"] = {"name": priority or active.default_priority}
        return fields

    def _same_submission(self, submission: Submission, active: ActiveJira) -> CreateResult | None:
        """The answer to a second press of the same form: the first press's create."""
        row = self._log.create_for_submission(submission.key)
        if row is None:
            return None
        if row.status == SyncStatus.OK:
            link = self._links.get(row.link_id) if row.link_id else None
            return CreateResult(
                "created",
                f"{row.ticket_key} was already created by this form; no second ticket was made.",
                row.id,
                link,
            )
        return self._settle(row, active)

    def _settle_earlier_create(self, anomaly_id: int, active: ActiveJira) -> CreateResult | None:
        """Reconcile an unfinished earlier create first: it may already be on Jira."""
        with self._db.read() as cur:
            earlier = SyncLog.unfinished_creates_in(cur, anomaly_id, active.connection_id)
        for row in earlier:
            if (settled := self._settle(row, active)) is not None:
                return settled
        return None

    def _settle(self, row, active: ActiveJira) -> CreateResult | None:
        delivery = self._engine.deliver(row.id, active)
        if delivery.outcome == OK:
            return CreateResult(
                "created",
                f"An earlier request for this anomaly reached Jira: "
                f"{delivery.ticket_key} is linked; no second ticket was made.",
                row.id,
                delivery.link,
            )
        if delivery.status in UNFINISHED:
            return CreateResult(
                "pending",
                "An earlier request for this anomaly is still waiting "
                "for Jira's confirmation; its ticket appears here when it is "
                "confirmed.",
                row.id,
            )
        return None

    def _create_result(self, delivery: Delivery) -> CreateResult:
        if delivery.outcome == OK:
            return CreateResult(
                "created", f"Created {delivery.ticket_key}.", delivery.log_id, delivery.link
            )
        if delivery.outcome == PERMANENT:
            raise TicketRefused(delivery.message, delivery.field_errors, delivery.log_id)
        self._engine.notify()
        if delivery.outcome in (LOST, WAITING):
            message = (
                "Sent, waiting for Jira's confirmation: the ticket appears here once Jira "
                "confirms it (it is never created twice)."
            )
        else:
            message = f"Jira did not take it yet ({delivery.message}); it is queued and retried."
        return CreateResult("pending", message, delivery.log_id)

    # -- search and link -----------------------------------------------------
