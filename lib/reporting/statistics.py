"""Statistics of the Jira sync: what each number means and which days it covers.

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
"today" and "yesterday" are computed here with zoneinfo (DST included) and
passed to the store as parameters; the store aggregates in DuckDB.

Counters count only rows written after their latest reset; a reset never
touches the log. The running total is all-time (the log as it is, resets
ignored): it is history, not a counter. Rows removed by the cleanup no longer count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from lib.store.db import Database
from lib.store.statistics import CounterName, FirstTicketDay, StatisticsRepository, Window

COUNTERS = {CounterName.CREATE: "Create", CounterName.UPDATE: "Update", CounterName.TOTAL: "Total"}
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

__all__ = ["COUNTERS", "Counter", "CounterName", "DayStats", "FirstTicketDay", "StatisticsService"]


@dataclass(frozen=True)
class Counter:
    name: CounterName
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


def _range(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime, list[date]]:
    if end < start:
        raise ValueError("The end of the date range is before its start.")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"Pick a range of at most {MAX_RANGE_DAYS} days.")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return local_midnight_utc(start, tz), local_midnight_utc(end + timedelta(days=1), tz), days


class StatisticsService:
    """What the Statistics page asks for; the clock is injected (tests pin it)."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._repo = StatisticsRepository(db)
        self._clock = clock

    zone_choices = staticmethod(zone_choices)

    def today(self, tz_name: str) -> date:
        """Today's date in ``tz_name``. Raises ValueError: unknown zone."""
        return local_day(self._clock(), zone(tz_name))

    def last_resets(self) -> dict[CounterName, datetime | None]:
        return self._repo.last_resets()

    def reset(self, counter: CounterName | str, actor: str | None = None) -> None:
        """Start ``counter`` again from now; the log is not touched.

        Raises:
            ValueError: unknown counter.
        """
        if counter not in COUNTERS:
            raise ValueError(f"Unknown counter {counter!r}: one of {', '.join(COUNTERS)}.")
        self._repo.add_reset(CounterName(counter), self._clock(), actor)

    def counters(self, tz_name: str) -> dict[CounterName, Counter]:
        """Create, Update and Total: since the last reset, today and yesterday in ``tz_name``."""
        tz = zone(tz_name)
        today = local_day(self._clock(), tz)
        yesterday_at = local_midnight_utc(today - timedelta(days=1), tz)
        today_at = local_midnight_utc(today, tz)
        tomorrow_at = local_midnight_utc(today + timedelta(days=1), tz)
        resets = self._repo.last_resets()
        windows: list[Window] = []
        for name in COUNTERS:
            since = resets[name] or _EPOCH
            # Each window starts at the later of its own start and the reset.
            windows += [
                Window(name, since),
                Window(name, max(since, today_at), tomorrow_at),
                Window(name, max(since, yesterday_at), today_at),
            ]
        values = self._repo.count_ok(windows)
        return {
            name: Counter(name, COUNTERS[name], *values[i * 3 : i * 3 + 3], resets[name])
            for i, name in enumerate(COUNTERS)
        }

    def daily(self, start: date, end: date, tz_name: str) -> list[DayStats]:
        """Every day from ``start`` to ``end`` (inclusive, in ``tz_name``), zeros included.

        Raises:
            ValueError: unknown zone, or an empty or too long range.
        """
        tz = zone(tz_name)
        lo, hi, days = _range(start, end, tz)
        return [
            DayStats(
                d.day, d.created, d.updated, d.failed, d.ok, d.running_total,
                d.ok / (d.ok + d.failed) if d.ok + d.failed else None,
            )
            for d in self._repo.daily(lo, hi, tz_name, days)
        ]  # fmt: skip

    def first_ticket_times(self, start: date, end: date, tz_name: str) -> list[FirstTicketDay]:
        """Per day of an anomaly's first ticket (create or link): hours since its detection.

        Raises:
            ValueError: unknown zone, or an empty or too long range.
        """
        tz = zone(tz_name)
        lo, hi, _ = _range(start, end, tz)
        return self._repo.first_ticket_days(lo, hi, tz_name)
