"""Due create rows sent together: one ``POST /issue/bulk`` of up to 50, through the one create path.

Each row stays the one create of its anomaly (its label ``anomaly-desk-<id>``
and request id, its link written when Jira confirms it); only the call is
shared. Decisions, and why:

- A refused element fails (or retries) only its own row: Jira names it by
  ``failedElementNumber``, and the client words it as a single create's error.
- A call whose answer was lost (timeout, dropped connection, 5xx) may have
  made every issue in it, so every row of the call is released to be
  reconciled: each is looked for by its label (and request id) by the
  existing lost-create path before it is ever sent again. Never a second
  ticket, at the cost of one search per row after a lost call.
- The integration's health records one call as one outcome: a lost bulk call
  is one failure, not fifty (which would pause automation at once).
- A row that already needs reconciling goes through ``send_create`` alone:
  the look-up comes first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lib.jira import Issue, JiraError
from lib.jira.records import CreatedIssue
from lib.outbox import creates
from lib.outbox.policy import OK, ActiveJira
from lib.store.links import LinkRepository
from lib.store.sync_log import LogRow, SyncLog, SyncStatus, to_json
from lib.store.sync_log_many import finish_ok_many_in, insert_many_in, waited_on_in

if TYPE_CHECKING:
    from lib.outbox.engine import Delivery, SyncEngine


def queue_creates_in(
    cur, engine: SyncEngine, active: ActiveJira, creates_: list, *, now, actor: str, mode: str
) -> list[int]:
    """Queue many anomalies' create rows (pending, for the worker) in one statement; their ids.

    ``creates_``: (anomaly_id, CreateRequest) pairs; each row is what
    ``insert_create_in`` writes for it (``creates.create_row``), only inserted together.
    """
    rows = [
        creates.create_row(
            engine, active, request, now=now, actor=actor, mode=mode, anomaly_id=anomaly_id,
            hold=False,
        )
        for anomaly_id, request in creates_
    ]  # fmt: skip
    ids = insert_many_in(cur, rows, key="request_id")
    return [ids[request.request_id] for _, request in creates_]


def send_creates_bulk(engine: SyncEngine, rows: list[LogRow], active: ActiveJira) -> list[Delivery]:
    """Send claimed create rows (at most 50) in one bulk call; one Delivery per row."""
    out = [creates.send_create(engine, r, active) for r in rows if r.needs_reconcile]
    rows = [r for r in rows if not r.needs_reconcile]
    if not rows:
        return out
    requests = [creates.stored_request(r) for r in rows]
    started = time.monotonic()
    try:
        results = active.client.create_issues_bulk([(q.fields, q.properties) for q in requests])
    except JiraError as exc:
        latency = _ms(started)
        engine.health.record_failure(active.connection_id, exc)
        return out + [
            engine.on_error(row, exc, latency, active.client, record_health=False) for row in rows
        ]
    latency = _ms(started)
    engine.health.record_success(active.connection_id)
    made = [(row, req, res) for row, req, res in zip(rows, requests, results) if not _failed(res)]
    for row, result in zip(rows, results):
        if _failed(result):
            out.append(engine.on_error(row, result, latency, active.client, record_health=False))
    return out + _confirm(engine, active, made, latency, len(rows))


def _failed(result) -> bool:
    return isinstance(result, JiraError)


def _confirm(engine: SyncEngine, active: ActiveJira, made: list, latency: float, size: int):
    """Every created row of the call confirmed in one transaction, in a few statements.

    An anomaly's create (the bulk job's case) is confirmed set-wise: its link,
    the rows that waited on it, its ``ok``; any other create (an automation
    GUID's, a group ticket) through ``created_in``, the single create's code.
    """
    from lib.outbox.engine import RESPONSE_LIMIT, Delivery

    now = engine.clock()
    plain = [(row, _issue(active, c, q.fields), c) for row, q, c in made if _plain(row)]
    special = [(row, _issue(active, c, q.fields), c) for row, q, c in made if not _plain(row)]
    link_ids: dict[int, int] = {}
    with engine.db.transaction() as cur:
        for row, issue, created in special:
            link = creates.created_in(
                cur, engine, row, active, issue, now, latency=latency,
                response=_response(created, size),
            )  # fmt: skip
            if link is not None:
                link_ids[row.anomaly_id] = link.id
        link_ids.update(
            LinkRepository.add_many_in(
                cur,
                [(row.anomaly_id, issue, row.actor or "anomaly-desk") for row, issue, _ in plain],
                connection_id=active.connection_id,
                created_by_us=True,
                now=now,
            )
        )
        waited = waited_on_in(cur, [row.id for row, _, _ in plain])
        for row, issue, _ in plain:
            if row.id in waited:
                SyncLog.confirm_waiting_in(
                    cur,
                    row.id,
                    ticket_id=issue.id,
                    ticket_key=issue.key,
                    ticket_url=issue.browse_url,
                    link_id=link_ids.get(row.anomaly_id),
                    now=now,
                )
        finish_ok_many_in(
            cur,
            [
                {
                    "id": row.id,
                    "response_json": to_json(_response(created, size), RESPONSE_LIMIT),
                    "latency_ms": latency,
                    "link_id": link_ids.get(row.anomaly_id),
                    "ticket_id": issue.id,
                    "ticket_key": issue.key,
                    "ticket_url": issue.browse_url,
                }
                for row, issue, created in plain
            ],
            now=now,
        )
    engine.notify()
    return [
        Delivery(
            row.id,
            SyncStatus.OK,
            OK,
            f"created {issue.key}",
            ticket_key=issue.key,
            ticket_url=issue.browse_url,
        )
        for row, issue, _ in plain + special
    ]


def _plain(row: LogRow) -> bool:
    return row.anomaly_id is not None and not row.automation_guid


def _response(created: CreatedIssue, size: int) -> dict:
    return {"id": created.id, "key": created.key, "self": created.self_url, "bulk": size}


def _issue(active: ActiveJira, created: CreatedIssue, fields: dict) -> Issue:
    priority = fields.get("priority")
    return Issue(
        created.id,
        created.key,
        fields.get("summary"),
        None,  # status: read by the next refresh, as for a single create
        None,
        priority.get("name") if isinstance(priority, dict) else None,
        None,
        tuple(fields.get("labels") or ()),
        active.client.browse_url(created.key),
    )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
