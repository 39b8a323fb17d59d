"""The Statistics page's SQL over linked tickets: created vs resolved, durations, ageing, tables.

Decisions, and why:

- These read ``ticket_links`` and ``anomalies``, which the log's cleanup never
  touches, so they outlive the log like the sync rollup does.
- "Resolved" is a linked ticket whose Jira status category is ``done``, as
  the last refresh read it. The store keeps no resolution date yet, so a
  resolved ticket's time is its ``last_synced_at`` (the refresh that read it
  as done): an upper bound, said so on the page.
- A ticket counts while it is linked (``unlinked_at`` empty); the detection
  to first ticket time counts every anomaly's first link, unlinked or not
  (the ticket was made then).
- Distributions come back binned (a dozen fixed bins from under an hour to
  over 30 days) with exact percentiles from ``quantile_cont``: the page needs
  no row per anomaly, whatever the number of anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lib.store.db import Database
from lib.store.statistics import DAYS_CTE, LocalDays

# Bin edges in hours, and their labels.
HOUR_EDGES = (0, 1, 2, 4, 8, 12, 24, 48, 72, 168, 336, 720)
HOUR_LABELS = (
    "< 1 h",
    "1-2 h",
    "2-4 h",
    "4-8 h",
    "8-12 h",
    "12-24 h",
    "1-2 d",
    "2-3 d",
    "3-7 d",
    "1-2 wk",
    "2-4 wk",
    "> 30 d",
)
AGE_EDGES = (0, 7, 30, 90)
AGE_LABELS = ("0-7 days", "7-30 days", "30-90 days", "> 90 days")
QUANTILES = (0.5, 0.85, 0.95)


@dataclass(frozen=True)
class LinkedDay:
    day: date
    linked: int  # tickets linked that day (made or linked existing)
    resolved: int  # linked tickets that reached Done that day (as last read)
    open_at_end: int  # linked, not Done, not unlinked at the end of the day


@dataclass(frozen=True)
class Distribution:
    """Durations in hours, binned by ``HOUR_EDGES``, with exact percentiles."""

    counts: tuple[int, ...]  # one per HOUR_LABELS
    quantiles: tuple[float | None, ...]  # hours at QUANTILES (None without data)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class TableTickets:
    datastore: str
    table: str
    tickets: int


@dataclass(frozen=True)
class TicketShare:
    active_anomalies: int
    with_ticket: int

    @property
    def share(self) -> float | None:
        return self.with_ticket / self.active_anomalies if self.active_anomalies else None


_RESOLVED = "status_category = 'done'"
_LINKED_DAILY_SQL = f"""
    WITH {DAYS_CTE},
    events AS (
        SELECT time_bucket(INTERVAL 15 MINUTE, linked_at) AS slot, 1 AS linked, 0 AS resolved,
               1 AS opened, 0 AS closed FROM ticket_links WHERE linked_at < ?
        UNION ALL
        SELECT time_bucket(INTERVAL 15 MINUTE, last_synced_at), 0, 1, 0, 1 FROM ticket_links
        WHERE {_RESOLVED} AND unlinked_at IS NULL AND last_synced_at < ?
        UNION ALL
        SELECT time_bucket(INTERVAL 15 MINUTE, unlinked_at), 0, 0, 0, 1 FROM ticket_links
        WHERE unlinked_at IS NOT NULL AND unlinked_at < ?),
    slots AS (
        SELECT slot, sum(linked) AS linked, sum(resolved) AS resolved,
               sum(opened) - sum(closed) AS delta FROM events GROUP BY slot),
    before AS (SELECT coalesce(sum(delta), 0) AS open_before FROM slots WHERE slot < ?),
    within AS (SELECT * FROM slots WHERE slot >= ?),
    per_day AS (
        SELECT d.day, sum(linked) AS linked, sum(resolved) AS resolved, sum(delta) AS delta
        FROM within s ASOF JOIN days d ON s.slot >= d.day_start GROUP BY d.day)
    SELECT d.day, coalesce(p.linked, 0), coalesce(p.resolved, 0),
           (SELECT open_before FROM before) + sum(coalesce(p.delta, 0)) OVER (ORDER BY d.day)
    FROM days d LEFT JOIN per_day p USING (day) ORDER BY d.day
"""

_FIRST_TICKET_HOURS = """
    SELECT greatest(epoch(f.first_at) - epoch(a.detected_at), 0) / 3600.0 AS hours
    FROM (SELECT anomaly_id, min(linked_at) AS first_at FROM ticket_links GROUP BY anomaly_id
          HAVING min(linked_at) >= ? AND min(linked_at) < ?) f
    JOIN anomalies a ON a.id = f.anomaly_id
"""

_RESOLUTION_HOURS = f"""
    SELECT greatest(epoch(last_synced_at) - epoch(linked_at), 0) / 3600.0 AS hours
    FROM ticket_links
    WHERE {_RESOLVED} AND unlinked_at IS NULL AND last_synced_at >= ? AND last_synced_at < ?
"""


def _binned(sql: str) -> str:
    cases = " ".join(
        f"WHEN hours < {edge} THEN {i - 1}" for i, edge in enumerate(HOUR_EDGES) if i > 0
    )
    quantiles = ", ".join(f"quantile_cont(hours, {q})" for q in QUANTILES)
    return (
        f"WITH d AS ({sql}), b AS (SELECT CASE {cases} ELSE {len(HOUR_EDGES) - 1} END AS bin,"
        " count(*) AS n FROM d GROUP BY bin)"
        f" SELECT (SELECT list(n ORDER BY bin) FROM b), (SELECT list(bin ORDER BY bin) FROM b),"
        f" {quantiles} FROM d"
    )


class TicketStatistics:
    """Linked tickets over time, how long they take, how old the open ones are, and where."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def linked_daily(self, local: LocalDays) -> list[LinkedDay]:
        """Per local day: tickets linked, resolved, and the open backlog at its end."""
        with self._db.read() as cur:
            rows = cur.execute(
                _LINKED_DAILY_SQL, [*local.params(), *[local.end] * 3, local.start, local.start]
            ).fetchall()
        return [LinkedDay(d, int(a), int(r), int(o)) for d, a, r, o in rows]

    def detection_to_ticket(self, lo: datetime, hi: datetime) -> Distribution:
        """Hours from detection to an anomaly's first ticket, for first tickets in [lo, hi)."""
        return self._distribution(_FIRST_TICKET_HOURS, [lo, hi])

    def ticket_to_resolution(self, lo: datetime, hi: datetime) -> Distribution:
        """Hours from linking to Done, for linked tickets read as done in [lo, hi)."""
        return self._distribution(_RESOLUTION_HOURS, [lo, hi])

    def _distribution(self, sql: str, params: list) -> Distribution:
        with self._db.read() as cur:
            counts, bins, *quantiles = cur.execute(_binned(sql), params).fetchone()
        found = dict(zip(bins or [], counts or [], strict=True))
        return Distribution(
            tuple(int(found.get(i, 0)) for i in range(len(HOUR_LABELS))),
            tuple(None if q is None else float(q) for q in quantiles),
        )

    def open_ageing(self, now: datetime) -> tuple[int, ...]:
        """Open linked tickets (not Done, not unlinked) by days since linking: 0-7 ... > 90."""
        cases = " ".join(
            f"WHEN age < {edge} THEN {i - 1}" for i, edge in enumerate(AGE_EDGES) if i > 0
        )
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT CASE {cases} ELSE {len(AGE_EDGES) - 1} END AS bucket, count(*)"
                " FROM (SELECT (epoch(?::TIMESTAMP) - epoch(linked_at)) / 86400.0 AS age"
                f" FROM ticket_links WHERE unlinked_at IS NULL"
                f" AND coalesce(status_category, '') <> 'done') GROUP BY bucket",
                [now],
            ).fetchall()
        found = dict(rows)
        return tuple(int(found.get(i, 0)) for i in range(len(AGE_LABELS)))

    def by_table(self, limit: int = 15) -> list[TableTickets]:
        """Linked tickets per datastore and table, largest first."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT a.datastore_name, a.container, count(*) AS n FROM ticket_links t"
                " JOIN anomalies a ON a.id = t.anomaly_id WHERE t.unlinked_at IS NULL"
                " GROUP BY ALL ORDER BY n DESC, a.datastore_name, a.container LIMIT ?",
                [int(limit)],
            ).fetchall()
        return [TableTickets(d, t, int(n)) for d, t, n in rows]

    def active_share(self) -> TicketShare:
        """Active anomalies, and how many of them have a linked ticket."""
        with self._db.read() as cur:
            total, linked = cur.execute(
                "SELECT count(*), count(l.anomaly_id) FROM anomalies a LEFT JOIN"
                " (SELECT DISTINCT anomaly_id FROM ticket_links WHERE unlinked_at IS NULL) l"
                " ON l.anomaly_id = a.id WHERE a.status = 'Active'"
            ).fetchone()
        return TicketShare(int(total), int(linked))
