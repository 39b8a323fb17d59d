"""The outbox's queue in SQL: what is due, what is first per ticket, how deep it is.

A row's queue is what ``LogRow.ticket`` says (one Jira issue; or one create
and the rows waiting on it). Decisions, and why:

- The worker asks for due queue heads only (``due_heads``): one GROUP BY over
  the unfinished rows finds each queue's first row, and only the due ones
  are read whole. Reading every unfinished row into Python (``pick_due``, the
  reference this is tested against) took 430 ms a pass at 60,000 rows, and
  seconds when the machine was busy.
- No index (migration 013 was not needed): the status filter scans 1,000,000
  rows in ~1.5 ms on DuckDB's compressed column, and an ART index on a column
  every transition updates would turn each update into a delete and insert.
- A claim checks "first in its queue" inside its own UPDATE
  (``claim_head_in``), so several sender threads can never hold two rows of
  one ticket, whatever a stale read said.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from lib.store.db import Database
from lib.store.sync_log import CLAIMABLE, COLUMNS, UNFINISHED, LogRow, SyncAction, SyncStatus

# A row's send queue in SQL, the same as ``LogRow.ticket``: a create, and the
# rows waiting on one, queue per anomaly (or per label without one); every
# other row queues per Jira issue. NULLs group together, as None does in Python.
_CREATE_QUEUE = "(action = 'create' OR waits_on IS NOT NULL)"
_QUEUE_KEYS = (
    _CREATE_QUEUE,
    "connection_id",
    f"CASE WHEN {_CREATE_QUEUE} THEN anomaly_id END",
    f"CASE WHEN {_CREATE_QUEUE} THEN (CASE WHEN anomaly_id IS NULL THEN idempotency_key END)"
    " ELSE ticket_key END",
)
# Heads first (one GROUP BY over the unfinished rows, ~10 ms at 60,000), then
# only the due heads are read whole: loading every unfinished row took 430 ms.
_DUE_HEADS_SQL = (
    "WITH heads AS (SELECT min(id) AS id FROM sync_log WHERE status IN (?, ?, ?)"
    f" GROUP BY {', '.join(_QUEUE_KEYS)})"
    f" SELECT {', '.join('s.' + c.strip() for c in COLUMNS.split(','))}"
    " FROM sync_log s JOIN heads USING (id)"
    " WHERE s.status <> ? AND s.waits_on IS NULL"
    " AND (s.next_attempt_at IS NULL OR s.next_attempt_at <= ?)"
    " ORDER BY (? AND s.action <> ?), s.id LIMIT ?"
)
_NEXT_HEAD_SQL = (
    "WITH heads AS (SELECT min(id) AS id FROM sync_log WHERE status IN (?, ?, ?)"
    f" GROUP BY {', '.join(_QUEUE_KEYS)})"
    " SELECT min(s.next_attempt_at) FROM sync_log s JOIN heads USING (id)"
    " WHERE s.status <> ? AND s.waits_on IS NULL"
)
_EARLIER_IN_QUEUE_SQL = (
    "SELECT count(*) FROM sync_log WHERE status IN (?, ?, ?) AND id < ? AND "
    + (" AND ".join(f"({key}) IS NOT DISTINCT FROM ?" for key in _QUEUE_KEYS))
)


def _earlier_in_queue(row: LogRow) -> tuple[str, list]:
    """The count of unfinished rows ahead of ``row`` in its queue, as SQL and parameters.

    The plain-column filter it starts with is implied by the queue's keys; it
    is there because DuckDB pushes it into the scan, where the CASE keys are
    computed for every unfinished row (a few ms a claim at 60,000 rows).
    """
    create, _, anomaly_id, label = row.queue_key
    if not create:
        column, value = "ticket_key", label
    elif anomaly_id is not None:
        column, value = "anomaly_id", anomaly_id
    else:
        column, value = "idempotency_key", label
    narrow = f" AND {column} = ?" if value is not None else ""
    params = [*map(str, UNFINISHED), row.id, *([value] if narrow else []), *row.queue_key]
    return _EARLIER_IN_QUEUE_SQL.replace(" AND id < ? AND ", f" AND id < ?{narrow} AND "), params


class OutboxQueue:
    """Reads of the outbox's queue; the claims run in the caller's transaction."""

    def __init__(self, db: Database):
        self._db = db

    @staticmethod
    def claim_head_in(cur, row: LogRow, *, token: str, now: datetime) -> LogRow | None:
        """``claim_in`` in one statement for a row read a moment ago (the worker's due heads).

        Claims only if the row is still claimable, not waiting and first in its
        queue (``row``'s queue: what decides it cannot change while those hold);
        returns the claimed row, or None (then ``get_in`` says why).
        """
        earlier_sql, earlier_params = _earlier_in_queue(row)
        found = cur.execute(
            f"UPDATE sync_log SET status = ?, claimed_by = ?, attempts = attempts + 1, sent_at = ?"
            " WHERE id = ? AND status IN (?, ?) AND waits_on IS NULL"
            f" AND NOT EXISTS ({earlier_sql.replace('count(*)', '1')})"
            f" RETURNING {COLUMNS}",
            [str(SyncStatus.SENDING), token, now, row.id, *map(str, CLAIMABLE), *earlier_params],
        ).fetchone()
        return LogRow(*found) if found else None

    def due_heads(
        self, now: datetime, *, near_limit: bool = False, limit: int = 50
    ) -> list[LogRow]:
        """What to send now, as ``policy.pick_due`` chooses it from ``unfinished()``, in SQL.

        The first unfinished row of each queue (issue, or create and what waits
        on it) when it is due: not in flight, not waiting, its time come.
        Near Jira's rate limit creates go first.
        """
        params = [
            *map(str, UNFINISHED),
            str(SyncStatus.SENDING),
            now,
            bool(near_limit),
            str(SyncAction.CREATE),
            int(limit),
        ]
        with self._db.read() as cur:
            rows = cur.execute(_DUE_HEADS_SQL, params).fetchall()
        return [LogRow(*r) for r in rows]

    def next_head_attempt_at(self) -> datetime | None:
        """When the next queue head not in flight and not waiting is planned (the idle wait).

        Only heads count: a row behind one in flight is not due whatever its time.
        """
        with self._db.read() as cur:
            return cur.execute(
                _NEXT_HEAD_SQL, [*map(str, UNFINISHED), str(SyncStatus.SENDING)]
            ).fetchone()[0]

    @staticmethod
    def earlier_in_queue_in(cur: duckdb.DuckDBPyConnection, row: LogRow) -> int:
        """Unfinished rows before ``row`` in its queue: it may be sent only when there are none."""
        sql, params = _earlier_in_queue(row)
        return cur.execute(sql, params).fetchone()[0]

    def depth(self) -> tuple[int, datetime | None]:
        """How many rows are unfinished, and when the oldest was queued (``GET /api/health``)."""
        with self._db.read() as cur:
            count, oldest = cur.execute(
                "SELECT count(*), min(created_at) FROM sync_log WHERE status IN (?, ?, ?)",
                [*map(str, UNFINISHED)],
            ).fetchone()
        return int(count), oldest
