"""Ticketing: the create form, search, one ticket, and creating a ticket for an anomaly.

Paths and shapes follow Qualytics' ticketing integration. Decisions, and why:
- A create goes through ``TicketService.create_ticket``, the one create path
  (its outbox row reconciles a lost answer by label), never a create of our own.
- The caller's description comes first, then the anomaly's details and the
  link back, as the dashboard's New ticket form writes it.
- ``Idempotency-Key``: the first answer is stored (``api_idempotency``) and a
  retry gets it back without a second create. A key is serialised by a striped
  lock (64 stripes: bounded memory, unrelated keys rarely wait on each other).
  A stored "pending" (202) answer is completed from its outbox row once Jira
  has confirmed the create.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable

from fastapi import APIRouter, Depends, Header, Query
from starlette.responses import JSONResponse

from lib.http.api.anomalies import AnomalyId, anomaly_or_404
from lib.http.api.common import active_jira_or_503, errors, naive_utc, pages
from lib.http.api.errors import ApiError, api_field_errors, from_jira
from lib.http.api.form_spec import build_form_specification
from lib.http.api.models import (
    CreatedTicket,
    CreateTicket,
    FormSpecification,
    Ticket,
    TicketSearch,
)
from lib.jira import Doc, Issue, JiraError, NotFound, doc_from_text
from lib.jira.doc_json import doc_from_json
from lib.services import Services, utc_now
from lib.store.anomalies import AnomalyNotFound
from lib.store.api_requests import IdempotencyRepository
from lib.store.links import TicketLink
from lib.tickets.description import anomaly_doc, doc_text
from lib.tickets.service import CreateResult, SearchHit, TicketRefused

API_ACTOR = "api"
PREFIX = "/integrations/ticketing"
_STRIPES = [threading.Lock() for _ in range(64)]


def ticketing_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(tags=["ticketing"], dependencies=[Depends(auth)])

    @router.get(
        f"{PREFIX}/form-specification",
        response_model=FormSpecification,
        responses=errors(401, 404, 422, 502, 503),
    )
    def form_specification(
        project: str | None = Query(None, max_length=100, description="Default: the connection's"),
        issue_type: str | None = Query(None, max_length=100, description="Name or id"),
    ) -> dict:
        """The create form for a project and issue type, from Jira's create metadata."""
        return build_form_specification(active_jira_or_503(get_services()), project, issue_type)

    @router.get(
        f"{PREFIX}/tickets/search",
        response_model=TicketSearch,
        responses=errors(401, 422, 502, 503),
    )
    def search(
        query: str = Query(min_length=1, max_length=200, description="An issue key, or words"),
        project: str | None = Query(None, max_length=100, description="Default: the connection's"),
        page: int = Query(1, ge=1, le=1000),
        size: int = Query(50, ge=1, le=100),
    ) -> dict:
        """A key goes straight to that issue; words search the summary."""
        services = get_services()
        active_jira_or_503(services)
        try:
            hits = services.tickets.search_issues(query, project)
        except JiraError as exc:
            raise from_jira(exc) from None
        start = (page - 1) * size
        return {
            "items": [_summary(h) for h in hits[start : start + size]],
            "total": len(hits),
            "page": page,
            "size": size,
            "pages": pages(len(hits), size),
        }

    @router.get(
        f"{PREFIX}/tickets/{{ticket_id}}",
        response_model=Ticket,
        responses=errors(401, 404, 422, 502, 503),
    )
    def get_ticket(ticket_id: str) -> dict:
        """One ticket, by id (``10002``) or key (``SCRUM-3``)."""
        services = get_services()
        active = active_jira_or_503(services)
        if not ticket_id.strip() or len(ticket_id) > 100:
            raise ApiError(404, "No such ticket.")
        try:
            issue = services.tickets.get_issue(ticket_id)
        except NotFound:
            raise ApiError(
                404, f"Jira has no ticket {ticket_id}, or this account may not see it."
            ) from None
        except JiraError as exc:
            raise from_jira(exc) from None
        return _from_issue(issue, active.connection_id)

    @router.post(
        f"{PREFIX}/anomalies/{{anomaly_id}}/tickets",
        status_code=201,
        response_model=CreatedTicket,
        responses={
            202: {"model": CreatedTicket, "description": "Sent; Jira's confirmation not yet in"},
            **errors(401, 404, 409, 413, 422, 502, 503),
        },
    )
    def create_ticket(
        body: CreateTicket,
        anomaly_id: int = AnomalyId,
        idempotency_key: str | None = Header(
            None,
            min_length=1,
            max_length=200,
            description="Retry with the same key: no second ticket",
        ),
    ) -> JSONResponse:
        """Create a Jira ticket for the anomaly and link it."""
        services = get_services()
        if idempotency_key is None:
            status, answer = _create(services, anomaly_id, body)
            return JSONResponse(answer, status_code=status)
        fingerprint = _fingerprint(anomaly_id, body)
        stripe = _STRIPES[int(hashlib.sha256(idempotency_key.encode()).hexdigest(), 16) % 64]
        with stripe:
            return _idempotent(services, idempotency_key, fingerprint, anomaly_id, body)

    return router


def _idempotent(
    services: Services, key: str, fingerprint: str, anomaly_id: int, body: CreateTicket
) -> JSONResponse:
    store = IdempotencyRepository(services.db)
    stored = store.get(key)
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise ApiError(
                422,
                "This Idempotency-Key was used for a different request: use a new key.",
                {"Idempotency-Key": "Already used for another request."},
            )
        answer = json.loads(stored.response_json)
        if stored.status_code == 202 and stored.sync_log_id is not None:
            completed = _completed(services, stored.sync_log_id, answer)
            if completed is not None:
                store.save(
                    key, fingerprint, 201, json.dumps(completed), stored.sync_log_id, utc_now()
                )
                return JSONResponse(completed, status_code=201)
        return JSONResponse(answer, status_code=stored.status_code)
    status, answer = _create(services, anomaly_id, body)
    store.save(key, fingerprint, status, json.dumps(answer), answer["sync_log_id"], utc_now())
    return JSONResponse(answer, status_code=status)


def _create(services: Services, anomaly_id: int, body: CreateTicket) -> tuple[int, dict]:
    active = active_jira_or_503(services)
    anomaly = anomaly_or_404(services, anomaly_id)
    public_url = services.connections.public_url(services.jira.connection())
    details = anomaly_doc(anomaly, public_url, utc_now())
    given = doc_from_text(body.description) if body.description.strip() else Doc(())
    doc = Doc(given.blocks + details.blocks)
    issue_type = body.issue_type or active.default_issue_type
    try:
        result = services.tickets.create_ticket(
            anomaly_id,
            summary=body.title,
            description=doc,
            priority=body.priority,
            issue_type=body.issue_type,
            project=body.project,
            extra_fields=body.fields or None,
            actor=API_ACTOR,
        )
    except AnomalyNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except TicketRefused as exc:
        raise ApiError(422, str(exc), api_field_errors(exc.field_errors)) from None
    return _answer(result, anomaly_id, active.connection_id, doc_text(doc), issue_type)


def _answer(
    result: CreateResult, anomaly_id: int, connection_id: int, description: str, issue_type
) -> tuple[int, dict]:
    if result.status == "created" and result.link is not None:
        ticket = _from_link(result.link, description, issue_type)
        message = f"Ticket {result.link.issue_key} created and linked to anomaly {anomaly_id}"
        status = 201
    else:
        ticket, message, status = None, result.message, 202
    answer = CreatedTicket(
        ticket=ticket,
        anomaly_id=anomaly_id,
        integration_id=connection_id,
        message=message,
        status="created" if status == 201 else "pending",
        sync_log_id=result.log_id,
    )
    return status, answer.model_dump(mode="json")


def _completed(services: Services, log_id: int, pending: dict) -> dict | None:
    """The 201 answer for a create that was pending and is now confirmed; None while it waits."""
    row = services.sync.log.get(log_id)
    if row is None or row.status != "ok" or row.link_id is None:
        return None
    link = next(
        (k for k in services.tickets.links_for(row.anomaly_id) if k.id == row.link_id), None
    )
    if link is None:
        return None
    description = doc_text(doc_from_json(row.body_doc)) if row.body_doc else None
    _, answer = _answer(
        CreateResult("created", "", log_id, link),
        pending["anomaly_id"],
        pending["integration_id"],
        description,
        None,
    )
    return answer


def _fingerprint(anomaly_id: int, body: CreateTicket) -> str:
    canonical = json.dumps(
        {"anomaly_id": anomaly_id, **body.model_dump(mode="json")}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _project_of(key: str) -> str:
    return key.rsplit("-", 1)[0]


def _summary(hit: SearchHit) -> dict:
    return {
        "ticket_id": hit.issue_id,
        "ticket_number": hit.key,
        "title": hit.summary,
        "description": None,
        "status": hit.status_name,
        "priority": hit.priority,
        "created_at": None,
        "updated_at": naive_utc(hit.updated),
        "assigned_to": None,
        "url": hit.url,
    }


def _from_issue(issue: Issue, connection_id: int) -> dict:
    return Ticket(
        ticket_id=issue.id,
        ticket_number=issue.key,
        title=issue.summary,
        status=issue.status_name,
        priority=issue.priority_name,
        updated_at=naive_utc(issue.updated),
        url=issue.browse_url,
        metadata={
            "project_key": _project_of(issue.key),
            "status_category": issue.status_category,
            "labels": list(issue.labels),
            "integration_id": connection_id,
        },
    ).model_dump(mode="json")


def _from_link(link: TicketLink, description: str | None, issue_type) -> Ticket:
    return Ticket(
        ticket_id=link.issue_id,
        ticket_number=link.issue_key,
        title=link.summary,
        description=description,
        status=link.status_name,
        priority=link.priority,
        category=issue_type,
        created_at=link.linked_at,
        updated_at=link.last_synced_at,
        url=link.url,
        metadata={"project_key": _project_of(link.issue_key), "issue_type": issue_type},
    )
