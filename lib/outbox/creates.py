"""The one create path: a ``create`` row, sent and reconciled by the engine.

Every create carries an idempotency key to Jira as a label (the anomaly's
``anomaly-desk-<id>``, or ``anomaly-desk-auto-<guid-slug>``) and its request
id in the ``anomaly-desk`` issue property. Decisions, and why:

- One round trip: key, id and link come from the create answer (``{id, key,
  self}``; the browse URL from the client). Status is read later by the refresh.
- A lost answer is reconciled by label + request id, only after the late-write
  wait and a confirmed second miss (see ``lib.outbox.engine``).
- When Jira confirms a create, in the same transaction: the anomaly's link
  (or the GUID's ``automation_tickets`` row) is written and the rows that
  waited on this create get its ticket, so they are sent next, in order.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lib.jira import Issue, JiraError, NotFound
from lib.outbox.group_links import link_group_in
from lib.outbox.payload import ISSUE_PROPERTY, CreateRequest, create_body, join_rich, split_rich
from lib.outbox.policy import OK, WAITING, ActiveJira
from lib.store.automation_tickets import AutomationTickets
from lib.store.links import DuplicateLink, LinkRepository
from lib.store.sync_log import LogRow, SyncAction, SyncLog, SyncStatus, to_json

if TYPE_CHECKING:
    from lib.outbox.engine import Delivery, SyncEngine

CREATE_REQUEST_LIMIT = 400_000  # the whole body (rendered 32k descriptions) must stay parseable


def queue_create_in(
    cur,
    engine: SyncEngine,
    active: ActiveJira,
    request: CreateRequest,
    *,
    unless_unfinished: bool = False,
    **row: Any,
) -> LogRow | None:
    """Queue one create row (``row``: ``create_row``'s keywords) and return it.

    ``hold`` (default True) claims it for this process (sent now);
    ``reconcile_first``: an earlier attempt with this request id may be on Jira.
    ``unless_unfinished``: None (nothing queued) when the anomaly has an
    unfinished create on this connection, to be settled first.
    """
    insert = (
        SyncLog.insert_create_unless_unfinished_in if unless_unfinished else SyncLog.insert_row_in
    )
    return insert(cur, **create_row(engine, active, request, **row))


def create_row(
    engine: SyncEngine,
    active: ActiveJira,
    request: CreateRequest,
    *,
    now: datetime,
    actor: str,
    mode: str,
    anomaly_id: int | None = None,
    automation_guid: str | None = None,
    submission_key: str | None = None,
    hold: bool = True,
    reconcile_first: bool = False,
) -> dict:
    """A create row's columns (``SyncLog.insert_in``'s arguments): one definition for one
    row and for a bulk job's many (``lib.outbox.bulk_creates.queue_creates_in``)."""
    plain, rich = split_rich(request.fields)
    body = create_body(active.client, request)
    held = {"claimed_by": engine.claim_token, "attempts": 1, "sent_at": now} if hold else {}
    return dict(
        now=now,
        action=SyncAction.CREATE,
        mode=mode,
        status=SyncStatus.SENDING if hold else SyncStatus.PENDING,
        anomaly_id=anomaly_id,
        connection_id=active.connection_id,
        actor=actor,
        request_json=to_json(body, CREATE_REQUEST_LIMIT),  # exactly what is sent
        rich_fields=rich,
        request_id=request.request_id,
        idempotency_key=request.idempotency_key,
        automation_guid=automation_guid,
        submission_key=submission_key,
        next_attempt_at=now,
        needs_reconcile=reconcile_first,
        **held,
    )


def insert_create_in(
    cur, engine: SyncEngine, active: ActiveJira, request: CreateRequest, **kw
) -> int:
    """``queue_create_in``, returning only the row's id."""
    return queue_create_in(cur, engine, active, request, **kw).id


def stored_request(row: LogRow) -> CreateRequest:
    """The row's create request with its docs back in place (rendered anew per send)."""
    body = row.request
    fields = join_rich(dict(body.get("fields") or {}), row.rich_fields, row.body_doc)
    properties = {p["key"]: p["value"] for p in body.get("properties") or []}
    return CreateRequest(fields, properties, row.idempotency_key or "", row.request_id or "")


def send_create(engine: SyncEngine, row: LogRow, active: ActiveJira) -> Delivery:
    request = stored_request(row)
    if row.needs_reconcile:
        found = _reconcile(engine, row, active, request)
        if found is not None and not isinstance(found, Issue):
            return found  # a Delivery: wait, or the lookup failed
        if found is not None:
            response = {"found": "by label after a lost answer", "key": found.key}
            return _created(engine, row, active, found, latency=None, response=response)
    started = time.monotonic()
    try:
        created = active.client.create_issue(request.fields, request.properties)
    except JiraError as exc:
        return engine.on_error(row, exc, _ms(started), active.client)
    fields = request.fields
    priority = fields.get("priority")
    issue = Issue(
        created.id,
        created.key,
        fields.get("summary"),
        None,  # status: read by the next refresh, not by a second call now
        None,
        priority.get("name") if isinstance(priority, dict) else None,
        None,
        tuple(fields.get("labels") or ()),
        active.client.browse_url(created.key),
    )
    response = {"id": created.id, "key": created.key, "self": created.self_url}
    return _created(engine, row, active, issue, latency=_ms(started), response=response)


def _created(
    engine: SyncEngine,
    row: LogRow,
    active: ActiveJira,
    issue: Issue,
    *,
    latency: float | None,
    response: Any,
) -> Delivery:
    from lib.outbox.engine import Delivery

    now = engine.clock()
    with engine.db.transaction() as cur:
        link = created_in(cur, engine, row, active, issue, now, latency=latency, response=response)
    engine.notify()
    return Delivery(
        row.id,
        SyncStatus.OK,
        OK,
        f"created {issue.key}",
        link=link,
        ticket_key=issue.key,
        ticket_url=issue.browse_url,
    )


def created_in(
    cur,
    engine: SyncEngine,
    row: LogRow,
    active: ActiveJira,
    issue: Issue,
    now,
    *,
    latency: float | None,
    response: Any,
):
    """Everything a confirmed create writes, in the caller's transaction; the link, if any.

    One definition for a single create and for a bulk call's many (which
    confirm all of theirs in one transaction).
    """
    from lib.outbox.engine import RESPONSE_LIMIT

    link = None
    if row.anomaly_id is not None:
        link = _link_in(cur, engine, row, active, issue, now)
    if row.automation_guid:
        AutomationTickets.record_in(
            cur,
            guid=row.automation_guid,
            connection_id=active.connection_id,
            ticket_id=issue.id,
            ticket_key=issue.key,
            ticket_url=issue.browse_url,
            request_id=row.request_id or "",
            now=now,
        )
    if row.anomaly_id is None and row.automation_guid is None:
        link_group_in(cur, engine, row, active, issue, now)  # a bulk job's group ticket
    SyncLog.finish_create_ok_in(
        cur,
        row.id,
        now=now,
        response_json=to_json(response, RESPONSE_LIMIT),
        latency_ms=latency,
        ticket_id=issue.id,
        ticket_key=issue.key,
        ticket_url=issue.browse_url,
        link_id=link.id if link else None,
    )
    return link


def _link_in(cur, engine: SyncEngine, row: LogRow, active: ActiveJira, issue: Issue, now):
    try:
        return engine.links.add_in(
            cur,
            anomaly_id=row.anomaly_id,
            connection_id=active.connection_id,
            issue=issue,
            created_by_us=True,
            actor=row.actor or "anomaly-desk",
            now=now,
        )
    except DuplicateLink:
        return LinkRepository.find_active_in(
            cur, row.anomaly_id, active.connection_id, issue.key, issue.id
        )


def _reconcile(
    engine: SyncEngine, row: LogRow, active: ActiveJira, request: CreateRequest
) -> Issue | Delivery | None:
    """The issue a lost create made, a Delivery to wait, or None: send it again."""
    project = request.fields.get("project") or {}
    project_ref = project.get("key") or project.get("id") if isinstance(project, dict) else None
    try:
        for issue in active.client.find_issues_by_label(request.idempotency_key, project_ref):
            if _made_by(row, active, issue.key):
                return issue
    except JiraError as exc:
        return engine.release_lookup(row, "looking for a lost create", exc)
    now = engine.clock()
    first_miss = row.reconcile_miss_at or now
    if row.reconcile_miss_at is None:
        engine.log.note_miss(row.id, now)
    confirm_at = first_miss + engine.reconcile_confirm
    if now < confirm_at:
        return engine.release(
            row,
            "sent, waiting for Jira's confirmation",
            needs_reconcile=True,
            delay=(confirm_at - now).total_seconds(),
            outcome=WAITING,
        )
    return None  # confirmed missing: only now create it again


def _made_by(row: LogRow, active: ActiveJira, key: str) -> bool:
    try:
        value = active.client.get_property(key, ISSUE_PROPERTY)
    except NotFound:
        return False
    return isinstance(value, dict) and value.get("request_id") == row.request_id


def check_retry_in(cur, row: LogRow) -> None:
    """Refuse to retry an automation create whose GUID got its ticket another way.

    Raises:
        ValueError: the GUID already has a ticket (a later command made it).
    """
    if not row.automation_guid:
        return
    known = AutomationTickets.get_in(cur, row.automation_guid)
    if known is not None and known.ticket_key:
        raise ValueError(
            f"Log row {row.id}: {known.ticket_key} was already made for "
            f"{row.automation_guid}; retrying would make a second ticket."
        )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
