"""The Log page's use cases: filtered pages, details with secrets masked, export, retry, cleanup.

The SQL is the store's (``lib/store/log_queries.py``); this layer masks what
is shown, decides which rows may be retried, and applies the retention policy
with an injected clock. Decisions, and why:

- Retry sends again every action that can be: the outbox's rows (create,
  comment, update) through the engine's retry (same row, so a create that did
  land is found, not made twice); a failed refresh reads the issue again and
  a failed link tries the link again, each through the ticket use case that
  made the row (a new row records the attempt). Unlink makes no call.
- Copy-as-cURL shows the row's request as the engine sends it
  (``lib/outbox/wire.py``) for the row's own connection, with a client that
  holds no credentials at all: the secret cannot leak into the command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.jira import Flavour, JiraClient, JiraError
from lib.jira.errors import ErrorKind
from lib.jira.wording import kind_label
from lib.outbox.wire import NoRequest, wire_request
from lib.reporting import retention
from lib.reporting.curl import CurlCommand, curl_command
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
from lib.store.sync_log import RETRYABLE_ACTIONS, SyncAction, SyncLog, SyncStatus

# Failed reads and links are tried again by the use case that made them.
RESENT_ACTIONS = (SyncAction.REFRESH, SyncAction.LINK)

__all__ = [
    "EXPORT_CAP",
    "PAGE_SIZE",
    "CsvExport",
    "CurlCommand",
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
    "RetryResult",
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
        return self.status == SyncStatus.FAILED and self.action in (
            *RETRYABLE_ACTIONS,
            *RESENT_ACTIONS,
        )


@dataclass(frozen=True)
class RetryResult:
    ok: bool
    message: str


@dataclass(frozen=True)
class Resend:
    """The ticket use cases that send a failed read or link again (injected by services)."""

    refresh: Callable[[int, str], Any]  # (link_id, actor) -> the link, read again
    link: Callable[[int, str, str], Any]  # (anomaly_id, key, actor) -> the new link


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
        *,
        resend: Resend | None = None,
        connection_for: Callable[[int | None], Any] | None = None,
    ) -> None:
        self._db = db
        self._queries = LogQueries(db)
        self._clock = clock
        self._retry = retry  # the engine's retry: it also wakes the worker at once
        self._resend = resend
        self._connection_for = connection_for  # ConnectionStore.get (None: the active one)

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

    def retry(self, log_id: int, actor: str = "analyst") -> RetryResult:
        """Send a failed row again; what happened, in words.

        Raises:
            ValueError: the row cannot be retried (gone, not failed, or an unlink).
        """
        row = SyncLog(self._db).get(log_id)
        if row is None or row.status != SyncStatus.FAILED:
            raise ValueError(f"Log entry {log_id} is not a failed row: only those can be retried.")
        if row.action in RETRYABLE_ACTIONS:
            self._retry(log_id)
            again = (
                " Jira is checked for an earlier attempt first, so it never makes a second ticket."
                if row.action == SyncAction.CREATE
                else ""
            )
            return RetryResult(True, f"Log entry {log_id} is queued again.{again}")
        if row.action not in RESENT_ACTIONS or self._resend is None:
            raise ValueError(
                f"Log entry {log_id} ({row.action}) made no call that can be sent again."
            )
        try:
            return self._resend_read(row, actor)
        except (JiraError, ValueError, LookupError) as exc:
            return RetryResult(False, f"Tried again; {mask_text(str(exc))}")

    def _resend_read(self, row, actor: str) -> RetryResult:
        if row.action == SyncAction.REFRESH:
            if row.link_id is None:
                raise ValueError(f"Log entry {row.id} names no ticket link to read again.")
            link = self._resend.refresh(row.link_id, actor)
            status = getattr(link, "status_name", None) or "unknown"
            return RetryResult(True, f"Read {row.ticket_key} again from Jira: status {status}.")
        if row.anomaly_id is None or not row.ticket_key:
            raise ValueError(f"Log entry {row.id} names no anomaly and key to link again.")
        self._resend.link(row.anomaly_id, row.ticket_key, actor)
        return RetryResult(
            True, f"Linked {row.ticket_key} to anomaly {row.anomaly_id}; its details are sent."
        )

    def curl(self, log_id: int) -> CurlCommand:
        """The row's request as a cURL command, the credentials left to shell variables.

        Raises:
            ValueError: no such row, or it makes no call to Jira (the message says why).
        """
        row = SyncLog(self._db).get(log_id)
        if row is None:
            raise ValueError(f"Log entry {log_id} does not exist.")
        if self._connection_for is None:
            raise ValueError("No Jira connection is known to this log.")
        try:
            connection = self._connection_for(row.connection_id)
        except LookupError as exc:
            raise ValueError(str(exc)) from None
        client = JiraClient(
            connection.host,
            None,  # no credentials: the command gets placeholders
            flavour=Flavour.CLOUD if connection.flavour == "cloud" else Flavour.DATA_CENTER,
            api_prefix=connection.api_prefix or None,
        )
        try:
            request = wire_request(client, row)
        except NoRequest as exc:
            raise ValueError(str(exc)) from None
        return curl_command(request, auth_type=connection.auth_type, flavour=connection.flavour)

    def retention(self) -> LogRetention:
        return retention.load(self._db)

    def save_retention(self, max_entries: object, max_age_days: object) -> LogRetention:
        """Raises ValueError: a value is not a whole number in range; nothing is stored."""
        return retention.save(self._db, max_entries, max_age_days)

    def clean_up_now(self) -> Removed:
        """The cleanup with the saved settings, at once."""
        return retention.cleanup(self._db, self._clock())
