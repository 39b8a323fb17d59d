"""Statistics of the Jira sync, aggregated in DuckDB over ``sync_log``.

Definitions (the page's captions repeat them):

- **Created**: a log row with action ``create`` and status ``ok``.
- **Updated**: a log row with action ``update`` or ``comment`` and status ``ok``.
- **Total**: Created + Updated.
- **Failed**: a log row with status ``failed`` (any action).
- **Success rate** of a day: ok / (ok + failed) over that day's finished rows
  (any action); none when the day has no finished row.
- **Detection to first ticket**: for each anomaly, the time from
  ``anomalies.detected_at`` to its first ``ok`` ``create`` or ``link`` row;
  shown on the day of that first ticket (median hours and count per day).

A row's time is its ``created_at`` (naive UTC, the time the Log page shows).
Days are calendar days in the time zone the user picks: the UTC boundaries of
"today" and "yesterday" are computed in Python with zoneinfo (DST included)
and passed as parameters. Per-day series first count rows per 15-minute UTC
bucket (every current IANA offset is a multiple of 15 minutes) and convert
only those few thousand buckets to local days, so 1,000,000 rows never go
through a per-row time-zone conversion.

Counters count only rows written after their latest reset (``stats_resets``);
a reset never touches the log. The running total is all-time (the log as it
is, resets ignored): it is history, not a counter. Rows removed by the log
cleanup no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from lib.store.db import Database

COUNTERS = {"create": "Create", "update": "Update", "total": "Total"}
_COUNTER_SQL = {
    "create": "action = 'create'",
    "update": "action IN ('update', 'comment')",
    "total": "action IN ('create', 'update', 'comment')",
}
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Kyiv",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
_EPOCH = datetime(1970, 1, 1)  # "never reset": counts everything
MAX_RANGE_DAYS = 3660


@dataclass(frozen=True)
class Counter:
    name: str  # create | update | total
    label: str
    total: int
    today: int
    yesterday: int
    last_reset: datetime | None  # naive UTC


@dataclass(frozen=True)
class DayStats:
    day: date
    created: int
    updated: int
    failed: int
    ok: int
    running_total: int  # all-time created + updated up to the end of this day
    success_rate: float | None  # ok / (ok + failed), None without finished rows


@dataclass(frozen=True)
class FirstTicketDay:
    day: date
    anomalies: int  # anomalies whose first ticket came that day
    median_hours: float
    max_hours: float


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``.

    Raises:
        ValueError: no such IANA time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {name!r}.") from None


def zone_choices() -> list[str]:
    """The common zones first, then every other zone this machine knows."""
    rest = sorted(available_timezones() - set(COMMON_ZONES))
    return [*COMMON_ZONES, *rest]


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The naive UTC time at which ``day`` starts in ``tz``."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def local_day(now: datetime, tz: ZoneInfo) -> date:
    """The calendar day in ``tz`` at naive-UTC ``now``."""
    return now.replace(tzinfo=UTC).astimezone(tz).date()


# -- counters --------------------------------------------------------------------


def last_resets(db: Database) -> dict[str, datetime | None]:
    with db.read() as cur:
        found = dict(
            cur.execute(
                "SELECT counter, max(reset_at) FROM stats_resets GROUP BY counter"
            ).fetchall()
        )
    return {name: found.get(name) for name in COUNTERS}


def reset(db: Database, counter: str, now: datetime, actor: str | None = None) -> None:
    """Start ``counter`` again from ``now``; the log is not touched.

    Raises:
        ValueError: unknown counter.
    """
    if counter not in COUNTERS:
        raise ValueError(f"Unknown counter {counter!r}: one of {', '.join(COUNTERS)}.")
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO stats_resets (counter, reset_at, reset_by) VALUES (?, ?, ?)",
            [counter, now, actor],
        )


def counters(db: Database, tz_name: str, now: datetime) -> dict[str, Counter]:
    """Create, Update and Total: since the last reset, today and yesterday in ``tz_name``."""
    tz = zone(tz_name)
    today = local_day(now, tz)
    yesterday_at = local_midnight_utc(today - timedelta(days=1), tz)
    today_at = local_midnight_utc(today, tz)
    tomorrow_at = local_midnight_utc(today + timedelta(days=1), tz)
    resets = last_resets(db)
    exprs: list[str] = []
    params: list = []
    for name, condition in _COUNTER_SQL.items():
        since = resets[name] or _EPOCH
        # Each window starts at the later of its own start and the reset.
        for start, end in (
            (since, None),
            (max(since, today_at), tomorrow_at),
            (max(since, yesterday_at), today_at),
        ):
            upper = " AND created_at < ?" if end is not None else ""
            exprs.append(f"count(*) FILTER (WHERE {condition} AND created_at >= ?{upper})")
            params += [start] + ([end] if end is not None else [])
    with db.read() as cur:
        values = cur.execute(
            f"SELECT {', '.join(exprs)} FROM sync_log WHERE status = 'ok'"
            " AND action IN ('create', 'update', 'comment')",
            params,
        ).fetchone()
    return {
        name: Counter(name, COUNTERS[name], *values[i * 3 : i * 3 + 3], resets[name])
        for i, name in enumerate(COUNTERS)
    }


# -- per-day series ----------------------------------------------------------------


def _range(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime, list[date]]:
    if end < start:
        raise ValueError("The end of the date range is before its start.")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"Pick a range of at most {MAX_RANGE_DAYS} days.")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return local_midnight_utc(start, tz), local_midnight_utc(end + timedelta(days=1), tz), days


def daily(db: Database, start: date, end: date, tz_name: str) -> list[DayStats]:
    """Every day from ``start`` to ``end`` (inclusive, days in ``tz_name``), zeros included.

    Raises:
        ValueError: unknown zone, or an empty or too long range.
    """
    tz = zone(tz_name)
    lo, hi, days = _range(start, end, tz)
    sql = """
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
    with db.read() as cur:
        rows = cur.execute(sql, [lo, hi, tz_name, days, lo]).fetchall()
    return [
        DayStats(day, int(c), int(u), int(f), int(ok), int(run), ok / (ok + f) if ok + f else None)
        for day, c, u, f, ok, run in rows
    ]


def first_ticket_times(db: Database, start: date, end: date, tz_name: str) -> list[FirstTicketDay]:
    """Per day of an anomaly's first ticket (create or link): hours since its detection.

    Raises:
        ValueError: unknown zone, or an empty or too long range.
    """
    tz = zone(tz_name)
    lo, hi, _ = _range(start, end, tz)
    sql = """
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
    with db.read() as cur:
        rows = cur.execute(sql, [lo, hi, tz_name]).fetchall()
    return [FirstTicketDay(day, int(n), float(med), float(mx)) for day, n, med, mx in rows]
