"""Regression: the reporting reads give exactly what they gave before the SQL moved to the store.

``reporting_golden.json`` was written by the functions as they were before the
move (``lib/reporting/{log_queries,statistics,retention}.py`` with their own
SQL), over one fixed data set: several time zones (DST changes, half-hour and
45-minute offsets), ranges, counter resets, every log filter and the cleanup.
Regenerate it only for an intended change: ``python -m tests.reporting.test_reporting_regression``.

Statistics now read the rollup of migration 009, which this data set gets the
way an existing log does (the migration's backfill). Their recorded numbers
are the old queries' over the log: per-day series in every zone and range,
and the counters before any reset, must come out the same. Resets changed
meaning (one baseline for all counters, not a cut-off per counter), so the
counters after resets are compared with the old counting SQL in
``test_rollup_matches_log.py`` instead; detection-to-ticket now reads ticket
links, so the old per-day medians are not compared.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from lib.store.db import Database
from lib.store.stats_rollup import rebuild_from_log_in

GOLDEN = Path(__file__).with_name("reporting_golden.json")
START = datetime(2026, 3, 1, 0, 0)  # US DST starts Mar 8, EU DST Mar 29
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
)
NOWS = (datetime(2026, 3, 8, 6, 30), datetime(2026, 3, 29, 1, 15), datetime(2026, 4, 9, 23, 50))
RANGES = (
    (date(2026, 3, 1), date(2026, 4, 10)),
    (date(2026, 3, 28), date(2026, 3, 30)),
    (date(2026, 3, 8), date(2026, 3, 8)),
)
RESETS = (
    ("create", datetime(2026, 3, 20, 10, 0)),
    ("update", datetime(2026, 3, 29, 0, 30)),
    ("total", datetime(2026, 4, 5, 12, 0)),
)
ACTIONS = ("create", "update", "comment", "link", "unlink", "refresh")
STATUSES = ("ok", "ok", "ok", "failed", "pending", "sending", "deferred")


def build(path: Path) -> Database:
    """The fixed data set: 400 log rows over 41 days and 30 anomalies."""
    rng = random.Random(20260301)
    rows = []
    for i in range(1, 401):
        action = ACTIONS[rng.randrange(len(ACTIONS))]
        status = STATUSES[rng.randrange(len(STATUSES))]
        anomaly = rng.randrange(1, 31) if rng.random() < 0.9 else None
        key = f"DQ-{rng.randrange(1, 60)}" if rng.random() < 0.7 else None
        error = None
        if status == "failed":
            error = rng.choice(
                ["HTTP 400 token=abc123 refused", "timeout after 30 s", "100% broken_field"]
            )
        rows.append(
            {
                "id": i,
                "created_at": START + timedelta(minutes=rng.randrange(0, 41 * 24 * 60)),
                "action": action,
                "mode": "manual" if rng.random() < 0.3 else "automatic",
                "status": status,
                "anomaly_id": anomaly,
                "ticket_id": str(10000 + i) if key else None,
                "ticket_key": key,
                "ticket_url": f"https://jira.example/browse/{key}" if key else None,
                "error": error,
                "request_json": json.dumps({"summary": f"row {i}", "token": "s3cret"}),
                "response_json": "not json: Bearer abc.def" if i % 7 == 0 else None,
                "attempts": rng.randrange(0, 4),
                "next_attempt_at": None,
                "permanent": status == "failed" and rng.random() < 0.5,
            }
        )
    # Ids in time order, as the outbox writes them (the log pages by id).
    rows.sort(key=lambda r: r["created_at"])
    for new_id, row in enumerate(rows, start=1):
        row["id"] = new_id
    db = Database(path)
    frame = pd.DataFrame(rows)
    with db.transaction() as cur:
        cur.register("incoming_log", frame)
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming_log")
        cur.unregister("incoming_log")
        rebuild_from_log_in(cur)  # what migration 009 does for a log that exists
        for ident in range(1, 31):
            detected = START - timedelta(hours=rng.randrange(1, 200))
            cur.execute(
                "INSERT INTO anomalies VALUES (?, 1, 'W', 'T', [], 'shape', 'Active', NULL, ?,"
                " '', 1, [], '', ?)",
                [ident, detected, detected],
            )
    return db


def plain(value):
    """JSON-able, order-preserving form of the API's records."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, bytes):
        return value.decode()
    return value


LOG_FILTERS = (
    {},
    {"types": ("Manual",)},
    {"types": ("Automatic", "Manual")},
    {"actions": ("create", "comment")},
    {"statuses": ("Pending",)},
    {"statuses": ("Failed", "Deferred")},
    {"start": datetime(2026, 3, 10), "end": datetime(2026, 3, 12)},
    {"text": "DQ-1"},
    {"text": "7"},
    {"text": "100%"},
    {"text": "broken_"},
    {"types": ("Automatic",), "actions": ("update",), "statuses": ("Ok",), "text": "dq"},
)


# -- the calls under test (the only part that follows the API) ------------------------


def reporting_results(db: Database) -> dict:
    from lib.reporting import retention
    from lib.reporting.log_service import LogFilter, LogService
    from lib.reporting.statistics import StatisticsService

    moment = [NOWS[0]]
    stats = StatisticsService(db, clock=lambda: moment[0])
    log = LogService(db, clock=lambda: moment[0], retry=lambda log_id: None)
    out: dict = {"counters": [], "daily": [], "log": [], "details": []}
    for tz in ZONES:
        for now in NOWS:
            moment[0] = now
            out["counters"].append(counters_seen(stats.counters(tz)))
    for tz in ZONES:
        for start, end in RANGES:
            out["daily"].append(days_seen(stats.daily(start, end, tz)))
    for spec in LOG_FILTERS:
        flt = LogFilter(**spec)
        pages = [plain(log.page(flt, n, size=40)) for n in (1, 2, 9)]
        export = log.export_csv(flt, cap=25)
        out["log"].append({"pages": pages, "csv": plain(export.data), "matching": export.matching})
    for log_id in (1, 7, 14, 200, 999):
        out["details"].append(plain(log.details(log_id)))
    out["retention_before"] = plain(log.retention())
    out["saved"] = plain(log.save_retention("60", 20))
    moment[0] = datetime(2026, 4, 11, 0, 0)
    out["cleanup"] = plain(log.clean_up_now())
    out["due_again"] = plain(retention.cleanup_if_due(db, datetime(2026, 4, 11, 12, 0)))
    out["due_next_day"] = plain(retention.cleanup_if_due(db, datetime(2026, 4, 12, 0, 0)))
    with db.read() as cur:
        out["left"] = [r[0] for r in cur.execute("SELECT id FROM sync_log ORDER BY id").fetchall()]
    return out


DAY_FIELDS = ("day", "created", "updated", "failed", "ok", "running_total")


def counters_seen(found) -> dict:
    """What a counter shows, in the recorded shape (before any reset: since reset = all)."""
    return {
        str(name): {k: c[k] for k in ("total", "today", "yesterday")}
        for name, c in plain(found).items()
    }


def days_seen(days) -> list[dict]:
    return [{k: v for k, v in plain(d).items() if k in DAY_FIELDS} for d in days]


def test_reporting_results_match_the_recorded_ones(tmp_path):
    expected = json.loads(GOLDEN.read_text())
    found = plain(reporting_results(build(tmp_path / "golden.duckdb")))
    assert len(found["left"]) < 400  # the cleanup removed something
    # The recorded counters before any reset (the first zones x nows), as the page shows them.
    recorded = [counters_seen(c) for c in expected["counters"][: len(ZONES) * len(NOWS)]]
    assert found["counters"] == recorded
    assert found["daily"] == [[days_seen_plain(d) for d in day] for day in expected["daily"]]
    assert sum(d["created"] for day in found["daily"] for d in day) > 0
    for part in expected:
        if part not in ("counters", "daily", "first"):
            assert recorded_keys(found[part], expected[part]) == expected[part], part


def recorded_keys(found, expected):
    """``found`` with only the keys the golden file has: fields added since may be new."""
    if isinstance(found, dict) and isinstance(expected, dict):
        return {k: recorded_keys(v, expected[k]) for k, v in found.items() if k in expected}
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        return [recorded_keys(f, e) for f, e in zip(found, expected, strict=True)]
    return found


def days_seen_plain(recorded: dict) -> dict:
    return {k: v for k, v in recorded.items() if k in DAY_FIELDS}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = plain(reporting_results(build(Path(tmp) / "golden.duckdb")))
    GOLDEN.write_text(json.dumps(result, indent=None, sort_keys=False) + "\n")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)")
