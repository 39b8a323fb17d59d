"""The Statistics page's SQL over the sync rollup: counters, baselines, per-day series.

Decisions, and why:

- Everything here reads ``sync_stats`` and ``sync_latency_stats`` (migrations
  009 and 016), never ``sync_log``: the log's cleanup deletes rows, the rollup never
  loses a count. The rollup is written by the sync log's transitions
  (``lib/store/stats_rollup.py``).
- Time zones are the reporting layer's business: it computes the naive-UTC
  boundaries of local days (zoneinfo, DST included) and passes them here. A
  per-day series first sums the rollup per 15-minute slot and converts only
  those slots to local days (exact: every IANA offset is a multiple of 15 min).
- A reset is a baseline row holding the all-time counts at that moment, taken
  in the transaction that writes it; "since reset" is now minus the latest
  baseline, for Create and Update alike, so Total = Create + Update.
- Latency percentiles come from a histogram with bins 2^(1/4) wide,
  interpolated within the bin (within ~10% of the exact value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from lib.store.db import Database
from lib.store.stats_rollup import bin_lower_ms


class CounterName(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    TOTAL = "total"


# What each counter counts among the rollup's ok outcomes.
CREATED_SQL = "outcome = 'ok' AND action = 'create'"
UPDATED_SQL = "outcome = 'ok' AND action IN ('update', 'comment')"


@dataclass(frozen=True)
class Baseline:
    """A reset: the all-time counts when it was made (naive UTC)."""

    reset_at: datetime
    reset_by: str | None
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class Counts:
    created: int
    updated: int


@dataclass(frozen=True)
class DayCounts:
    day: date
    created: int
    updated: int
    ok: int
    failed: int
    retried: int
    deferred: int
    rate_limited: int  # 429s: failed or retried with kind rate_limited
    waited_s: float  # the time those 429s waited before the next try
    running_total: int  # all-time created + updated up to the end of this day


@dataclass(frozen=True)
class KindCount:
    kind: str
    failed: int
    retried: int


@dataclass(frozen=True)
class LatencyDay:
    day: date
    calls: int
    p50_ms: float | None
    p95_ms: float | None


# Local days come as (day, its start in UTC) from the reporting layer; a
# slot belongs to the last day that starts at or before it (ASOF JOIN): no
# per-row time-zone conversion, which costs ~1 us a row (40 ms for a month of
# latency slots) against a merge of sorted slots.
DAYS_CTE = "days AS (SELECT unnest(?::DATE[]) AS day, unnest(?::TIMESTAMP[]) AS day_start)"

# Slots from the first day on: those before the end make the days, those
# after it (a range that ends before now) only what came later, for the
# running total, which then needs no scan of the history before the range.
_DAILY_SQL = f"""
    WITH {DAYS_CTE},
    slots AS (
        SELECT slot,
               sum(calls) FILTER (WHERE {CREATED_SQL}) AS created,
               sum(calls) FILTER (WHERE {UPDATED_SQL}) AS updated,
               sum(calls) FILTER (WHERE outcome = 'ok') AS ok,
               sum(calls) FILTER (WHERE outcome = 'failed') AS failed,
               sum(calls) FILTER (WHERE outcome = 'retried') AS retried,
               sum(calls) FILTER (WHERE outcome = 'deferred') AS deferred,
               sum(calls) FILTER (WHERE error_kind = 'rate_limited') AS limited,
               sum(waited_s) FILTER (WHERE error_kind = 'rate_limited') AS waited
        FROM sync_stats WHERE slot >= ? GROUP BY slot),
    within AS (SELECT * FROM slots WHERE slot < ?),
    per_day AS (
        SELECT d.day, sum(created) AS created, sum(updated) AS updated, sum(ok) AS ok,
               sum(failed) AS failed, sum(retried) AS retried, sum(deferred) AS deferred,
               sum(limited) AS limited, sum(waited) AS waited
        FROM within s ASOF JOIN days d ON s.slot >= d.day_start GROUP BY d.day),
    later AS (
        SELECT coalesce(sum(coalesce(created, 0) + coalesce(updated, 0)), 0) AS n
        FROM slots WHERE slot >= ?)
    SELECT d.day, coalesce(p.created, 0), coalesce(p.updated, 0), coalesce(p.ok, 0),
           coalesce(p.failed, 0), coalesce(p.retried, 0), coalesce(p.deferred, 0),
           coalesce(p.limited, 0), coalesce(p.waited, 0),
           -- all time, less what came after the end of this day
           ?::BIGINT - (SELECT n FROM later)
           - sum(coalesce(p.created, 0) + coalesce(p.updated, 0)) OVER ()
           + sum(coalesce(p.created, 0) + coalesce(p.updated, 0)) OVER (ORDER BY d.day)
    FROM days d LEFT JOIN per_day p USING (day) ORDER BY d.day
"""

_LATENCY_SQL = f"""
    WITH {DAYS_CTE},
    -- the bins on the counters (migration 016), and those counted before it
    slots AS (
        SELECT slot, latency_bin AS bin, latency_calls AS calls FROM sync_stats
        WHERE latency_bin IS NOT NULL AND slot >= ? AND slot < ?
        UNION ALL
        SELECT slot, bin, calls FROM sync_latency_stats WHERE slot >= ? AND slot < ?),
    per_day AS (
        SELECT d.day, s.bin, sum(s.calls) AS calls
        FROM slots s ASOF JOIN days d ON s.slot >= d.day_start GROUP BY d.day, s.bin),
    running AS (
        SELECT day, bin, calls, sum(calls) OVER (PARTITION BY day ORDER BY bin) AS upto,
               sum(calls) OVER (PARTITION BY day) AS n
        FROM per_day)
    -- The first bin whose running count reaches q * n, and how far into it.
    SELECT day, any_value(n),
           arg_min(bin + (0.5 * n - (upto - calls)) / calls, bin) FILTER (WHERE upto >= 0.5 * n),
           arg_min(bin + (0.95 * n - (upto - calls)) / calls, bin) FILTER (WHERE upto >= 0.95 * n)
    FROM running GROUP BY day ORDER BY day
"""


@dataclass(frozen=True)
class LocalDays:
    """Calendar days of one time zone: each day and the naive-UTC time it starts; then the end."""

    days: tuple[date, ...]
    starts: tuple[datetime, ...]
    end: datetime  # when the last day ends

    @property
    def start(self) -> datetime:
        return self.starts[0]

    def params(self) -> list:
        return [list(self.days), list(self.starts)]


class StatisticsRepository:
    """Aggregations over the sync rollup (in DuckDB, never row by row) and the baselines."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- counters and resets -------------------------------------------------
    def counts(self, windows: Sequence[tuple[datetime, datetime]]) -> tuple[Counts, ...]:
        """All-time counts first, then those of each [start, end) window, in one scan."""
        exprs = ["sum(calls)"]
        params: list = []
        for start, end in windows:
            exprs.append("sum(calls) FILTER (WHERE slot >= ? AND slot < ?)")
            params += [start, end]
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT action = 'create', {', '.join(exprs)} FROM sync_stats"
                " WHERE outcome = 'ok' AND action IN ('create', 'update', 'comment')"
                " GROUP BY ALL",
                params,
            ).fetchall()
        created = next((r[1:] for r in rows if r[0]), None) or (0,) * len(exprs)
        updated = next((r[1:] for r in rows if not r[0]), None) or (0,) * len(exprs)
        return tuple(
            Counts(int(c or 0), int(u or 0)) for c, u in zip(created, updated, strict=True)
        )

    def add_baseline(self, at: datetime, actor: str | None) -> Baseline:
        """Record a reset: the all-time counts now, in the same transaction (the log is untouched)."""
        with self._db.transaction() as cur:
            row = cur.execute(
                "INSERT INTO stats_baselines (reset_at, reset_by, created, updated)"
                f" SELECT ?, ?, coalesce(sum(calls) FILTER (WHERE {CREATED_SQL}), 0),"
                f" coalesce(sum(calls) FILTER (WHERE {UPDATED_SQL}), 0) FROM sync_stats"
                " RETURNING reset_at, reset_by, created, updated",
                [at, actor],
            ).fetchone()
        return Baseline(row[0], row[1], int(row[2]), int(row[3]))

    def baselines(self, limit: int = 20) -> list[Baseline]:
        """The resets, newest first."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT reset_at, reset_by, created, updated FROM stats_baselines"
                " ORDER BY id DESC LIMIT ?",
                [int(limit)],
            ).fetchall()
        return [Baseline(at, by, int(c), int(u)) for at, by, c, u in rows]

    # -- per-day series ------------------------------------------------------
    def daily(self, local: LocalDays, all_time: int) -> list[DayCounts]:
        """Outcomes per local day, one row per day given.

        ``all_time`` is created + updated ever (``counts``): the running total ends there.
        """
        with self._db.read() as cur:
            rows = cur.execute(
                _DAILY_SQL, [*local.params(), local.start, local.end, local.end, int(all_time)]
            ).fetchall()
        return [
            DayCounts(d, *(int(v) for v in counts[:7]), float(counts[7]), int(counts[8]))
            for d, *counts in rows
        ]

    def failures_by_kind(self, lo: datetime, hi: datetime) -> list[KindCount]:
        """Failed and retried attempts per error kind in [lo, hi), most first."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT error_kind, sum(calls) FILTER (WHERE outcome = 'failed'),"
                " sum(calls) FILTER (WHERE outcome = 'retried') FROM sync_stats"
                " WHERE slot >= ? AND slot < ? AND outcome IN ('failed', 'retried')"
                " GROUP BY error_kind ORDER BY sum(calls) DESC, error_kind",
                [lo, hi],
            ).fetchall()
        return [KindCount(k, int(f or 0), int(r or 0)) for k, f, r in rows]

    def latency_daily(self, local: LocalDays) -> list[LatencyDay]:
        """Jira latency p50 and p95 per local day with calls (from the latency histogram)."""
        with self._db.read() as cur:
            span = [local.start, local.end]
            rows = cur.execute(_LATENCY_SQL, [*local.params(), *span, *span]).fetchall()
        return [
            LatencyDay(
                day,
                int(n),
                None if p50 is None else round(bin_lower_ms(p50), 1),
                None if p95 is None else round(bin_lower_ms(p95), 1),
            )
            for day, n, p50, p95 in rows
        ]
