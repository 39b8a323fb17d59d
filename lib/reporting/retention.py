"""How long the sync log keeps finished rows, and the cleanup that enforces it.

Only finished rows (``ok``, ``failed``) are ever removed: ``pending``,
``sending`` and ``deferred`` rows are the outbox's unsent work, and removing
one would silently drop a Jira change. ``ticket_links`` is never touched: a
link outlives the log rows that made it.

"Max entries" counts finished rows: the newest N are kept, older ones go
(unsent work does not push finished rows out). 0 means no limit, for both
settings. Settings live in ``app_settings`` (keys below) so the worker's
daily run and the Log page's "Clean up now" read the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.store.db import Database

MAX_ENTRIES_KEY = "log_retention_max_entries"
MAX_AGE_KEY = "log_retention_max_age_days"
LAST_RUN_KEY = "log_retention_last_run_at"
LIMIT = 100_000_000  # the largest value accepted for either setting
RUN_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class LogRetention:
    max_entries: int = 0  # 0 = no limit
    max_age_days: int = 0  # 0 = no limit


@dataclass(frozen=True)
class CleanupResult:
    by_age: int
    by_count: int

    @property
    def removed(self) -> int:
        return self.by_age + self.by_count


def parse_limit(value: object, name: str) -> int:
    """A whole number from 0 to LIMIT (0 = no limit).

    Raises:
        ValueError: not a whole number in range (the message names the setting).
    """
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number (0 = no limit), not {value!r}.") from None
    if not 0 <= number <= LIMIT:
        raise ValueError(f"{name} must be between 0 and {LIMIT:,} (0 = no limit).")
    return number


def load(db: Database) -> LogRetention:
    """The stored settings; no limits when none were saved (or a stored value is bad)."""
    with db.read() as cur:
        stored = dict(
            cur.execute(
                "SELECT key, value FROM app_settings WHERE key IN (?, ?)",
                [MAX_ENTRIES_KEY, MAX_AGE_KEY],
            ).fetchall()
        )

    def number(key: str) -> int:
        try:
            return parse_limit(stored.get(key, "0"), key)
        except ValueError:
            return 0  # a hand-edited bad value must not make cleanup delete everything

    return LogRetention(number(MAX_ENTRIES_KEY), number(MAX_AGE_KEY))


def save(db: Database, max_entries: object, max_age_days: object) -> LogRetention:
    """Validate and store both settings together.

    Raises:
        ValueError: a value is not a whole number in range; nothing is stored.
    """
    settings = LogRetention(
        parse_limit(max_entries, "Maximum entries"),
        parse_limit(max_age_days, "Maximum age in days"),
    )
    with db.transaction() as cur:
        for key, value in (
            (MAX_ENTRIES_KEY, settings.max_entries),
            (MAX_AGE_KEY, settings.max_age_days),
        ):
            cur.execute(
                "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)", [key, str(value)]
            )
    return settings


def cleanup(db: Database, now: datetime, settings: LogRetention | None = None) -> CleanupResult:
    """Remove finished rows older than the max age, then those beyond the max entries."""
    settings = settings or load(db)
    by_age = by_count = 0
    with db.transaction() as cur:
        if settings.max_age_days > 0:
            cutoff = now - timedelta(days=settings.max_age_days)
            by_age = _deleted(
                cur.execute(
                    "DELETE FROM sync_log WHERE status IN ('ok', 'failed') AND created_at < ?",
                    [cutoff],
                )
            )
        if settings.max_entries > 0:
            # Oldest go first: keep the newest N finished rows by time, then id.
            by_count = _deleted(
                cur.execute(
                    "DELETE FROM sync_log WHERE id IN (SELECT id FROM sync_log"
                    " WHERE status IN ('ok', 'failed') ORDER BY created_at DESC, id DESC OFFSET ?)",
                    [settings.max_entries],
                )
            )
        cur.execute(
            "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
            [LAST_RUN_KEY, now.isoformat()],
        )
    return CleanupResult(by_age, by_count)


def cleanup_if_due(db: Database, now: datetime) -> CleanupResult | None:
    """The worker's daily run: clean up when the last run is a day old (or never ran)."""
    with db.read() as cur:
        row = cur.execute("SELECT value FROM app_settings WHERE key = ?", [LAST_RUN_KEY]).fetchone()
    if row is not None:
        try:
            if now - datetime.fromisoformat(row[0]) < RUN_EVERY:
                return None
        except ValueError:
            pass  # a bad stamp: run now, which rewrites it
    return cleanup(db, now)


def _deleted(result) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0
