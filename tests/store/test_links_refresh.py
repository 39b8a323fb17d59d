"""Which links the worker's periodic refresh reads next."""

from __future__ import annotations

from datetime import datetime, timedelta

from lib.jira.records import Issue
from lib.store.db import Database
from lib.store.links import LinkRepository

NOW = datetime(2026, 12, 4, 12, 0)


def _link(db: Database, key: str, status: str | None, linked_at: datetime) -> int:
    issue = Issue(key.split("-")[1], key, "s", status, None, None, None, (), f"http://j/{key}")
    with db.transaction() as cur:
        return LinkRepository(db).add_in(
            cur, anomaly_id=1, connection_id=0, issue=issue, created_by_us=True,
            actor="t", now=linked_at,
        ).id  # fmt: skip


def test_a_ticket_whose_status_was_never_read_is_due_at_once_and_first(tmp_path):
    db = Database(tmp_path / "links.duckdb")
    stale = _link(db, "DQ-1", "To Do", NOW - timedelta(hours=2))
    fresh = _link(db, "DQ-2", "To Do", NOW - timedelta(minutes=1))
    created = _link(db, "DQ-3", None, NOW)  # just created: the create answer has no status
    due = LinkRepository(db).due_for_refresh(0, NOW - timedelta(minutes=15), 10)
    assert [link.id for link in due] == [created, stale]
    assert fresh not in [link.id for link in due]
    db.close()
