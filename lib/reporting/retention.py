"""How long the sync log keeps finished rows: the settings, their checks, and when to clean.

"Max entries" counts finished rows: the newest N are kept, older ones go
(unsent work does not push finished rows out). 0 means no limit, for both
settings. They live in ``app_settings`` so the worker's daily run and the Log
page's "Clean up now" read the same values. The deletes themselves are the
store's (``lib/store/retention.py``), which never removes unsent work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lib.store.app_settings import AppSettings, LogRetention
from lib.store.db import Database
from lib.store.retention import LogCleanup, Removed

LIMIT = 100_000_000  # the largest value accepted for either setting
RUN_EVERY = timedelta(days=1)
CleanupResult = Removed  # the name callers know

__all__ = [
    "LIMIT",
    "RUN_EVERY",
    "CleanupResult",
    "LogRetention",
    "cleanup",
    "cleanup_if_due",
    "load",
    "parse_limit",
    "save",
]


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

    def number(text: str) -> int:
        try:
            return parse_limit(text, "setting")
        except ValueError:
            return 0  # a hand-edited bad value must not make cleanup delete everything

    entries, age = AppSettings(db).log_retention_text()
    return LogRetention(number(entries), number(age))


def save(db: Database, max_entries: object, max_age_days: object) -> LogRetention:
    """Validate and store both settings together.

    Raises:
        ValueError: a value is not a whole number in range; nothing is stored.
    """
    settings = LogRetention(
        parse_limit(max_entries, "Maximum entries"),
        parse_limit(max_age_days, "Maximum age in days"),
    )
    AppSettings(db).save_log_retention(settings)
    return settings


def cleanup(db: Database, now: datetime, settings: LogRetention | None = None) -> Removed:
    """Remove finished rows older than the max age, then those beyond the max entries."""
    settings = settings or load(db)
    return LogCleanup(db).remove_finished(
        older_than=now - timedelta(days=settings.max_age_days) if settings.max_age_days else None,
        keep_newest=settings.max_entries or None,
        now=now,
    )


def cleanup_if_due(db: Database, now: datetime) -> Removed | None:
    """The worker's daily run: clean up when the last run is a day old (or never ran)."""
    last = AppSettings(db).retention_last_run()
    if last is not None and now - last < RUN_EVERY:
        return None
    return cleanup(db, now)
