"""``integration_health``: one row per connection (lib/outbox/health.py keeps the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lib.store.db import Database

_COLUMNS = (
    "connection_id, state, reason, kind, consecutive_failures, consecutive_rate_limited,"
    " since, last_success_at"
)


@dataclass(frozen=True)
class HealthRecord:
    connection_id: int
    state: str
    reason: str | None
    kind: str | None
    consecutive_failures: int
    consecutive_rate_limited: int
    since: datetime | None
    last_success_at: datetime | None


class HealthStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, connection_id: int) -> HealthRecord | None:
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM integration_health WHERE connection_id = ?",
                [connection_id],
            ).fetchone()
        return HealthRecord(*row) if row else None

    def save(
        self,
        record: HealthRecord,
        *,
        resumed_at: datetime | None = None,
        resumed_by: str | None = None,
    ) -> None:
        """Write the row whole (one statement); a resume also stamps who and when."""
        values = [
            record.connection_id,
            record.state,
            record.reason,
            record.kind,
            record.consecutive_failures,
            record.consecutive_rate_limited,
            record.since,
            record.last_success_at,
        ]
        with self._db.transaction() as cur:
            cur.execute(
                f"INSERT INTO integration_health ({_COLUMNS}, resumed_at, resumed_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state,"
                " reason = excluded.reason, kind = excluded.kind,"
                " consecutive_failures = excluded.consecutive_failures,"
                " consecutive_rate_limited = excluded.consecutive_rate_limited,"
                " since = excluded.since, last_success_at = excluded.last_success_at,"
                " resumed_at = coalesce(excluded.resumed_at, integration_health.resumed_at),"
                " resumed_by = coalesce(excluded.resumed_by, integration_health.resumed_by)",
                [*values, resumed_at, resumed_by],
            )
