"""Fill an empty database with the committed demo anomalies, moved to recent dates.

The file is dated around a fixed anchor; its comments and history run up to
two days past its newest detection. Shifting by the newest detection alone
put those in the future, so an anomaly whose story would end after "now" has
its story compressed to fit between its detection and now (order kept).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from lib.anomalies.changes import Actor, AnomalyChanges, Mode
from lib.anomalies.importing import ImportResult, ParsedAnomaly, parse_records
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database

DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo_anomalies.json"
NEWEST_AGE = timedelta(hours=1)  # the newest demo anomaly is an hour old


def seed_demo_if_empty(db: Database, now: datetime, path: Path = DEMO_FILE) -> ImportResult | None:
    """Load the demo anomalies when the database has none; return what was loaded."""
    if AnomalyRepository(db).count() > 0:
        return None
    raw = json.loads(path.read_text())
    moved = shift_into_past(parse_records(raw["anomalies"]), now)
    changes = AnomalyChanges(db, lambda: now)
    return changes.import_parsed(moved, actor=Actor.automation(), mode=Mode.AUTOMATIC)


def shift_into_past(items: list[ParsedAnomaly], now: datetime) -> list[ParsedAnomaly]:
    """Move the set so the newest anomaly is an hour old and nothing is dated after ``now``."""
    newest = max(p.anomaly.detected_at for p in items)
    shift = timedelta(seconds=int((now - NEWEST_AGE - newest).total_seconds()))
    return [_fit(_moved(p, shift), now) for p in items]


def _moved(p: ParsedAnomaly, shift: timedelta) -> ParsedAnomaly:
    return replace(
        p,
        anomaly=replace(p.anomaly, detected_at=p.anomaly.detected_at + shift),
        comments=tuple(replace(c, created_at=c.created_at + shift) for c in p.comments),
        history=tuple(replace(h, changed_at=h.changed_at + shift) for h in p.history),
    )


def _fit(p: ParsedAnomaly, now: datetime) -> ParsedAnomaly:
    """Compress the anomaly's comments and history into [detected, now] when they overrun."""
    start = p.anomaly.detected_at
    last = max(
        [c.created_at for c in p.comments] + [h.changed_at for h in p.history], default=start
    )
    if last <= now:
        return p
    span, room = last - start, max(now - start, timedelta(0))

    def squeeze(t: datetime) -> datetime:
        if span <= timedelta(0) or t <= start:
            return min(t, now)
        return start + timedelta(seconds=int((t - start) / span * room.total_seconds()))

    return replace(
        p,
        comments=tuple(replace(c, created_at=squeeze(c.created_at)) for c in p.comments),
        history=tuple(replace(h, changed_at=squeeze(h.changed_at)) for h in p.history),
    )
