"""Settings the operator changes at run time, in the key/value table ``app_settings``.

Values are stored as text under fixed keys (below), so a new setting needs no
migration. Reads are forgiving: a missing or hand-edited bad value reads as
the default, because a broken setting must not stop the worker (nor make the
log cleanup delete everything). Writes are strict: callers validate first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from lib.store.db import Database

MAX_UPDATES_KEY = "sync.update_limit.max_updates"
PER_SECONDS_KEY = "sync.update_limit.per_seconds"
MAX_ENTRIES_KEY = "log_retention_max_entries"
MAX_AGE_KEY = "log_retention_max_age_days"
LAST_RUN_KEY = "log_retention_last_run_at"


@dataclass(frozen=True)
class LogRetention:
    """How much finished log to keep; 0 = no limit (for both)."""

    max_entries: int = 0
    max_age_days: int = 0


class AppSettings:
    """Typed reads and writes over ``app_settings``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def values(self, *keys: str) -> dict[str, str]:
        """The stored text of those of ``keys`` that exist."""
        marks = ", ".join("?" for _ in keys)
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT key, value FROM app_settings WHERE key IN ({marks})", list(keys)
            ).fetchall()
        return dict(rows)

    def put(self, values: Mapping[str, object]) -> None:
        """Store all of ``values`` (as text) in one transaction."""
        with self._db.transaction() as cur:
            for key, value in values.items():
                cur.execute(
                    "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
                    [key, str(value)],
                )

    # -- log retention ---------------------------------------------------------
    def log_retention_text(self) -> tuple[str, str]:
        """(max entries, max age) as stored, "0" when absent; the caller parses them."""
        stored = self.values(MAX_ENTRIES_KEY, MAX_AGE_KEY)
        return stored.get(MAX_ENTRIES_KEY, "0"), stored.get(MAX_AGE_KEY, "0")

    def save_log_retention(self, settings: LogRetention) -> None:
        self.put({MAX_ENTRIES_KEY: settings.max_entries, MAX_AGE_KEY: settings.max_age_days})

    def retention_last_run(self) -> datetime | None:
        """When the cleanup last ran; None if never (or the stamp is unreadable)."""
        stamp = self.values(LAST_RUN_KEY).get(LAST_RUN_KEY)
        try:
            return datetime.fromisoformat(stamp) if stamp else None
        except ValueError:
            return None  # a bad stamp: the cleanup runs, which rewrites it

    # -- the outbox's update limit ---------------------------------------------
    def update_limit_text(self) -> tuple[str | None, str | None]:
        stored = self.values(MAX_UPDATES_KEY, PER_SECONDS_KEY)
        return stored.get(MAX_UPDATES_KEY), stored.get(PER_SECONDS_KEY)

    def save_update_limit(self, max_updates: int, per_seconds: float) -> None:
        self.put({MAX_UPDATES_KEY: max_updates, PER_SECONDS_KEY: per_seconds})
