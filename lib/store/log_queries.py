"""Reads of the sync log for the Log page: filtered pages, CSV export, one row's record.

Every read is one SQL statement over ``sync_log`` with ``?`` parameters; the
optional filters come from a fixed list of clauses, never from user text.
Times are naive UTC ``TIMESTAMP``, as stored.

Status labels: ``sending`` (a claim held during an HTTP call) is folded into
Pending, because for an operator both mean "not answered yet". The labels are
computed in SQL so the page and the CSV show the same words.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lib.jira.errors import ErrorKind
from lib.store.db import Database
from lib.store.sync_log import UNFINISHED, SyncAction, SyncMode, SyncStatus

PAGE_SIZE = 50
EXPORT_CAP = 200_000
# Pages up to this many rows deep come from one scan (count and ids together);
# deeper ones keep a list of that many ids out of memory and use OFFSET.
ONE_SCAN_LIMIT = 10_000


class LogType(StrEnum):
    """The Type column: who started the change (stored as ``mode``).

    Display labels, not ``SyncMode``: the page and the CSV show capitalised words.
    """

    MANUAL = "Manual"
    AUTOMATIC = "Automatic"


# The Action column shows the stored action as it is: the sync log's own enum.
LogAction = SyncAction


class LogStatus(StrEnum):
    """The Status column as the operator sees it (several stored states per label).

    Not ``SyncStatus``: four labels over five stored states (``sending`` is shown
    as Pending), so the two cannot be one enum; ``STORED_STATUSES`` maps them.
    """

    PENDING = "Pending"
    OK = "Ok"
    FAILED = "Failed"
    DEFERRED = "Deferred"


_ACTIONS = frozenset(LogAction)
_KINDS = frozenset(ErrorKind)
_MODES = {LogType.MANUAL: SyncMode.MANUAL, LogType.AUTOMATIC: SyncMode.AUTOMATIC}
STORED_STATUSES = {
    LogStatus.PENDING: (SyncStatus.PENDING, SyncStatus.SENDING),
    LogStatus.OK: (SyncStatus.OK,),
    LogStatus.FAILED: (SyncStatus.FAILED,),
    LogStatus.DEFERRED: (SyncStatus.DEFERRED,),
}

_LABELS = (
    "CASE mode WHEN 'manual' THEN 'Manual' ELSE 'Automatic' END AS type,"
    " CASE status WHEN 'sending' THEN 'Pending' WHEN 'pending' THEN 'Pending'"
    " WHEN 'ok' THEN 'Ok' WHEN 'failed' THEN 'Failed' ELSE 'Deferred' END AS status"
)
_PAGE_COLUMNS = (
    f"id, created_at, {_LABELS}, action, anomaly_id, ticket_id, ticket_key, ticket_url, error,"
    " error_kind"
)
_EXPORT_COLUMNS = (
    "id, strftime(created_at, '%Y-%m-%d %H:%M:%S') AS time_utc, "
    f"{_LABELS}, action, anomaly_id, ticket_id, ticket_key, ticket_url, error, attempts,"
    " strftime(next_attempt_at, '%Y-%m-%d %H:%M:%S') AS next_attempt_utc"
)


@dataclass(frozen=True)
class LogFilter:
    """What the operator filters on; empty tuples and None mean "any"."""

    types: tuple[LogType, ...] = ()
    actions: tuple[LogAction, ...] = ()
    statuses: tuple[LogStatus, ...] = ()
    start: datetime | None = None  # inclusive, naive UTC
    end: datetime | None = None  # exclusive, naive UTC
    text: str = ""
    error_kinds: tuple[str, ...] = ()  # ErrorKind values (lib.jira.errors)


@dataclass(frozen=True)
class LogEntry:
    id: int
    created_at: datetime
    type: str
    status: str
    action: str
    anomaly_id: int | None
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    error: str | None
    error_kind: str | None = None  # ErrorKind of the last failed attempt


@dataclass(frozen=True)
class LogPage:
    rows: tuple[LogEntry, ...]
    total: int  # rows matching the filter (all pages); -1 when not counted


@dataclass(frozen=True)
class LogRecord:
    """One row as stored: request and response unmasked (the reporting layer masks them)."""

    id: int
    action: str
    status: str  # the stored status (pending, sending, ok, failed, deferred)
    request_json: str | None
    response_json: str | None
    attempts: int
    next_attempt_at: datetime | None
    permanent: bool
    error: str | None
    error_kind: str | None = None


@dataclass(frozen=True)
class OutboxDepth:
    """How much work waits for Jira: unfinished rows and when the oldest was queued."""

    depth: int
    oldest_at: datetime | None  # created_at of the oldest unfinished row (naive UTC)


@dataclass(frozen=True)
class CsvExport:
    data: bytes
    rows: int  # rows in the file
    matching: int  # rows matching the filter (more than ``rows`` when capped)

    @property
    def capped(self) -> bool:
        return self.matching > self.rows


def where(flt: LogFilter) -> tuple[str, list]:
    """The WHERE clause and its parameters for ``flt``."""
    clauses: list[str] = []
    params: list[Any] = []
    modes = [_MODES[t] for t in flt.types if t in _MODES]
    if modes and len(set(modes)) < len(_MODES):
        clauses.append("mode = ?")
        params.append(str(modes[0]))
    actions = [str(a) for a in flt.actions if a in _ACTIONS]
    if actions:
        # list_contains, not IN (SELECT unnest(?)): the semi-join was 10x slower on 1M rows.
        clauses.append("list_contains(?::VARCHAR[], action)")
        params.append(actions)
    stored = [str(s) for label in flt.statuses for s in STORED_STATUSES.get(label, ())]
    if stored:
        clauses.append("list_contains(?::VARCHAR[], status)")
        params.append(stored)
    kinds = [str(k) for k in flt.error_kinds if k in _KINDS]
    if kinds:
        clauses.append("list_contains(?::VARCHAR[], error_kind)")
        params.append(kinds)
    if flt.start is not None:
        clauses.append("created_at >= ?")
        params.append(flt.start)
    if flt.end is not None:
        clauses.append("created_at < ?")
        params.append(flt.end)
    text = flt.text.strip()
    if text:
        clause, text_params = _text_clause(text)
        clauses.append(clause)
        params += text_params
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _text_clause(text: str) -> tuple[str, list]:
    """The search box: a ticket key, error words, or an anomaly id (digits).

    Decisions (1,000,000 rows, bench/bench_log_search.py):
    - ``ESCAPE`` only when the text holds ``%``, ``_`` or ``\\``: with it DuckDB
      cannot use its plain substring match and each scan took ~1.7x as long
      (the count query of a search twice as long). Escaped, those characters
      match themselves, never act as wildcards.
    - The key is matched case-sensitively against the upper-cased text
      (``LIKE``, not ``ILIKE``): Jira's issue keys are upper case (project keys
      are upper-case letters), and LIKE skips lower-casing a million keys
      (~2x faster). Error texts are free text: ILIKE.
    """
    if re.search(r"[%_\\]", text):
        escaped = re.sub(r"([%_\\])", r"\\\1", text)
        key, words, escape = f"%{escaped.upper()}%", f"%{escaped}%", " ESCAPE '\\'"
    else:
        key, words, escape = f"%{text.upper()}%", f"%{text}%", ""
    clause = f"ticket_key LIKE ?{escape} OR error ILIKE ?{escape}"
    params: list[Any] = [key, words]
    if text.isdigit():
        clause += " OR anomaly_id = ?"
        params.append(int(text))
    return f"({clause})", params


class LogQueries:
    """The Log page's reads over ``sync_log``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(
        self, flt: LogFilter, *, page_no: int = 1, size: int = PAGE_SIZE, with_total: bool = True
    ) -> LogPage:
        """One page of matching rows, newest first, and how many match in all.

        Every rerun of the Log page asks again for the same page (a click on a
        row, the details, the settings): the answer is kept until the next
        write (``Database.kept``); it is immutable, so every caller shares it.
        """
        key = ("log_page", flt, max(1, int(page_no)), int(size), bool(with_total))
        return self._db.kept(key, lambda: self._read_page(flt, *key[2:]))

    def _read_page(self, flt: LogFilter, page_no: int, size: int, with_total: bool) -> LogPage:
        sql_where, params = where(flt)
        offset = (page_no - 1) * size
        with self._db.read() as cur:
            if flt.text.strip() and offset + size <= ONE_SCAN_LIMIT:
                return self._page_in_one_scan(cur, sql_where, params, offset, size)
            rows = cur.execute(
                f"SELECT {_PAGE_COLUMNS} FROM sync_log{sql_where} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*params, size, offset],
            ).fetchall()
            if 0 < len(rows) < size or (offset == 0 and not rows):
                # A short page is the last one: the total follows without a second scan.
                total = offset + len(rows)
            elif with_total:
                total = cur.execute(f"SELECT count(*) FROM sync_log{sql_where}", params).fetchone()[
                    0
                ]
            else:
                total = -1
        return LogPage(tuple(LogEntry(*r) for r in rows), total)

    @staticmethod
    def _page_in_one_scan(cur, sql_where: str, params: list, offset: int, size: int) -> LogPage:
        """The count and the page's ids from one scan, then the page's rows by id.

        A search matches anywhere in a million rows, so both the page (top 50 by
        id) and the count read them all: ``max(id, n)`` gives the newest n ids
        and ``count(*)`` the total in the same pass, half the work of a page
        query plus a count (bench/bench_log_search.py). The rows are then read
        by their ids (at most ``size`` parameters, never user text).
        """
        total, newest = cur.execute(
            f"SELECT count(*), max(id, ?::BIGINT) FROM sync_log{sql_where}",
            [offset + size, *params],
        ).fetchone()
        ids = sorted(newest or (), reverse=True)[offset : offset + size]
        if not ids:
            return LogPage((), int(total))
        marks = ", ".join("?" for _ in ids)
        rows = cur.execute(
            f"SELECT {_PAGE_COLUMNS} FROM sync_log WHERE id IN ({marks}) ORDER BY id DESC", ids
        ).fetchall()
        return LogPage(tuple(LogEntry(*r) for r in rows), int(total))

    def export_csv(self, flt: LogFilter, *, cap: int = EXPORT_CAP) -> CsvExport:
        """The matching rows as CSV (newest first), at most ``cap``; DuckDB writes it."""
        sql_where, params = where(flt)
        fd, path = tempfile.mkstemp(suffix=".csv", prefix="sync_log_")
        os.close(fd)
        try:
            with self._db.read() as cur:
                matching = cur.execute(
                    f"SELECT count(*) FROM sync_log{sql_where}", params
                ).fetchone()[0]
                # The path is ours (mkstemp), never user text; COPY cannot take it as a parameter.
                cur.execute(
                    f"COPY (SELECT {_EXPORT_COLUMNS} FROM sync_log{sql_where}"
                    f" ORDER BY id DESC LIMIT ?) TO '{path}' (HEADER, DELIMITER ',')",
                    [*params, int(cap)],
                )
            with open(path, "rb") as fh:
                data = fh.read()
        finally:
            os.unlink(path)
        return CsvExport(data, min(matching, int(cap)), matching)

    def outbox_depth(self) -> OutboxDepth:
        """Unfinished rows (pending, sending, deferred) and the oldest one's time: one query.

        Runs on every page's rerun (the sidebar), so it reads two columns and
        returns one row instead of loading the queue, and the answer is kept
        until the next write (a row's status changes only by a write): at a
        million log rows the scan was ~3 ms of every click.
        """
        return self._db.kept(("outbox_depth",), self._read_outbox_depth)

    def _read_outbox_depth(self) -> OutboxDepth:
        with self._db.read() as cur:
            depth, oldest = cur.execute(
                "SELECT count(*), min(created_at) FROM sync_log"
                " WHERE list_contains(?::VARCHAR[], status)",
                [[str(s) for s in UNFINISHED]],
            ).fetchone()
        return OutboxDepth(int(depth), oldest)

    def record(self, log_id: int) -> LogRecord | None:
        """One row's request, response and delivery state; None if gone."""
        with self._db.read() as cur:
            row = cur.execute(
                "SELECT id, action, status, request_json, response_json, attempts,"
                " next_attempt_at, permanent, error, error_kind FROM sync_log WHERE id = ?",
                [int(log_id)],
            ).fetchone()
        return LogRecord(*row) if row else None
