"""The Statistics page's SQL: counters with their resets, per-day series, first-ticket times.

Time zones are the reporting layer's business: it computes the naive-UTC
boundaries of local days (zoneinfo, DST included) and passes them here as
parameters. Per-day series first count rows per 15-minute UTC bucket (every
current IANA offset is a multiple of 15 minutes) and convert only those few
thousand buckets to local days, so 1,000,000 rows never go through a per-row
time-zone conversion.

A reset never touches the log: it is a row in ``stats_resets`` and each
counter counts only log rows written after its latest reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from lib.store.db import Database


class CounterName(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    TOTAL = "total"


# What each counter counts among ok rows.
_COUNTER_SQL = {
    CounterName.CREATE: "action = 'create'",
    CounterName.UPDATE: "action IN ('update', 'comment')",
    CounterName.TOTAL: "action IN ('create', 'update', 'comment')",
}


@dataclass(frozen=True)
class Window:
    """Rows of one counter with ``start <= created_at < end`` (no end: up to now)."""

    counter: CounterName
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class DayCounts:
    day: date
    created: int
    updated: int
    failed: int
    ok: int
    running_total: int  # all-time created + updated up to the end of this day


@dataclass(frozen=True)
class FirstTicketDay:
    day: date
    anomalies: int  # anomalies whose first ticket came that day
    median_hours: float
    max_hours: float


_DAILY_SQL = """
    WITH buckets AS (
        SELECT time_bucket(INTERVAL 15 MINUTE, created_at) AS bucket,
               count(*) FILTER (WHERE status = 'ok' AND action = 'create') AS created,
               count(*) FILTER (WHERE status = 'ok' AND action IN ('update', 'comment'))
                   AS updated,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               count(*) FILTER (WHERE status = 'ok') AS ok
        FROM sync_log
        WHERE created_at >= ? AND created_at < ? AND status IN ('ok', 'failed')
        GROUP BY bucket),
    per_day AS (
        SELECT timezone(?, timezone('UTC', bucket))::DATE AS day, sum(created) AS created,
               sum(updated) AS updated, sum(failed) AS failed, sum(ok) AS ok
        FROM buckets GROUP BY day),
    days AS (SELECT unnest(?::DATE[]) AS day)
    SELECT d.day, coalesce(p.created, 0), coalesce(p.updated, 0), coalesce(p.failed, 0),
           coalesce(p.ok, 0),
           (SELECT count(*) FROM sync_log WHERE created_at < ? AND status = 'ok'
              AND action IN ('create', 'update', 'comment'))
           + sum(coalesce(p.created, 0) + coalesce(p.updated, 0)) OVER (ORDER BY d.day)
    FROM days d LEFT JOIN per_day p USING (day) ORDER BY d.day
"""

_FIRST_TICKET_SQL = """
    WITH first AS (
        SELECT anomaly_id, min(created_at) AS first_at FROM sync_log
        WHERE status = 'ok' AND action IN ('create', 'link') AND anomaly_id IS NOT NULL
        GROUP BY anomaly_id
        HAVING min(created_at) >= ? AND min(created_at) < ?)
    SELECT timezone(?, timezone('UTC', f.first_at))::DATE AS day, count(*) AS anomalies,
           median(epoch(f.first_at) - epoch(a.detected_at)) / 3600.0 AS median_hours,
           max(epoch(f.first_at) - epoch(a.detected_at)) / 3600.0 AS max_hours
    FROM first f JOIN anomalies a ON a.id = f.anomaly_id
    GROUP BY day ORDER BY day
"""


class StatisticsRepository:
    """Aggregations over ``sync_log`` (in DuckDB, never row by row in Python) and resets."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def last_resets(self) -> dict[CounterName, datetime | None]:
        with self._db.read() as cur:
            found = dict(
                cur.execute(
                    "SELECT counter, max(reset_at) FROM stats_resets GROUP BY counter"
                ).fetchall()
            )
        return {name: found.get(str(name)) for name in CounterName}

    def add_reset(self, counter: CounterName, at: datetime, actor: str | None = None) -> None:
        """Record that ``counter`` starts again at ``at``; the log is not touched."""
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO stats_resets (counter, reset_at, reset_by) VALUES (?, ?, ?)",
                [str(CounterName(counter)), at, actor],
            )

    def count_ok(self, windows: Sequence[Window]) -> tuple[int, ...]:
        """The ok rows in each window, in order, in one scan."""
        exprs: list[str] = []
        params: list = []
        for window in windows:
            upper = " AND created_at < ?" if window.end is not None else ""
            exprs.append(
                f"count(*) FILTER (WHERE {_COUNTER_SQL[window.counter]} AND created_at >= ?{upper})"
            )
            params += [window.start] + ([window.end] if window.end is not None else [])
        if not exprs:
            return ()
        with self._db.read() as cur:
            values = cur.execute(
                f"SELECT {', '.join(exprs)} FROM sync_log WHERE status = 'ok'"
                " AND action IN ('create', 'update', 'comment')",
                params,
            ).fetchone()
        return tuple(int(v) for v in values)

    def daily(
        self, lo: datetime, hi: datetime, tz_name: str, days: Sequence[date]
    ) -> list[DayCounts]:
        """Counts per local day of ``tz_name`` for rows in [lo, hi), one row per day given."""
        with self._db.read() as cur:
            rows = cur.execute(_DAILY_SQL, [lo, hi, tz_name, list(days), lo]).fetchall()
        return [
            DayCounts(d, int(c), int(u), int(f), int(ok), int(run)) for d, c, u, f, ok, run in rows
        ]

    def first_ticket_days(self, lo: datetime, hi: datetime, tz_name: str) -> list[FirstTicketDay]:
        """Per local day of an anomaly's first ticket in [lo, hi): hours since detection."""
        with self._db.read() as cur:
            rows = cur.execute(_FIRST_TICKET_SQL, [lo, hi, tz_name]).fetchall()
        return [FirstTicketDay(day, int(n), float(med), float(mx)) for day, n, med, mx in rows]
