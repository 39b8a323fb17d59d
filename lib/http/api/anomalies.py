"""Anomalies: the page's filtered list, one anomaly, status changes and comments.

Status changes and comments go through ``services.changes`` (the one change
path), so every linked ticket gets its Jira comment through the outbox exactly
as when a user clicks on the page. The actor is ``api`` unless a comment names
its author.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from lib.anomalies.changes import Mode
from lib.http.api.common import MAX_PAGE_SIZE, IsoTime, errors, naive_utc, pages
from lib.http.api.errors import ApiError
from lib.http.api.models import AnomalyList, AnomalyOut, ChangeStatus, CommentOut, NewComment
from lib.services import Services
from lib.store.anomalies import AnomalyNotFound, InvalidTransition
from lib.store.models import Anomaly, AnomalyFilter, Status

API_ACTOR = "api"
AnomalyId = Path(ge=1, le=2**62, description="The anomaly's id")
SortKey = Literal["id", "detected", "datastore", "container", "status", "type", "weight"]


def anomaly_or_404(services: Services, anomaly_id: int) -> Anomaly:
    found = services.anomalies.get(anomaly_id)
    if found is None:
        raise ApiError(404, f"There is no anomaly with id {anomaly_id}.")
    return found


def anomaly_json(services: Services, anomaly: Anomaly) -> dict:
    return {
        **{k: v for k, v in vars(anomaly).items() if k != "failed_checks"},
        "fields": list(anomaly.fields),
        "tags": list(anomaly.tags),
        "failed_checks": [vars(c) for c in anomaly.failed_checks],
        "history": [vars(h) for h in services.anomalies.history(anomaly.id)],
    }


def anomalies_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(prefix="/anomalies", tags=["anomalies"], dependencies=[Depends(auth)])

    @router.get("", response_model=AnomalyList, responses=errors(401, 422))
    def list_anomalies(
        status: list[Status] = Query([]),
        datastore_id: list[Annotated[int, Field(ge=0, le=2**62)]] = Query([]),
        type: Literal["shape", "record"] | None = None,
        detected_from: IsoTime | None = Query(None, description="Inclusive, UTC"),
        detected_to: IsoTime | None = Query(None, description="Exclusive, UTC"),
        q: str = Query("", max_length=200, description="Text in table, fields or check messages"),
        sort: SortKey = "detected",
        order: Literal["asc", "desc"] = "desc",
        page: int = Query(1, ge=1, le=100_000),
        size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
    ) -> dict:
        """The Anomalies page's filters, sort and paging."""
        flt = AnomalyFilter(
            datastore_ids=tuple(datastore_id),
            statuses=tuple(s.value for s in status),
            anomaly_type=type,
            detected_from=naive_utc(detected_from),
            detected_to=naive_utc(detected_to),
            text=q,
        )
        found = get_services().anomalies.page(
            flt, sort=sort, descending=order == "desc", limit=size, offset=(page - 1) * size
        )
        return {
            "items": found.rows,
            "total": found.total,
            "page": page,
            "size": size,
            "pages": pages(found.total, size),
            "status_counts": found.status_counts,
        }

    @router.get("/{anomaly_id}", response_model=AnomalyOut, responses=errors(401, 404, 422))
    def get_anomaly(anomaly_id: int = AnomalyId) -> dict:
        services = get_services()
        return anomaly_json(services, anomaly_or_404(services, anomaly_id))

    @router.patch("/{anomaly_id}", response_model=AnomalyOut, responses=errors(401, 404, 409, 422))
    def change_status(body: ChangeStatus, anomaly_id: int = AnomalyId) -> dict:
        """Acknowledge, archive (with a reason) or reopen; linked tickets get the status comment."""
        services = get_services()
        anomaly_or_404(services, anomaly_id)
        changes = services.changes
        # A script acting through the API is not automation: its changes are
        # not held back by the automatic update limit.
        try:
            if body.status == "Archived":
                changes.archive(anomaly_id, body.archive_reason, API_ACTOR, mode=Mode.MANUAL)  # type: ignore[arg-type]
            elif body.status == "Acknowledged":
                changes.acknowledge(anomaly_id, API_ACTOR, mode=Mode.MANUAL)
            else:
                changes.reopen(anomaly_id, API_ACTOR, mode=Mode.MANUAL)
        except AnomalyNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except InvalidTransition as exc:
            raise ApiError(409, str(exc)) from None
        return anomaly_json(services, anomaly_or_404(services, anomaly_id))

    @router.get(
        "/{anomaly_id}/comments", response_model=list[CommentOut], responses=errors(401, 404, 422)
    )
    def list_comments(anomaly_id: int = AnomalyId) -> list[dict]:
        services = get_services()
        anomaly_or_404(services, anomaly_id)
        return [vars(c) for c in services.anomalies.comments(anomaly_id)]

    @router.post(
        "/{anomaly_id}/comments",
        response_model=CommentOut,
        status_code=201,
        responses=errors(401, 404, 422),
    )
    def add_comment(body: NewComment, anomaly_id: int = AnomalyId) -> dict:
        """A comment on the anomaly, sent to every linked ticket as a Jira comment."""
        services = get_services()
        anomaly_or_404(services, anomaly_id)
        try:
            comment = services.changes.comment(anomaly_id, body.author, body.text, mode=Mode.MANUAL)
            return vars(comment)
        except AnomalyNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except ValueError as exc:
            raise ApiError(422, str(exc), {"text": str(exc)}) from None

    return router
