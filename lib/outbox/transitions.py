"""Ticket moves in the outbox: queue a ``transition`` row per linked ticket, and send it.

Queued with the anomaly change, in one transaction (``enqueue_status_change_in``),
only for connections whose "move linked tickets" setting is on; the rules of a
move are in ``lib.outbox.moves``. Decisions, and why:

- Order per ticket: archiving sends the status comment, then the move; reopening
  moves first, then comments. Many workflows make Done issues read-only
  (``jira.issue.editable = false``): a comment after the move into Done, or
  before the move out of it, would be refused.
- Sending re-reads the issue first (GET issue, GET transitions with their
  screens, POST): a ticket already in the target category is skipped ("already
  there"), and a move whose answer was lost is found done instead of sent twice.
  A lost POST waits the engine's late-write time before that re-read, like any
  lost write.
- The workflow saying no (no matching transition, or 400/409 to the POST) is
  not an outage: the row fails with "transition refused by the workflow: <why>;
  status comment sent instead", a comment saying so is queued for the ticket,
  and the integration's health is untouched. Retry sends the move again.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

from lib.jira import JiraError, error_kind
from lib.jira.doc_json import doc_to_json
from lib.jira.errors import ErrorKind
from lib.jira.richtext import doc_from_text
from lib.outbox import moves
from lib.outbox.moves import MovePlan, MoveTarget
from lib.outbox.policy import OK, PERMANENT, ActiveJira, enqueue_for_links_in
from lib.store.connections import ConnectionRepository, TransitionBy
from lib.store.links import LinkRepository
from lib.store.sync_log import LogRow, SyncAction, SyncLog, SyncStatus, to_json

if TYPE_CHECKING:
    from lib.outbox.engine import Delivery, SyncEngine

REFUSED_STATUSES = (400, 409)  # the workflow (a validator, a condition, a conflict) said no


# ---------------------------------------------------------------- enqueue
def enqueue_status_change_in(
    cur: duckdb.DuckDBPyConnection,
    anomaly_id: int,
    *,
    from_status: str | None,
    to_status: str,
    reason: str | None,
    text: str,
    mode: str,
    actor: str,
    now: datetime,
    connection_id: int | None = None,
) -> list[int]:
    """The status comment per linked ticket and, where the setting is on, its move."""
    target = moves.move_target(from_status, to_status)
    comment = dict(mode=mode, actor=actor, now=now, connection_id=connection_id)
    if target is None:
        return enqueue_for_links_in(cur, anomaly_id, text, **comment)
    plan = MovePlan(target, reason if target is MoveTarget.DONE else None, None, text)
    if target is MoveTarget.OUT_OF_DONE:
        queued = enqueue_moves_in(cur, anomaly_id, plan, mode, actor, now, connection_id)
        return queued + enqueue_for_links_in(cur, anomaly_id, text, **comment)
    queued = enqueue_for_links_in(cur, anomaly_id, text, **comment)
    return queued + enqueue_moves_in(cur, anomaly_id, plan, mode, actor, now, connection_id)


def enqueue_moves_in(
    cur: duckdb.DuckDBPyConnection,
    anomaly_id: int,
    plan: MovePlan,
    mode: str,
    actor: str,
    now: datetime,
    connection_id: int | None,
) -> list[int]:
    """One ``transition`` row per active link (and per unconfirmed create) of a
    connection that moves tickets; none when no connection does."""
    # Asked first: with the setting off everywhere (the default) this one query is all.
    wanted = None if connection_id is None else [connection_id]
    settings = ConnectionRepository.ticket_moves_in(cur, wanted)
    if not settings:
        return []
    links = LinkRepository.for_anomaly_in(cur, anomaly_id, connection_id=connection_id)
    creates = SyncLog.unfinished_creates_in(cur, anomaly_id, connection_id)
    ids = []
    for ticket in [*links, *creates]:
        setting = settings.get(ticket.connection_id)
        if setting is None:
            continue
        chosen = plan.transition_id
        if setting.by is TransitionBy.ID:
            done = plan.target is MoveTarget.DONE
            chosen = setting.done_transition_id if done else setting.reopen_transition_id
        ids.append(
            _insert_move_in(cur, replace(plan, transition_id=chosen), ticket, mode, actor, now)
        )
    return ids


def _insert_move_in(cur, plan: MovePlan, ticket, mode: str, actor: str, now: datetime) -> int:
    """A row for a link (``TicketLink``) or, waiting on it, for an unconfirmed create (``LogRow``)."""
    where = (
        {"waits_on": ticket.id, "anomaly_id": ticket.anomaly_id}
        if isinstance(ticket, LogRow)
        else {
            "anomaly_id": ticket.anomaly_id,
            "link_id": ticket.id,
            "ticket_id": ticket.issue_id,
            "ticket_key": ticket.issue_key,
            "ticket_url": ticket.url,
        }
    )
    return SyncLog.insert_in(
        cur,
        now=now,
        action=SyncAction.TRANSITION,
        mode=mode,
        status=SyncStatus.PENDING,
        connection_id=ticket.connection_id,
        actor=actor,
        request_json=to_json(plan.to_request()),
        next_attempt_at=now,
        **where,
    )


# ---------------------------------------------------------------- send
def send_transition(engine: SyncEngine, row: LogRow, active: ActiveJira) -> Delivery:
    """Move one ticket (the engine's ``transition`` rows); see the module docstring."""
    try:
        plan = MovePlan.from_request(row.request)
    except (ValueError, KeyError) as exc:  # a row this code did not write: never retried
        return engine.fail(row, f"not a ticket move this version can send: {exc}")
    read = _read(engine, row, active.client, plan)
    if not isinstance(read, tuple):
        return read  # already there, or the reads failed
    issue, offered = read
    choice = moves.pick_transition(offered, plan, issue.status_name)
    if isinstance(choice, str):
        return refuse(engine, row, plan, choice)
    fields, why = moves.resolution_fields(choice, plan)
    if why:
        return refuse(engine, row, plan, why)
    return _move(engine, row, active.client, plan, issue, choice, fields)


def _read(engine: SyncEngine, row: LogRow, client, plan: MovePlan):
    """(the issue, its transitions), or the Delivery of a ticket already there / a failed read."""
    from lib.outbox.engine import Delivery  # the engine imports this module

    key, started = row.ticket_key, time.monotonic()
    try:
        issue = client.get_issue(key)
        if moves.already_there(issue.status_category, plan.target):
            note = "found moved after a lost answer" if row.needs_reconcile else "already there"
            response = {"skipped": note, "status": issue.status_name}
            _finish(engine, row, issue, None, response=response)
            message = f"{key}: {note} ({issue.status_name})"
            return Delivery(row.id, SyncStatus.OK, OK, message, ticket_key=key)
        return issue, client.get_transitions(key)
    except JiraError as exc:
        # Reads: a timeout or 5xx is retried, a 404 stops the row.
        return engine.on_error(row, exc, _ms(started), client, post=False)


def _move(
    engine: SyncEngine, row: LogRow, client, plan: MovePlan, issue, choice, fields
) -> Delivery:
    """POST the transition; a 400/409 is the workflow refusing, a lost answer is reconciled."""
    from lib.outbox.engine import Delivery

    key = row.ticket_key
    body = {"transition": {"id": choice.id}, **({"fields": fields} if fields else {})}
    sent = {"method": "POST", "path": f"/issue/{key}/transitions", "body": body}
    request = {**row.request, "sent": sent}
    started = time.monotonic()
    try:
        client.do_transition(key, choice.id, fields)
    except JiraError as exc:
        engine.log.record_request(row.id, to_json(request))
        if exc.status in REFUSED_STATUSES:
            why = f"{exc.detail or 'no reason given'} (HTTP {exc.status})"
            return refuse(engine, row, plan, why, kind=str(error_kind(exc)))
        return engine.on_error(row, exc, _ms(started), client)
    moved = replace(issue, status_name=choice.to_status, status_category=choice.to_category)
    resolution = moves.resolution_name(choice, fields)
    response = {"from": issue.status_name, "to": choice.to_status, "transition": choice.id}
    response["resolution"] = resolution
    _finish(engine, row, moved, _ms(started), response=response, request_json=to_json(request))
    said = f" ({resolution})" if resolution else ""
    message = f"{key} moved to {choice.to_status}{said}"
    return Delivery(row.id, SyncStatus.OK, OK, message, ticket_key=key)


def _finish(engine: SyncEngine, row: LogRow, issue, latency, *, response: dict, **extra) -> None:
    """The row done and the link showing the ticket's status now, in one transaction."""
    with engine.db.transaction() as cur:
        SyncLog.finish_ok_in(
            cur,
            row.id,
            now=engine.clock(),
            response_json=to_json(response),
            latency_ms=latency,
            **extra,
        )
        if row.link_id is not None:
            LinkRepository.update_from_issue_in(cur, row.link_id, issue, engine.clock())


def refuse(
    engine: SyncEngine, row: LogRow, plan: MovePlan, why: str, *, kind: str = ErrorKind.VALIDATION
) -> Delivery:
    """The workflow said no: fail the row with why, and queue the comment that says so."""
    from lib.outbox.engine import Delivery

    message = moves.refused_log_text(why)
    text = moves.refused_comment(plan, why)
    now = engine.clock()
    with engine.db.transaction() as cur:
        SyncLog.fail_in(cur, row.id, now=now, error=message, error_kind=kind)
        SyncLog.insert_in(
            cur,
            now=now,
            action=SyncAction.COMMENT,
            mode=row.mode,
            status=SyncStatus.PENDING,
            anomaly_id=row.anomaly_id,
            connection_id=row.connection_id,
            link_id=row.link_id,
            ticket_id=row.ticket_id,
            ticket_key=row.ticket_key,
            ticket_url=row.ticket_url,
            actor=row.actor,
            body_text=text,
            body_doc=doc_to_json(doc_from_text(text)),
            next_attempt_at=now,
        )
    engine.notify()
    return Delivery(row.id, SyncStatus.FAILED, PERMANENT, message, ticket_key=row.ticket_key)


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
