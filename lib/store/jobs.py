"""Bulk jobs (``bulk_jobs``, ``bulk_job_items``): many anomalies, one action, one job.

A job's state is never copied: an item that went through the outbox reads
its status, key and error from its ``sync_log`` row (one join), so a job the
worker finishes after the page was closed shows the truth on the next read,
and a Retry from the Log page shows in the job as well. Decisions, and why:

- An item's ``outcome`` is stored only for actions done at once (acknowledge,
  archive, comment, link, or an item refused before anything was queued):
  those have no outbox row whose status could say it.
- Cancel turns the job's rows that are still waiting (pending, deferred) into
  ``cancelled``, and the rows waiting on those creates too, in one statement
  each; a row already ``sending`` is in flight and finishes (Jira may have it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import duckdb

from lib.store.db import Database


class JobAction(StrEnum):
    TICKET_EACH = "ticket_each"  # one ticket per anomaly, through Jira's bulk create
    TICKET_GROUP = "ticket_group"  # one ticket for the group, every anomaly linked
    LINK = "link"  # link every anomaly to one existing ticket
    ACKNOWLEDGE = "acknowledge"
    ARCHIVE = "archive"
    COMMENT = "comment"


class ItemState(StrEnum):
    PENDING = "pending"  # its outbox row is not finished yet
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class BulkJob:
    id: int
    action: str
    actor: str
    connection_id: int | None
    params: dict
    group_log_id: int | None
    created_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None


@dataclass(frozen=True)
class JobItem:
    """One anomaly's result: a key, or the error in words (from its outbox row or stored)."""

    position: int
    anomaly_id: int
    state: str
    ticket_key: str | None
    ticket_url: str | None
    error: str | None
    note: str | None  # why a pending row waits (a retry, Jira's confirmation)
    sync_log_id: int | None


@dataclass(frozen=True)
class NewItem:
    anomaly_id: int
    sync_log_id: int | None = None
    outcome: str | None = None  # done | failed, for an item finished at once
    ticket_key: str | None = None
    error: str | None = None


_JOB_COLUMNS = (
    "id, action, actor, connection_id, params_json, group_log_id, created_at,"
    " cancelled_at, cancelled_by"
)
_UNFINISHED = ("pending", "deferred")  # 'sending' is in flight: it finishes on its own

_ITEMS_SQL = """
SELECT i.position, i.anomaly_id,
       CASE WHEN i.outcome IS NOT NULL THEN i.outcome
            WHEN l.id IS NULL THEN 'failed'
            WHEN l.status = 'ok' THEN 'done'
            WHEN l.status IN ('failed', 'cancelled') THEN l.status
            ELSE 'pending' END AS state,
       coalesce(i.ticket_key, CASE WHEN l.status = 'ok' THEN l.ticket_key END),
       CASE WHEN l.status = 'ok' THEN l.ticket_url END,
       coalesce(i.error, CASE WHEN l.status IN ('failed', 'cancelled') THEN l.error END,
                CASE WHEN i.outcome IS NULL AND l.id IS NULL
                     THEN 'its outbox row is gone (log retention)' END),
       CASE WHEN l.status NOT IN ('ok', 'failed', 'cancelled') THEN l.error END,
       i.sync_log_id
FROM bulk_job_items i LEFT JOIN sync_log l ON l.id = i.sync_log_id
WHERE i.job_id = ?
ORDER BY i.position
"""


def _job(row: tuple) -> BulkJob:
    values = list(row)
    values[4] = json.loads(values[4]) if values[4] else {}
    return BulkJob(*values)


class BulkJobs:
    """Reads and writes of bulk jobs; ``*_in`` forms run in the caller's transaction."""

    def __init__(self, db: Database):
        self._db = db

    # -- writes --------------------------------------------------------------
    @staticmethod
    def create_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        action: JobAction | str,
        actor: str,
        connection_id: int | None,
        params: dict[str, Any],
        now: datetime,
    ) -> int:
        row = cur.execute(
            "INSERT INTO bulk_jobs (action, actor, connection_id, params_json, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            [str(JobAction(action)), actor, connection_id, json.dumps(params), now],
        ).fetchone()
        return int(row[0])

    @staticmethod
    def add_items_in(cur: duckdb.DuckDBPyConnection, job_id: int, items: Sequence[NewItem]) -> None:
        """The job's items in one statement (lists zipped by unnest: ~10x executemany)."""
        if not items:
            return
        cur.execute(
            "INSERT INTO bulk_job_items"
            " (job_id, position, anomaly_id, sync_log_id, outcome, ticket_key, error)"
            " SELECT ?, unnest(?::INTEGER[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]),"
            " unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [
                job_id,
                list(range(len(items))),
                [i.anomaly_id for i in items],
                [i.sync_log_id for i in items],
                [i.outcome for i in items],
                [i.ticket_key for i in items],
                [i.error for i in items],
            ],
        )

    @staticmethod
    def set_group_row_in(cur: duckdb.DuckDBPyConnection, job_id: int, log_id: int) -> None:
        cur.execute("UPDATE bulk_jobs SET group_log_id = ? WHERE id = ?", [log_id, job_id])

    @staticmethod
    def set_outcome_in(
        cur: duckdb.DuckDBPyConnection,
        job_id: int,
        anomaly_id: int,
        *,
        outcome: str | None,
        error: str | None = None,
        ticket_key: str | None = None,
        sync_log_id: int | None = None,
    ) -> None:
        """An item done again (a Retry of an action done at once)."""
        cur.execute(
            "UPDATE bulk_job_items SET outcome = ?, error = ?, ticket_key = ?,"
            " sync_log_id = coalesce(?, sync_log_id) WHERE job_id = ? AND anomaly_id = ?",
            [outcome, error, ticket_key, sync_log_id, job_id, anomaly_id],
        )

    def cancel(self, job_id: int, actor: str, now: datetime) -> int:
        """Cancel the job's rows that wait to be sent; returns how many were cancelled."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE bulk_jobs SET cancelled_at = coalesce(cancelled_at, ?),"
                " cancelled_by = coalesce(cancelled_by, ?) WHERE id = ?",
                [now, actor, job_id],
            )
            mine = (
                "SELECT sync_log_id FROM bulk_job_items WHERE job_id = ?"
                " AND sync_log_id IS NOT NULL"
            )
            done = cur.execute(
                "UPDATE sync_log SET status = 'cancelled', finished_at = ?, claimed_by = NULL,"
                f" error = ? WHERE id IN ({mine}) AND status IN (?, ?) RETURNING id",
                [now, f"cancelled by {actor} before it was sent", job_id, *_UNFINISHED],
            ).fetchall()
            ids = [r[0] for r in done]
            if ids:
                cur.execute(
                    "UPDATE sync_log SET status = 'cancelled', finished_at = ?,"
                    " error = 'not sent: the create it waited for was cancelled'"
                    " WHERE waits_on IN (SELECT unnest(?::BIGINT[])) AND status IN (?, ?)",
                    [now, ids, *_UNFINISHED],
                )
        return len(ids)

    # -- reads ---------------------------------------------------------------
    def get(self, job_id: int) -> BulkJob | None:
        with self._db.read() as cur:
            return self.get_in(cur, job_id)

    @staticmethod
    def get_in(cur: duckdb.DuckDBPyConnection, job_id: int) -> BulkJob | None:
        row = cur.execute(f"SELECT {_JOB_COLUMNS} FROM bulk_jobs WHERE id = ?", [job_id]).fetchone()
        return _job(row) if row else None

    @staticmethod
    def job_of_group_row_in(cur: duckdb.DuckDBPyConnection, log_id: int) -> BulkJob | None:
        """The group-ticket job whose one create is ``log_id`` (None for any other create)."""
        row = cur.execute(
            f"SELECT {_JOB_COLUMNS} FROM bulk_jobs WHERE group_log_id = ?", [log_id]
        ).fetchone()
        return _job(row) if row else None

    @staticmethod
    def anomaly_ids_in(cur: duckdb.DuckDBPyConnection, job_id: int) -> list[int]:
        rows = cur.execute(
            "SELECT anomaly_id FROM bulk_job_items WHERE job_id = ? ORDER BY position", [job_id]
        ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def unfinished_creates_in(
        cur: duckdb.DuckDBPyConnection, anomaly_ids: Sequence[int], connection_id: int
    ) -> dict[int, int]:
        """The oldest unfinished create row of each of these anomalies, in one query."""
        rows = cur.execute(
            "SELECT anomaly_id, min(id) FROM sync_log WHERE action = 'create'"
            " AND status IN ('pending', 'sending', 'deferred') AND connection_id = ?"
            " AND anomaly_id IN (SELECT unnest(?::BIGINT[])) GROUP BY anomaly_id",
            [connection_id, [int(i) for i in anomaly_ids]],
        ).fetchall()
        return dict(rows)

    def items(self, job_id: int) -> list[JobItem]:
        """Every item of the job with its current state, in the selection's order."""
        with self._db.read() as cur:
            return [JobItem(*r) for r in cur.execute(_ITEMS_SQL, [job_id]).fetchall()]

    def recent(self, limit: int = 20) -> list[BulkJob]:
        """The newest jobs first (the page lists them so a closed page's job can be found)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_JOB_COLUMNS} FROM bulk_jobs ORDER BY id DESC LIMIT ?", [int(limit)]
            ).fetchall()
        return [_job(r) for r in rows]
