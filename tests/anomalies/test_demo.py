"""Demo data lands in the recent past: nothing, not even a comment, is dated after now."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from lib.anomalies.demo import DEMO_FILE, seed_demo_if_empty, shift_into_past
from lib.anomalies.importing import parse_records
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import AnomalyFilter

NOWS = [datetime(2026, 11, 24, 12, 0), datetime(2031, 2, 28, 23, 59, 59), datetime(2025, 1, 1)]


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "demo.duckdb")
    yield database
    database.close()


@pytest.mark.parametrize("now", NOWS)
def test_no_anomaly_comment_or_history_time_is_after_now(db, now):
    assert seed_demo_if_empty(db, now).inserted >= 200
    repo = AnomalyRepository(db)
    ids = [r["id"] for r in repo.page(AnomalyFilter(), limit=1000).rows]
    detected = {i: repo.get(i).detected_at for i in ids}
    comments = [c for i in ids for c in repo.comments(i)]
    history = [h for i in ids for h in repo.history(i)]
    assert comments and history  # the demo set carries both
    assert max(detected.values()) <= now and (now - min(detected.values())).days <= 60
    assert now - max(detected.values()) <= timedelta(hours=2)
    assert max(c.created_at for c in comments) <= now
    assert max(h.changed_at for h in history) <= now
    # Nothing is dated before the anomaly it belongs to.
    assert all(c.created_at >= detected[c.anomaly_id] for c in comments)
    assert all(h.changed_at >= detected[h.anomaly_id] for h in history)


def test_the_shift_keeps_each_anomalys_story_in_order():
    items = parse_records(json.loads(DEMO_FILE.read_text())["anomalies"])
    now = NOWS[0]
    moved = {p.anomaly.id: p for p in shift_into_past(items, now)}
    # Without the fix the file's last events land up to two days after now.
    assert max(h.changed_at for p in moved.values() for h in p.history) <= now
    for p in items:
        original = [h.changed_at for h in p.history] + [c.created_at for c in p.comments]
        shifted = [h.changed_at for h in moved[p.anomaly.id].history] + [
            c.created_at for c in moved[p.anomaly.id].comments
        ]
        order = sorted(range(len(original)), key=lambda i: (original[i], i))
        assert [shifted[i] for i in order] == sorted(shifted)
