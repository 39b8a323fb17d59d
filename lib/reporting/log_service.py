"""The Log page's use cases: filtered pages, details with secrets masked, export, retry, cleanup.

The SQL is the store's (``lib/store/log_queries.py``); this layer masks what
is shown, decides which rows may be retried, and applies the retention policy
with an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lib.jira.errors import ErrorKind
from lib.jira.wording import kind_label
from lib.reporting import retention
from lib.reporting.masking import mask_text, pretty_masked
from lib.store.app_settings import LogRetention
from lib.store.db import Database
from lib.store.log_queries import (
    EXPORT_CAP,
    PAGE_SIZE,
    CsvExport,
    LogAction,
    LogEntry,
    LogFilter,
    LogPage,
    LogQueries,
    LogStatus,
    LogType,
)
from lib.store.retention import Removed
from lib.store.sync_log import RETRYABLE_ACTIONS

__all__ = [
    "EXPORT_CAP",
    "PAGE_SIZE",
    "CsvExport",
    "LogAction",
    "LogDetails",
    "LogEntry",
    "LogFilter",
    "LogPage",
    "LogRetention",
    "LogService",
    "LogStatus",
    "LogType",
    "Removed",
]


@dataclass(frozen=True)
class LogDetails:
    id: int
    action: str
    status: str  # the stored status (pending, sending, ok, failed, deferred)
    request: str  # pretty JSON, secrets masked ("" when none)
    response: str
    attempts: int
    next_attempt_at: datetime | None
    permanent: bool
    error: str | None
    error_kind: str | None = None

    @property
    def retryable(self) -> bool:
        return self.status == "failed" and self.action in RETRYABLE_ACTIONS


class LogService:
    """What the Log page asks for."""

    PAGE_SIZE = PAGE_SIZE
    EXPORT_CAP = EXPORT_CAP
    LIMIT = retention.LIMIT
    ERROR_KINDS = tuple(ErrorKind)  # the Log's kind filter, in this order
    kind_label = staticmethod(kind_label)  # "rate_limited" -> "Rate limited"

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        retry: Callable[[int], object],
    ) -> None:
        self._db = db
        self._queries = LogQueries(db)
        self._clock = clock
        self._retry = retry  # the engine's retry: it also wakes the worker at once

    def page(self, flt: LogFilter, page_no: int = 1, *, size: int = PAGE_SIZE) -> LogPage:
        return self._queries.page(flt, page_no=page_no, size=size)

    def export_csv(self, flt: LogFilter, *, cap: int = EXPORT_CAP) -> CsvExport:
        return self._queries.export_csv(flt, cap=cap)

    def details(self, log_id: int) -> LogDetails | None:
        """One row's request, response (pretty, masked) and delivery state; None if gone."""
        row = self._queries.record(log_id)
        if row is None:
            return None
        return LogDetails(
            row.id,
            row.action,
            row.status,
            pretty_masked(row.request_json),
            pretty_masked(row.response_json),
            row.attempts,
            row.next_attempt_at,
            row.permanent,
            mask_text(row.error) if row.error else row.error,
            row.error_kind,
        )

    def retry(self, log_id: int):
        """Queue a failed row again; the row as queued. Raises ValueError: it cannot be retried."""
        return self._retry(log_id)

    def retention(self) -> LogRetention:
        return retention.load(self._db)

    def save_retention(self, max_entries: object, max_age_days: object) -> LogRetention:
        """Raises ValueError: a value is not a whole number in range; nothing is stored."""
        return retention.save(self._db, max_entries, max_age_days)

    def clean_up_now(self) -> Removed:
        """The cleanup with the saved settings, at once."""
        return retention.cleanup(self._db, self._clock())
