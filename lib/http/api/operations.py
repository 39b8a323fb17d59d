"""Operations: the API's health, the sync log (as on the Log page) and the counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, Query

from lib.http.api.common import MAX_PAGE_SIZE, IsoTime, errors, naive_utc, pages
from lib.http.api.errors import ApiError
from lib.http.api.models import Health, LogPageOut, Statistics
from lib.reporting.log_service import LogFilter
from lib.services import Services, utc_now

LogStatus = Literal["Pending", "Ok", "Failed", "Deferred"]
LogAction = Literal["create", "update", "comment", "link", "unlink", "refresh"]


def operations_router(get_services: Callable[[], Services], auth: Callable) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", response_model=Health)
    def health() -> dict:
        """Open (no token): status, anomalies, outbox depth and its oldest pending row's age."""
        services = get_services()
        depth, oldest = services.sync.queue.depth()  # counted in SQL, not every row read
        age = (utc_now() - oldest).total_seconds() if oldest else None
        return {
            "status": "ok",
            "anomalies": services.anomalies.count(),
            "outbox_depth": depth,
            "oldest_pending_age_s": round(age, 3) if age is not None else None,
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
        """The Statistics page's counters: created, updated, total (since reset, today, yesterday)."""
        try:
            found = get_services().statistics.counters(tz)
        except ValueError as exc:
            raise ApiError(422, str(exc), {"tz": str(exc)}) from None
        return {"time_zone": tz, "counters": [vars(c) for c in found.values()]}

    return router
