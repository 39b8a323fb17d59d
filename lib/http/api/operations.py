"""Operations: the API's health, the sync log (as on the Log page) and the counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, Query

from lib.http.api.common import MAX_PAGE_SIZE, IsoTime, errors, naive_utc, pages
from lib.http.api.errors import ApiError
from lib.http.api.models import CleanupOut, Health, LogPageOut, Statistics
from lib.reporting.log_service import LogFilter
from lib.services import Services

LogStatus = Literal["Pending", "Ok", "Failed", "Deferred"]
LogAction = Literal["create", "update", "comment", "link", "unlink", "refresh"]
ErrorKindIn = Literal[
    "authentication",
    "permission",
    "validation",
    "not_found",
    "rate_limited",
    "network",
    "server",
    "other",
]


def operations_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", response_model=Health)
    def health() -> dict:
        """Open (no token): status, anomalies, outbox depth and age, the integration's health."""
        services = get_services()
        status = services.integration.status()
        return {
            "status": "ok",
            "anomalies": services.anomalies.count(),
            "outbox_depth": status.outbox_depth,
            "oldest_pending_age_s": status.oldest_pending_age_s,
            "integration": {
                "state": str(status.state),
                "reason": status.reason,
                "kind": status.kind,
                "since": status.since,
                "automation_paused": status.automation_paused,
                "explanation": status.explanation,
            },
        }

    @router.get(
        "/sync-log",
        response_model=LogPageOut,
        dependencies=[Depends(auth)],
        responses=errors(401, 422),
    )
    def sync_log(
        type: Literal["Manual", "Automatic"] | None = None,
        action: list[LogAction] = Query([]),
        status: list[LogStatus] = Query([]),
        start: IsoTime | None = Query(None, description="From (inclusive, UTC)"),
        end: IsoTime | None = Query(None, description="To (exclusive, UTC)"),
        q: str = Query("", max_length=200, description="Ticket key, error text or anomaly id"),
        error_kind: list[ErrorKindIn] = Query([], description="Failure kind (repeatable)"),
        page: int = Query(1, ge=1, le=100_000),
        size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
    ) -> dict:
        flt = LogFilter(
            types=(type,) if type else (),
            actions=tuple(action),
            statuses=tuple(status),
            start=naive_utc(start),
            end=naive_utc(end),
            text=q,
            error_kinds=tuple(error_kind),
        )
        found = get_services().log.page(flt, page_no=page, size=size)
        return {
            "items": [vars(row) for row in found.rows],
            "total": found.total,
            "page": page,
            "size": size,
            "pages": pages(found.total, size),
        }

    @router.get(
        "/statistics",
        response_model=Statistics,
        dependencies=[Depends(auth)],
        responses=errors(401, 422),
    )
    def counters(tz: str = Query("UTC", max_length=64, description="IANA time zone")) -> dict:
        """The Statistics page's counters (since reset, today, yesterday) and its resets."""
        statistics = get_services().statistics
        try:
            found = statistics.counters(tz)
        except ValueError as exc:
            raise ApiError(422, str(exc), {"tz": str(exc)}) from None
        resets = [{**vars(r), "total": r.total} for r in statistics.resets()]
        return {
            "time_zone": tz,
            "counters": [{**vars(c), "counts": c.help} for c in found.values()],
            "last_reset": resets[0] if resets else None,
            "resets": resets,
        }

    @router.post(
        "/sync-log/cleanup",
        response_model=CleanupOut,
        dependencies=[Depends(auth)],
        responses=errors(401),
    )
    def cleanup() -> dict:
        """The log's retention cleanup now, with the saved settings (statistics keep every count)."""
        log = get_services().log
        saved = log.retention()
        removed = log.clean_up_now()
        return {
            "removed": removed.removed,
            "by_age": removed.by_age,
            "by_count": removed.by_count,
            "max_entries": saved.max_entries,
            "max_age_days": saved.max_age_days,
        }

    return router
