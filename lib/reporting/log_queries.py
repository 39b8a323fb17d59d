"""Reads of the sync log for the Log page: filtered pages, CSV export, one row's details.

Every read is one SQL statement over ``sync_log`` with ``?`` parameters; the
optional filters come from a fixed list of clauses, never from user text. The
page shows times in UTC, as they are stored (naive UTC ``TIMESTAMP``).

Status labels: the log page folds ``sending`` (a claim held during an HTTP
call) into Pending, because for an operator both mean "not answered yet".
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.store.db import Database
from lib.store.sync_log import RETRYABLE_ACTIONS

PAGE_SIZE = 50
EXPORT_CAP = 200_000

TYPES = {"Manual": "manual", "Automatic": "automatic"}
ACTIONS = ("create", "update", "comment", "link", "unlink", "refresh")
STATUSES = {
    "Pending": ("pending", "sending"),
    "Ok": ("ok",),
    "Failed": ("failed",),
    "Deferred": ("deferred",),
}

# Labels are computed in SQL so the page and the CSV show the same words.
_LABELS = (
    "CASE mode WHEN 'manual' THEN 'Manual' ELSE 'Automatic' END AS type,"
    " CASE status WHEN 'sending' THEN 'Pending' WHEN 'pending' THEN 'Pending'"
    " WHEN 'ok' THEN 'Ok' WHEN 'failed' THEN 'Failed' ELSE 'Deferred' END AS status"
)
_PAGE_COLUMNS = (
    f"id, created_at, {_LABELS}, action, anomaly_id, ticket_id, ticket_key, ticket_url, error"
)
_EXPORT_COLUMNS = (
    "id, strftime(created_at, '%Y-%m-%d %H:%M:%S') AS time_utc, "
    f"{_LABELS}, action, anomaly_id, ticket_id, ticket_key, ticket_url, error, attempts,"
    " strftime(next_attempt_at, '%Y-%m-%d %H:%M:%S') AS next_attempt_utc"
)

# Masking before display: the writer already scrubs secrets, this is a second net.
_SECRET_KEY = re.compile(r"authorization|token|password|passwd|secret|api[_-]?key|cookie", re.I)
_SECRET_VALUE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I)
_SECRET_PAIR = re.compile(
    r'("?(?:authorization|[a-z_]*token|password|secret|api[_-]?key)"?\s*[:=]\s*)("[^"]*"|[^\s,}]+)',
    re.I,
)
MASK = "[masked]"


@dataclass(frozen=True)
class LogFilter:
    """What the operator filters on; empty tuples and None mean "any"."""

    types: tuple[str, ...] = ()  # labels: Manual, Automatic
    actions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # labels: Pending, Ok, Failed, Deferred
    start: datetime | None = None  # inclusive, naive UTC
    end: datetime | None = None  # exclusive, naive UTC
    text: str = ""


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


@dataclass(frozen=True)
class LogPage:
    rows: tuple[LogEntry, ...]
    total: int  # rows matching the filter (all pages)


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

    @property
    def retryable(self) -> bool:
        return self.status == "failed" and self.action in RETRYABLE_ACTIONS


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
    modes = [TYPES[t] for t in flt.types if t in TYPES]
    if modes and len(modes) < len(TYPES):
        clauses.append("mode = ?")
        params.append(modes[0])
    actions = [a for a in flt.actions if a in ACTIONS]
    if actions:
        # list_contains, not IN (SELECT unnest(?)): the semi-join was 10x slower on 1M rows.
        clauses.append("list_contains(?::VARCHAR[], action)")
        params.append(actions)
    stored = [s for label in flt.statuses for s in STATUSES.get(label, ())]
    if stored:
        clauses.append("list_contains(?::VARCHAR[], status)")
        params.append(stored)
    if flt.start is not None:
        clauses.append("created_at >= ?")
        params.append(flt.start)
    if flt.end is not None:
        clauses.append("created_at < ?")
        params.append(flt.end)
    text = flt.text.strip()
    if text:
        # ILIKE is twice as fast as contains(lower(...)); the user's text is
        # escaped so %, _ and \ match themselves, never act as wildcards.
        pattern = "%" + re.sub(r"([%_\\])", r"\\\1", text) + "%"
        clause = "ticket_key ILIKE ? ESCAPE '\\' OR error ILIKE ? ESCAPE '\\'"
        params += [pattern, pattern]
        if text.isdigit():
            clause += " OR anomaly_id = ?"
            params.append(int(text))
        clauses.append(f"({clause})")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def page(
    db: Database,
    flt: LogFilter,
    *,
    page_no: int = 1,
    size: int = PAGE_SIZE,
    with_total: bool = True,
) -> LogPage:
    """One page of matching rows, newest first, and how many match in all."""
    sql_where, params = where(flt)
    offset = max(0, int(page_no) - 1) * int(size)
    with db.read() as cur:
        rows = cur.execute(
            f"SELECT {_PAGE_COLUMNS} FROM sync_log{sql_where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, int(size), offset],
        ).fetchall()
        if 0 < len(rows) < size or (offset == 0 and not rows):
            # A short page is the last one: the total follows without a second
            # scan (rare text matches cost a full scan each, ~30 ms on 1M rows).
            total = offset + len(rows)
        elif with_total:
            total = cur.execute(f"SELECT count(*) FROM sync_log{sql_where}", params).fetchone()[0]
        else:
            total = -1
    return LogPage(tuple(LogEntry(*r) for r in rows), total)


def export_csv(db: Database, flt: LogFilter, *, cap: int = EXPORT_CAP) -> CsvExport:
    """The matching rows as CSV (newest first), at most ``cap`` of them; DuckDB writes it."""
    sql_where, params = where(flt)
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="sync_log_")
    os.close(fd)
    try:
        with db.read() as cur:
            matching = cur.execute(f"SELECT count(*) FROM sync_log{sql_where}", params).fetchone()[
                0
            ]
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


def details(db: Database, log_id: int) -> LogDetails | None:
    """One row's request, response (pretty, masked) and delivery state; None if gone."""
    with db.read() as cur:
        row = cur.execute(
            "SELECT id, action, status, request_json, response_json, attempts, next_attempt_at,"
            " permanent, error FROM sync_log WHERE id = ?",
            [int(log_id)],
        ).fetchone()
    if row is None:
        return None
    return LogDetails(
        row[0],
        row[1],
        row[2],
        pretty_masked(row[3]),
        pretty_masked(row[4]),
        row[5],
        row[6],
        row[7],
        mask_text(row[8]) if row[8] else row[8],
    )


# -- masking -------------------------------------------------------------------


def mask_value(value: Any) -> Any:
    """``value`` with secret-looking keys and Bearer/Basic credentials masked, at any depth."""
    if isinstance(value, dict):
        return {
            k: (MASK if _SECRET_KEY.search(str(k)) else mask_value(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_text(text: str) -> str:
    """Free text with ``Bearer x``/``Basic x`` and ``token=x``-like pairs masked."""
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{MASK}", text)


def pretty_masked(raw: str | None) -> str:
    """Stored JSON as indented text with secrets masked; non-JSON text masked as text."""
    if not raw:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return mask_text(raw)
    return json.dumps(mask_value(value), indent=2, ensure_ascii=False, sort_keys=True)
