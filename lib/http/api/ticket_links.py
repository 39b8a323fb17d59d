"""An anomaly's ticket links: list, link an existing ticket, unlink.

Linking goes through ``TicketService.link_existing``, which adds the anomaly's
details to the ticket as a comment through the outbox (exactly once). An
unlink only ends the link: the Jira ticket is never touched.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Path

from lib.http.api.anomalies import AnomalyId, anomaly_or_404
from lib.http.api.common import active_jira_or_503, errors
from lib.http.api.errors import ApiError, from_jira
from lib.http.api.models import LinkTicket, TicketLinkOut
from lib.jira import JiraError, NotFound, looks_like_issue_key
from lib.services import Services
from lib.store.anomalies import AnomalyNotFound
from lib.store.links import TicketLink
from lib.tickets.service import TicketRefused

API_ACTOR = "api"
LinkId = Path(ge=1, le=2**62, description="The link's id")


def link_json(link: TicketLink) -> dict:
    return {
        "id": link.id,
        "anomaly_id": link.anomaly_id,
        "integration_id": link.connection_id,
        "ticket_id": link.issue_id,
        "ticket_number": link.issue_key,
        "url": link.url,
        "title": link.summary,
        "status": link.status_name,
        "priority": link.priority,
        "created_by_us": link.created_by_us,
        "linked_at": link.linked_at,
        "linked_by": link.linked_by,
        "last_synced_at": link.last_synced_at,
        "unlinked_at": link.unlinked_at,
    }


def links_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(
        prefix="/anomalies/{anomaly_id}/ticket-links",
        tags=["ticketing"],
        dependencies=[Depends(auth)],
    )

    @router.get("", response_model=list[TicketLinkOut], responses=errors(401, 404, 422))
    def list_links(anomaly_id: int = AnomalyId) -> list[dict]:
        services = get_services()
        anomaly_or_404(services, anomaly_id)
        return [link_json(k) for k in services.tickets.links_for(anomaly_id)]

    @router.post(
        "",
        response_model=TicketLinkOut,
        status_code=201,
        responses=errors(401, 404, 409, 422, 502, 503),
    )
    def link_ticket(body: LinkTicket, anomaly_id: int = AnomalyId) -> dict:
        """Link an existing ticket (key or id); its ticket gets the anomaly's details."""
        services = get_services()
        active = active_jira_or_503(services)
        anomaly_or_404(services, anomaly_id)
        key = _key_of(services, body.ticket_id.strip())
        for link in services.tickets.links_for(anomaly_id):
            if link.connection_id == active.connection_id and link.issue_key.upper() == key:
                raise ApiError(
                    409, f"{key} is already linked to anomaly {anomaly_id} (link {link.id})."
                )
        try:
            result = services.tickets.link_existing(anomaly_id, key, API_ACTOR)
        except AnomalyNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except TicketRefused as exc:
            status = 409 if "already linked" in str(exc) else 422
            raise ApiError(status, str(exc), {"ticket_id": str(exc)}) from None
        return link_json(result.link)

    @router.delete("/{link_id}", response_model=TicketLinkOut, responses=errors(401, 404, 422))
    def unlink(anomaly_id: int = AnomalyId, link_id: int = LinkId) -> dict:
        """End a link (kept as history); the Jira ticket is not touched."""
        services = get_services()
        anomaly_or_404(services, anomaly_id)
        if not any(k.id == link_id for k in services.tickets.links_for(anomaly_id)):
            raise ApiError(404, f"Anomaly {anomaly_id} has no active link {link_id}.")
        try:
            return link_json(services.tickets.unlink(link_id, API_ACTOR))
        except TicketRefused as exc:
            raise ApiError(404, str(exc)) from None

    return router


def _key_of(services: Services, ticket_id: str) -> str:
    """The issue key for a key or an id, checked on Jira (404 when it has no such issue)."""
    if not looks_like_issue_key(ticket_id) and not ticket_id.isdigit():
        raise ApiError(
            422,
            f"'{ticket_id}' is not an issue key (like DQ-123) or id.",
            {"ticket_id": "An issue key or id."},
        )
    try:
        return services.tickets.get_issue(ticket_id).key.upper()
    except NotFound:
        raise ApiError(
            404, f"Jira has no ticket {ticket_id}, or this account may not see it."
        ) from None
    except JiraError as exc:
        raise from_jira(exc) from None
