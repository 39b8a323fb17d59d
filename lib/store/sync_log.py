"""The sync log (``sync_log``): every Jira call as one row, and the outbox's state.

Writers take the cursor of the caller's transaction (``*_in`` functions), so
an anomaly change and its queued Jira updates commit together. What is stored
never holds a secret: request bodies pass through ``scrub_json`` and error
texts come from ``JiraError`` messages, which the client already redacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from lib.store.db import Database

ACTIONS = ("create", "update", "comment", "link", "unlink", "refresh")
UNFINISHED = ("pending", "sending", "deferred")
RESPONSE_LIMIT = 4000
REQUEST_LIMIT = 40_000
_SECRET_KEYS = {"authorization", "password", "api_token", "token", "secret", "cookie"}

_COLUMNS = (
    "id, created_at, action, mode, status, anomaly_id, connection_id, link_id, ticket_id,"
    " ticket_key, ticket_url, actor, error, request_json, response_json, latency_ms, attempts,"
    " next_attempt_at, sent_at, finished_at, permanent, needs_reconcile, reconcile_miss_at,"
    " claimed_by, body_text, body_doc, request_id"
)


# What Retry can send again: the rows the outbox sends (SyncEngine.retry, the Log page).
RETRYABLE_ACTIONS = ("create", "comment", "update")


@dataclass(frozen=True)
class LogRow:
    id: int
    created_at: datetime
    action: str
    mode: str
    status: str
    anomaly_id: int | None
    connection_id: int | None
    link_id: int | None
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    actor: str | None
    error: str | None
    request_json: str | None
    response_json: str | None
    latency_ms: float | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None
    permanent: bool
    needs_reconcile: bool
    reconcile_miss_at: datetime | None
    claimed_by: str | None
    body_text: str | None
    body_doc: str | None
    request_id: str | None

    @property
    def ticket(self) -> tuple:
        """What must go out in order: one Jira issue, or one anomaly's creates."""
        if self.action == "create":
            return ("create", self.connection_id, self.anomaly_id)
        return ("issue", self.connection_id, self.ticket_key)

    @property
    def request(self) -> dict:
        return json.loads(self.request_json) if self.request_json else {}


def scrub_json(value: Any) -> Any:
    """``value`` without secret-looking keys (Authorization and the like), at any depth."""
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if str(k).lower() in _SECRET_KEYS else scrub_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value


def to_json(value: Any, limit: int = REQUEST_LIMIT) -> str | None:
    """Compact JSON, secrets removed, cut to ``limit`` characters (marked when cut)."""
    if value is None:
        return None
    text = json.dumps(scrub_json(value), separators=(",", ":"), default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 14] + "…[truncated]"


class SyncLog:
    """Reads and writes of ``sync_log`` rows."""

    def __init__(self, db: Database):
        self._db = db

    # -- writes (inside the caller's transaction) ---------------------------
    @staticmethod
    def insert_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        now: datetime,
        action: str,
        mode: str,
        status: str,
        **values: Any,
    ) -> int:
        """Insert one row; ``values`` are column names (see the migration)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown sync action {action!r}")
        names = ["created_at", "action", "mode", "status", *values]
        params = [now, action, mode, status, *values.values()]
        marks = ", ".join("?" for _ in names)
        row = cur.execute(
            f"INSERT INTO sync_log ({', '.join(names)}) VALUES ({marks}) RETURNING id", params
        ).fetchone()
        return int(row[0])

    @staticmethod
    def update_in(cur: duckdb.DuckDBPyConnection, log_id: int, **values: Any) -> None:
        # Column names come from our code only, never from user text.
        sets = ", ".join(f"{name} = ?" for name in values)
        cur.execute(f"UPDATE sync_log SET {sets} WHERE id = ?", [*values.values(), log_id])

    @staticmethod
    def get_in(cur: duckdb.DuckDBPyConnection, log_id: int) -> LogRow | None:
        row = cur.execute(f"SELECT {_COLUMNS} FROM sync_log WHERE id = ?", [log_id]).fetchone()
        return LogRow(*row) if row else None

    def update(self, log_id: int, **values: Any) -> None:
        with self._db.transaction() as cur:
            self.update_in(cur, log_id, **values)

    # -- reads ---------------------------------------------------------------
    def get(self, log_id: int) -> LogRow | None:
        with self._db.read() as cur:
            return self.get_in(cur, log_id)

    def unfinished(self) -> list[LogRow]:
        """Pending, sending and deferred rows, oldest first (the outbox's queue)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE status IN (?, ?, ?) ORDER BY id",
                list(UNFINISHED),
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def for_anomaly(self, anomaly_id: int, limit: int = 200) -> list[LogRow]:
        """An anomaly's rows, newest first (the details panel shows failures with Retry)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log WHERE anomaly_id = ? ORDER BY id DESC LIMIT ?",
                [anomaly_id, int(limit)],
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def recent(self, limit: int = 100, offset: int = 0) -> list[LogRow]:
        """Newest rows first (the Log page pages this with its own filters)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM sync_log ORDER BY id DESC LIMIT ? OFFSET ?",
                [int(limit), int(offset)],
            ).fetchall()
        return [LogRow(*r) for r in rows]

    def automatic_updates_since(self, since: datetime) -> list[datetime]:
        """Send times of automatic updates/comments since ``since`` (the update limit's window)."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT sent_at FROM sync_log WHERE mode = 'automatic'"
                " AND action IN ('update', 'comment') AND sent_at >= ?"
                " AND status IN ('ok', 'sending', 'failed') ORDER BY sent_at",
                [since],
            ).fetchall()
        return [r[0] for r in rows]

    def delivered_count(
        self, connection_id: int, ticket_key: str, body_text: str, before_id: int
    ) -> int:
        """Earlier rows that delivered this exact text to this issue (for duplicate checks)."""
        with self._db.read() as cur:
            return cur.execute(
                "SELECT count(*) FROM sync_log WHERE action = 'comment' AND status = 'ok'"
                " AND connection_id = ? AND ticket_key = ? AND body_text = ? AND id < ?",
                [connection_id, ticket_key, body_text, before_id],
            ).fetchone()[0]
