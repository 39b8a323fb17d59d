"""Answers the REST API gave to idempotent requests (``api_idempotency``, migration 008)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lib.store.db import Database


@dataclass(frozen=True)
class StoredAnswer:
    idempotency_key: str
    fingerprint: str
    status_code: int
    response_json: str
    sync_log_id: int | None
    created_at: datetime


class IdempotencyRepository:
    def __init__(self, db: Database):
        self._db = db

    def get(self, key: str) -> StoredAnswer | None:
        with self._db.read() as cur:
            row = cur.execute(
                "SELECT idempotency_key, fingerprint, status_code, response_json, sync_log_id,"
                " created_at FROM api_idempotency WHERE idempotency_key = ?",
                [key],
            ).fetchone()
        return StoredAnswer(*row) if row else None

    def save(
        self,
        key: str,
        fingerprint: str,
        status_code: int,
        response_json: str,
        sync_log_id: int | None,
        now: datetime,
    ) -> None:
        """Store (or replace, when a pending answer completes) the answer for ``key``."""
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO api_idempotency (idempotency_key, fingerprint,"
                " status_code, response_json, sync_log_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [key, fingerprint, status_code, response_json, sync_log_id, now],
            )
