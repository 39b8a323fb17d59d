"""Named API tokens (``api_tokens``, migration 008): only their SHA-256 is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lib.store.db import Database

_COLUMNS = "id, name, hint, created_at, revoked_at, last_used_at"


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiTokenRepository:
    def __init__(self, db: Database):
        self._db = db

    def add(self, name: str, token_sha256: str, hint: str, now: datetime) -> ApiToken:
        with self._db.transaction() as cur:
            row = cur.execute(
                "INSERT INTO api_tokens (name, token_sha256, hint, created_at)"
                f" VALUES (?, ?, ?, ?) RETURNING {_COLUMNS}",
                [name, token_sha256, hint, now],
            ).fetchone()
        return ApiToken(*row)

    def all(self) -> list[ApiToken]:
        with self._db.read() as cur:
            rows = cur.execute(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY id").fetchall()
        return [ApiToken(*r) for r in rows]

    def active_by_hash(self, token_sha256: str) -> ApiToken | None:
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL",
                [token_sha256],
            ).fetchone()
        return ApiToken(*row) if row else None

    def revoke(self, token_id: int, now: datetime) -> bool:
        """True when an active token was revoked."""
        with self._db.transaction() as cur:
            row = cur.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
                " RETURNING id",
                [now, token_id],
            ).fetchone()
        return row is not None

    def touch(self, token_id: int, now: datetime) -> None:
        with self._db.transaction() as cur:
            cur.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token_id])
