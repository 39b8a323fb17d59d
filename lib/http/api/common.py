"""What the route modules share: the error responses they declare, and paging arithmetic."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator

from lib.http.api.models import Error

MAX_PAGE_SIZE = 500


def errors(*statuses: int) -> dict:
    """OpenAPI ``responses`` for these error statuses (all share the ``Error`` body)."""
    return {status: {"model": Error} for status in statuses}


def pages(total: int, size: int) -> int:
    return max(1, -(-total // size)) if size else 1


def naive_utc(moment: datetime | None) -> datetime | None:
    """An aware time as naive UTC (as the store keeps times); a naive one is taken as UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def active_jira_or_503(services):
    """The active Jira, or a 503 that says what to do (its secret could not be read)."""
    active = services.jira()
    if active is None:
        from lib.http.api.errors import ApiError

        raise ApiError(
            503,
            "No Jira connection is active (its secret cannot be read): "
            "open Connect to Jira in the dashboard and enter it again.",
        )
    return active


def _iso_only(value):
    # Pydantic also reads a bare number as a Unix time; a caller who sent
    # "0.5" meant something else, so only ISO 8601 text is taken.
    if isinstance(value, str) and re.fullmatch(r"[\d.eE+-]*", value.strip()):
        raise ValueError("an ISO 8601 time, like 2025-01-31T00:00:00")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]
