"""Statistics of the Jira sync and its tickets: what each number means and which days it covers.

Definitions (the page's captions repeat them):

- **Create**: creates that succeeded (a log row with action ``create`` reaching ``ok``).
- **Update**: updates and comments that succeeded (``update`` or ``comment`` reaching ``ok``).
- **Total**: Create + Update, always (one reset for the three).
- **Since reset**: counted after the latest reset; a reset is a baseline (the
  counts at that moment, when and by whom), never a deletion.
- **Today / Yesterday**: calendar days in the chosen time zone, whatever the resets.
- Outcomes per day: **ok** and **failed** (finished), **retried** (an attempt
  Jira refused for now: 429, timeout, 5xx; tried again later), **deferred**
  (held back by the update limit). A failed row retried by a person that then
  succeeds counts once failed and once ok: these are events, not rows.
- **Failures by kind**: failed and retried attempts per ``ErrorKind``; 429s
  are the ``rate_limited`` ones, with the time they waited before the next try.
- **Latency** p50/p95 per day: every answered call, from a histogram whose
  bins are 19% wide (within ~10% of the exact percentile).
- Linked tickets: **linked** per day (``linked_at``), **resolved** (status
  category ``done``, at the refresh that read it: the store keeps no
  resolution date), the **open backlog** at each day's end; **detection to
  first ticket** and **ticket to resolution** as distributions with exact
  50/85/95% percentiles; **ageing** of open linked tickets; tickets per
  datastore and table; the share of active anomalies with a linked ticket.

Counts are read from the rollup written with each finished log row
(``lib/store/stats_rollup.py``), so the log's cleanup never changes them. A
row's time is its ``created_at`` (naive UTC, the time the Log page shows).
Days are calendar days in the time zone the user picks: the UTC boundaries of
local days are computed here with zoneinfo (DST included) and passed to the
store as parameters; the store aggregates in DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from lib.store.db import Database
from lib.store.statistics import (
    Baseline,
    CounterName,
    DayCounts,
    LocalDays,
    StatisticsRepository,
)
from lib.store.ticket_statistics import (
    AGE_LABELS,
    HOUR_EDGES,
    HOUR_LABELS,
    QUANTILES,
    Distribution,
    TicketShare,
    TicketStatistics,
)

if TYPE_CHECKING:  # pandas (0.2 s to import) only where a page's frames are built
    import pandas as pd

COUNTERS = {CounterName.CREATE: "Create", CounterName.UPDATE: "Update", CounterName.TOTAL: "Total"}
COUNTER_HELP = {
    CounterName.CREATE: "Tickets created in Jira (creates that succeeded).",
    CounterName.UPDATE: "Changes sent to linked tickets (updates and comments that succeeded).",
    CounterName.TOTAL: "Create + Update.",
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
MAX_RANGE_DAYS = 3660
T = TypeVar("T")

__all__ = [
    "AGE_LABELS",
    "COUNTERS",
    "HOUR_EDGES",
    "HOUR_LABELS",
    "QUANTILES",
    "Baseline",
    "Counter",
    "CounterName",
    "Distribution",
    "StatisticsPage",
    "StatisticsService",
]


@dataclass(frozen=True)
class Counter:
    name: CounterName
    label: str
    total: int  # since the latest reset
    today: int
    yesterday: int
    last_reset: datetime | None  # naive UTC
    all_time: int = 0
    help: str = ""


@dataclass(frozen=True)
class StatisticsPage:
    """Everything the Statistics page shows, for one time zone and range of days."""

    time_zone: str
    start: date
    end: date
    counters: dict[CounterName, Counter]
    last_reset: Baseline | None
    daily: pd.DataFrame  # day, created, updated, ok, failed, retried, deferred, ... running_total
    kinds: pd.DataFrame  # kind, failed, retried
    rate_limited: int  # 429s in the range
    rate_limited_wait_s: float  # the time they waited
    latency: pd.DataFrame  # day, calls, p50_ms, p95_ms (days with calls)
    linked: pd.DataFrame  # day, linked, resolved, open_at_end
    detection_to_ticket: Distribution
    ticket_to_resolution: Distribution
    ageing: pd.DataFrame  # age, tickets
    by_table: pd.DataFrame  # datastore, table, tickets (largest first)
    share: TicketShare
    # What this answer was read for (zone, days, today) and at which write count:
    # equal versions, equal answers, so what is drawn from one can be kept under it.
    version: Hashable = ()


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
    return list(_zone_choices())


@cache
def _zone_choices() -> tuple[str, ...]:
    # available_timezones() walks the zone files on every call (~5 ms, more on
    # a busy machine); the list does not change while the process runs.
    rest = sorted(available_timezones() - set(COMMON_ZONES))
    return (*COMMON_ZONES, *rest)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The naive UTC time at which ``day`` starts in ``tz``."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def local_day(now: datetime, tz: ZoneInfo) -> date:
    """The calendar day in ``tz`` at naive-UTC ``now``."""
    return now.replace(tzinfo=UTC).astimezone(tz).date()


def _range(start: date, end: date, tz: ZoneInfo) -> LocalDays:
    if end < start:
        raise ValueError("The end of the date range is before its start.")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"Pick a range of at most {MAX_RANGE_DAYS} days.")
    days = tuple(start + timedelta(days=i) for i in range((end - start).days + 1))
    starts = tuple(local_midnight_utc(d, tz) for d in days)
    return LocalDays(days, starts, local_midnight_utc(end + timedelta(days=1), tz))


def _frame(records: list, columns: list[str]) -> pd.DataFrame:
    import pandas as pd  # here, not at the top: the command line's import never draws a page

    if not records:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([asdict(r) for r in records], columns=columns)


class StatisticsService:
    """What the Statistics page and ``GET /api/statistics`` ask for; the clock is injected."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._repo = StatisticsRepository(db)
        self._tickets = TicketStatistics(db)
        self._clock = clock

    zone_choices = staticmethod(zone_choices)

    def today(self, tz_name: str) -> date:
        """Today's date in ``tz_name``. Raises ValueError: unknown zone."""
        return local_day(self._clock(), zone(tz_name))

    def resets(self, limit: int = 20) -> list[Baseline]:
        """The resets, newest first (when, by whom, the counts they started from)."""
        return self._repo.baselines(limit)

    def reset(self, actor: str | None = None) -> Baseline:
        """Start Create, Update and Total again from now; the log and the rollup are untouched."""
        return self._repo.add_baseline(self._clock(), actor)

    def counters(self, tz_name: str) -> dict[CounterName, Counter]:
        """Create, Update and Total: since the last reset, today and yesterday in ``tz_name``.

        Raises:
            ValueError: unknown zone.
        """
        return self._counters(zone(tz_name), next(iter(self._repo.baselines(1)), None))

    def _counters(self, tz: ZoneInfo, latest: Baseline | None) -> dict[CounterName, Counter]:
        today = local_day(self._clock(), tz)
        yesterday_at, today_at, tomorrow_at = (
            local_midnight_utc(today + timedelta(days=n), tz) for n in (-1, 0, 1)
        )
        ever, now, before = self._repo.counts([(today_at, tomorrow_at), (yesterday_at, today_at)])
        since = (
            ever.created - (latest.created if latest else 0),
            ever.updated - (latest.updated if latest else 0),
        )
        numbers = {
            CounterName.CREATE: (since[0], now.created, before.created, ever.created),
            CounterName.UPDATE: (since[1], now.updated, before.updated, ever.updated),
            CounterName.TOTAL: (
                since[0] + since[1],
                now.created + now.updated,
                before.created + before.updated,
                ever.created + ever.updated,
            ),
        }
        at = latest.reset_at if latest else None
        return {
            name: Counter(name, COUNTERS[name], s, t, y, at, a, COUNTER_HELP[name])
            for name, (s, t, y, a) in numbers.items()
        }

    def daily(self, start: date, end: date, tz_name: str) -> list[DayCounts]:
        """Every day from ``start`` to ``end`` (inclusive, in ``tz_name``), zeros included.

        Raises:
            ValueError: unknown zone, or an empty or too long range.
        """
        local = _range(start, end, zone(tz_name))
        ever = self._repo.counts([])[0]
        return self._repo.daily(local, ever.created + ever.updated)

    def page(self, tz_name: str, start: date, end: date) -> StatisticsPage:
        """The whole Statistics page for ``tz_name`` and the days ``start`` to ``end``.

        Every click on the page reruns it, and its eleven queries were most of
        a rerun's server time at 1,000,000 log rows; the answer changes only
        with a write or a new local day. So the last few answers are kept,
        keyed on the database's write count (``Database.writes``, read before
        the queries) and today's date in the zone, and only the ageing of open
        tickets, which moves with the clock, is read again on every call.

        Raises:
            ValueError: unknown zone, or an empty or too long range.
        """
        import pandas as pd  # see _frame

        tz = zone(tz_name)
        key = ("statistics_page", tz_name, start, end, local_day(self._clock(), tz))
        kept = self._db.kept(key, lambda: self._read_page(tz_name, tz, start, end, key))
        ageing = self._tickets.open_ageing(self._clock())
        return replace(
            kept, ageing=pd.DataFrame({"age": list(AGE_LABELS), "tickets": list(ageing)})
        )

    def drawn(self, page: StatisticsPage, part: Hashable, draw: Callable[[], T]) -> T:
        """``draw()``'s answer (a chart built from ``page``), kept with ``page``'s answer.

        Building the page's nine plotly figures and their CSV was most of a rerun
        once the queries were kept (~25 of ~45 ms at 1,000,000 log rows,
        bench/bench_reruns.py). Kept under the answer's version and ``part``
        (the chart, and for the ageing, which moves with the clock, its counts)
        until the next write, so an unchanged rerun draws what it drew before;
        a new answer has a new version and is drawn again. Shared by every
        session: what ``draw`` returns is never changed afterwards.
        """
        return self._db.kept(("statistics_drawn", page.version, part), draw)

    def _read_page(
        self, tz_name: str, tz: ZoneInfo, start: date, end: date, key: tuple
    ) -> StatisticsPage:
        """The page read from the store, its ageing left to ``page``."""
        import pandas as pd  # see _frame

        # Before the queries: a write committed during them gives the next read
        # another version (the kept answer then misses too), never this one.
        version = (*key, self._db.writes)
        local = _range(start, end, tz)
        lo, hi = local.start, local.end
        latest = next(iter(self._repo.baselines(1)), None)
        counters = self._counters(tz, latest)
        daily = self._repo.daily(local, counters[CounterName.TOTAL].all_time)
        kinds = self._repo.failures_by_kind(lo, hi)
        return StatisticsPage(
            time_zone=tz_name,
            start=start,
            end=end,
            counters=counters,
            last_reset=latest,
            daily=_frame(daily, list(DayCounts.__dataclass_fields__)),
            kinds=_frame(kinds, ["kind", "failed", "retried"]),
            rate_limited=sum(d.rate_limited for d in daily),
            rate_limited_wait_s=sum(d.waited_s for d in daily),
            latency=_frame(self._repo.latency_daily(local), ["day", "calls", "p50_ms", "p95_ms"]),
            linked=_frame(
                self._tickets.linked_daily(local),
                ["day", "linked", "resolved", "open_at_end"],
            ),
            detection_to_ticket=self._tickets.detection_to_ticket(lo, hi),
            ticket_to_resolution=self._tickets.ticket_to_resolution(lo, hi),
            ageing=pd.DataFrame(),
            by_table=_frame(self._tickets.by_table(), ["datastore", "table", "tickets"]),
            share=self._tickets.active_share(),
            version=version,
        )
