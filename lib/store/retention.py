"""The delete side of log retention: remove finished ``sync_log`` rows, stamp the run.

Only finished rows (``ok``, ``failed``) are ever removed: ``pending``,
``sending`` and ``deferred`` rows are the outbox's unsent work, and removing
one would silently drop a Jira change. ``ticket_links`` is never touched: a
link outlives the log rows that made it. When to clean and how much is the
reporting layer's policy (``lib/reporting/retention.py``). The statistics
rollup is never deleted from: the same transaction only merges its appended
rows (``stats_rollup.compact_in``), so no count changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lib.store import stats_rollup
from lib.store.app_settings import LAST_RUN_KEY
from lib.store.db import Database


@dataclass(frozen=True)
class Removed:
    by_age: int
    by_count: int

    @property
    def removed(self) -> int:
        return self.by_age + self.by_count


class LogCleanup:
    def __init__(self, db: Database) -> None:
        self._db = db

    def remove_finished(
        self, *, older_than: datetime | None, keep_newest: int | None, now: datetime
    ) -> Removed:
        """In one transaction: finished rows before ``older_than``, then all but the newest
        ``keep_newest`` finished rows; then record ``now`` as the last run."""
        by_age = by_count = 0
        with self._db.transaction() as cur:
            if older_than is not None:
                by_age = _deleted(
                    cur.execute(
                        "DELETE FROM sync_log WHERE status IN ('ok', 'failed') AND created_at < ?",
                        [older_than],
                    )
                )
            if keep_newest is not None:
                # Oldest go first: keep the newest N finished rows by time, then id.
                by_count = _deleted(
                    cur.execute(
                        "DELETE FROM sync_log WHERE id IN (SELECT id FROM sync_log"
                        " WHERE status IN ('ok', 'failed')"
                        " ORDER BY created_at DESC, id DESC OFFSET ?)",
                        [int(keep_newest)],
                    )
                )
            cur.execute(
                "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
                [LAST_RUN_KEY, now.isoformat()],
            )
            stats_rollup.compact_in(cur)  # merges the statistics' rows; no count changes
        return Removed(by_age, by_count)


def _deleted(result) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0
