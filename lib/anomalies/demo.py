"""Fill an empty database with the committed demo anomalies, moved to recent dates."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from lib.anomalies.importing import ImportResult, import_parsed, parse_records
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database

DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo_anomalies.json"


def seed_demo_if_empty(db: Database, now: datetime, path: Path = DEMO_FILE) -> ImportResult | None:
    """Load the demo anomalies when the database has none; return what was loaded."""
    if AnomalyRepository(db).count() > 0:
        return None
    raw = json.loads(path.read_text())
    items = parse_records(raw["anomalies"])
    # The file is dated around a fixed anchor: shift everything so the newest
    # anomaly is an hour old and the set spans the last 60 days.
    newest = max(p.anomaly.detected_at for p in items)
    shift = now - newest - timedelta(hours=1)
    shift = timedelta(seconds=int(shift.total_seconds()))
    moved = [
        replace(
            p,
            anomaly=replace(p.anomaly, detected_at=p.anomaly.detected_at + shift),
            comments=tuple(replace(c, created_at=c.created_at + shift) for c in p.comments),
            history=tuple(replace(h, changed_at=h.changed_at + shift) for h in p.history),
        )
        for p in items
    ]
    return import_parsed(db, moved, now)
