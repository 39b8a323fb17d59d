"""Bulk actions and their jobs: ``POST /anomalies/bulk``, ``GET /jobs/{id}``, cancel, retry.

A bulk action answers 202 with its job at once: the outbox rows it queued are
sent by the dashboard's worker, so a script polls ``GET /jobs/{id}`` (or
walks away: the job finishes without it). Acknowledge, archive and comment
are done before the answer (through the one change path) and answer a
finished job, still 202 so every action has one answer shape. The models live
here, beside the routes they document, to keep this group in one module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lib.http.api.common import IsoTime, errors, naive_utc
from lib.http.api.errors import ApiError, api_field_errors
from lib.http.api.models import TEXT_LIMIT, TITLE_LIMIT, UtcTime, _Input
from lib.services import Services
from lib.store.models import AnomalyFilter, ArchiveReason, Status
from lib.tickets.bulk import (
    MAX_SELECTION,
    BulkRefused,
    BulkRequest,
    JobNotFound,
    JobProgress,
    NoJira,
)

API_ACTOR = "api"
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
JobId = Path(ge=1, le=2**62, description="The bulk job's id")
Action = Literal["ticket_each", "ticket_group", "link", "acknowledge", "archive", "comment"]
ItemStateName = Literal["pending", "done", "failed", "cancelled"]
Name = Annotated[str, Field(min_length=1, max_length=255)]


class BulkFilter(_Input):
    """The Anomalies page's filters (as ``GET /anomalies`` takes them): every match is selected."""

    status: list[Status] = Field(default_factory=list, max_length=3)
    datastore_id: list[Annotated[int, Field(ge=0, le=2**62)]] = Field(
        default_factory=list, max_length=1000
    )
    type: Literal["shape", "record"] | None = None
    detected_from: IsoTime | None = Field(None, description="Inclusive, UTC")
    detected_to: IsoTime | None = Field(None, description="Exclusive, UTC")
    q: str = Field("", max_length=200, description="Text in table, fields or check messages")


class BulkActionIn(_Input):
    """One action on many anomalies: ``anomaly_ids`` or ``filter`` (not both)."""

    action: Action
    anomaly_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, max_length=MAX_SELECTION
    )
    filter: BulkFilter | None = None
    archive_reason: ArchiveReason | None = Field(None, description="archive: required")
    text: str | None = Field(None, max_length=TEXT_LIMIT, description="comment: required")
    ticket_key: str | None = Field(None, max_length=100, description="link: the issue key")
    title: str | None = Field(
        None, max_length=TITLE_LIMIT, description="ticket_group: the summary (default: made up)"
    )
    priority: Name | None = None
    issue_type: Name | None = None
    project: Name | None = None


class JobItemOut(BaseModel):
    anomaly_id: int
    state: ItemStateName
    ticket_key: str | None = None
    ticket_url: str | None = None
    error: str | None = Field(None, description="Why it failed, in words")
    note: str | None = Field(None, description="Why a pending item waits")


class JobOut(BaseModel):
    id: int
    action: Action
    actor: str
    created_at: UtcTime
    cancelled_at: UtcTime | None = None
    total: int
    pending: int
    done: int
    failed: int
    cancelled: int
    running: bool
    progress: float = Field(description="Finished items / total, 0 to 1")
    items: list[JobItemOut]


def job_json(progress: JobProgress) -> dict:
    job = progress.job
    return {
        "id": job.id,
        "action": job.action,
        "actor": job.actor,
        "created_at": job.created_at,
        "cancelled_at": job.cancelled_at,
        "total": progress.total,
        **{state: progress.counts.get(state, 0) for state in ItemStateName.__args__},
        "running": progress.running,
        "progress": round(progress.fraction, 4),
        "items": [
            {k: getattr(item, k) for k in JobItemOut.model_fields} for item in progress.items
        ],
    }


def _request(body: BulkActionIn) -> BulkRequest:
    flt = None
    if body.filter is not None:
        f = body.filter
        flt = AnomalyFilter(
            datastore_ids=tuple(f.datastore_id),
            statuses=tuple(s.value for s in f.status),
            anomaly_type=f.type,
            detected_from=naive_utc(f.detected_from),
            detected_to=naive_utc(f.detected_to),
            text=f.q,
        )
    return BulkRequest(
        body.action,
        tuple(body.anomaly_ids or ()),
        flt,
        archive_reason=body.archive_reason.value if body.archive_reason else None,
        text=body.text,
        ticket_key=body.ticket_key,
        summary=body.title,
        priority=body.priority,
        issue_type=body.issue_type,
        project=body.project,
    )


def _refused(exc: BulkRefused) -> ApiError:
    if isinstance(exc, NoJira):
        return ApiError(503, str(exc))
    return ApiError(422, str(exc), api_field_errors(exc.field_errors))


def bulk_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(tags=["bulk"], dependencies=[Depends(auth)])

    # Included before the anomalies router: other methods on /anomalies/bulk would
    # otherwise reach /anomalies/{anomaly_id} and answer 422 ("bulk" is no id).
    @router.api_route("/anomalies/bulk", methods=OTHER_METHODS, include_in_schema=False)
    def other_method() -> None:
        raise StarletteHTTPException(405)

    @router.post(
        "/anomalies/bulk",
        status_code=202,
        response_model=JobOut,
        responses=errors(401, 422, 502, 503),
    )
    def start(body: BulkActionIn) -> dict:
        """Start a bulk action; 202 with the job (poll ``GET /jobs/{id}`` for its progress)."""
        try:
            return job_json(get_services().bulk.start(_request(body), API_ACTOR))
        except BulkRefused as exc:
            raise _refused(exc) from None

    @router.get("/jobs/{job_id}", response_model=JobOut, responses=errors(401, 404, 422))
    def job(job_id: int = JobId) -> dict:
        """A job's progress and a result per anomaly (the ticket key, or the error in words)."""
        return _job_or_404(lambda: get_services().bulk.progress(job_id))

    @router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses=errors(401, 404, 422))
    def cancel(job_id: int = JobId) -> dict:
        """Cancel what the job has not sent yet (what is in flight finishes)."""
        return _job_or_404(lambda: get_services().bulk.cancel(job_id, API_ACTOR))

    @router.post("/jobs/{job_id}/retry", response_model=JobOut, responses=errors(401, 404, 422))
    def retry(job_id: int = JobId) -> dict:
        """Send the job's failed items again (a create keeps its label: never a second ticket)."""
        return _job_or_404(lambda: get_services().bulk.retry(job_id, API_ACTOR))

    return router


def _job_or_404(read: Callable[[], JobProgress]) -> dict:
    try:
        return job_json(read())
    except JobNotFound as exc:
        raise ApiError(404, str(exc)) from None
