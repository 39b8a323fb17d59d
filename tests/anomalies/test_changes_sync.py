"""Anomaly changes end to end: import and a person's actions reach every linked ticket once.

Against the sandbox over real HTTP (the sync tests' harness). The update-limit
tests use a worker that reads the stored limit (10 per 60 s, the default), so
an automatic row past the limit is deferred a minute: far beyond these tests.
"""

from __future__ import annotations

import json

import pytest

from lib.anomalies.changes import AnomalyChanges, Mode
from lib.outbox.policy import UpdateLimit, save_update_limit
from lib.outbox.worker import SyncWorker
from lib.store.anomalies import AnomalyRepository
from lib.tickets.description import status_text
from tests.sync.conftest import CHANGE_TIME, DETECTED, make_anomaly


def changes_for(h) -> AnomalyChanges:
    return AnomalyChanges(h.db, h.change_clock, on_enqueued=h.engine.notify)


def link_tickets(h, anomaly_id: int, count: int) -> list[str]:
    """One ticket created for the anomaly, the others existing issues linked to it."""
    keys = [h.tickets.create_ticket(anomaly_id, summary="s", actor="alice").key]
    for n in range(count - 1):
        issue = h.state.create_issue("DQ", issuetype_id="10001", summary=f"existing {n}")
        h.tickets.link_existing(anomaly_id, issue.key, "alice")
        keys.append(issue.key)
    return keys


def export_of(anomaly, **over) -> bytes:
    """The anomaly as an import file would carry it."""
    row = {
        "id": anomaly.id,
        "datastore_id": anomaly.datastore_id,
        "datastore_name": anomaly.datastore_name,
        "container": anomaly.container,
        "fields": list(anomaly.fields),
        "type": anomaly.anomaly_type,
        "status": anomaly.status,
        "archive_reason": anomaly.archive_reason,
        "detected_at": DETECTED.isoformat() + "Z",
        "description": anomaly.description,
        "weight": anomaly.weight,
        "tags": list(anomaly.tags),
        "failed_checks": [c.__dict__ for c in anomaly.failed_checks],
    }
    row.update(over)
    return json.dumps([row]).encode()


def test_import_that_acknowledges_records_history_and_comments_each_ticket_once(harness):
    h = harness
    keys = link_tickets(h, 1, 2)
    before = len(h.log_rows())
    result = changes_for(h).import_file(
        "ack.json", export_of(make_anomaly(1), status="Acknowledged"), mode=Mode.MANUAL
    )
    assert (result.updated, result.status_changes, result.queued) == (1, 1, 2)

    history = AnomalyRepository(h.db).history(1)
    assert [(c.changed_by, c.from_status, c.to_status) for c in history] == [
        ("import ack.json", "Active", "Acknowledged")
    ]
    queued = h.log_rows()[before:]
    assert [(r.action, r.mode, r.actor, r.ticket_key) for r in queued] == [
        ("comment", "manual", "import ack.json", key) for key in keys
    ]
    h.drain()
    expected = status_text(CHANGE_TIME, "Acknowledged", None)
    for key in keys:
        assert h.comments(key).count(expected) == 1
        assert h.comments(key)[-1] == expected
    assert all(r.status == "ok" and r.attempts == 1 for r in h.log_rows()[before:])


def test_reimport_without_a_change_sends_nothing(cloud_harness):
    h = cloud_harness
    keys = link_tickets(h, 1, 2)
    changes = changes_for(h)
    data = export_of(make_anomaly(1), status="Archived", archive_reason="Invalid")
    assert changes.import_file("a.json", data, mode=Mode.MANUAL).status_changes == 1
    h.drain()
    rows, comments = len(h.log_rows()), [h.comments(k) for k in keys]

    again = changes.import_file("a.json", data, mode=Mode.MANUAL)
    assert (again.updated, again.status_changes, again.queued) == (1, 0, 0)
    assert len(h.log_rows()) == rows and h.engine.log.unfinished() == []
    assert len(AnomalyRepository(h.db).history(1)) == 1
    # Only the reason changes: that is a status change too, sent once.
    other = export_of(make_anomaly(1), status="Archived", archive_reason="Duplicate")
    assert changes.import_file("b.json", other, mode=Mode.MANUAL).status_changes == 1
    h.drain()
    assert [h.comments(k)[len(c) :] for k, c in zip(keys, comments)] == [
        [status_text(CHANGE_TIME, "Archived", "Duplicate")]
    ] * 2


def test_import_moves_between_any_statuses_and_new_anomalies_get_no_history(cloud_harness):
    h = cloud_harness
    changes = changes_for(h)
    changes.acknowledge(2, "alice", mode=Mode.MANUAL)
    fresh = json.loads(export_of(make_anomaly(3)))
    # Acknowledged -> Active is a reopen the workflow allows; Active -> Archived
    # and a new anomaly in the same file.
    rows = json.loads(export_of(make_anomaly(2), status="Active")) + fresh
    rows += json.loads(export_of(make_anomaly(1), status="Archived", archive_reason="Resolved"))
    result = changes.import_file("mix.json", json.dumps(rows).encode(), mode=Mode.MANUAL)
    assert (result.inserted, result.updated, result.status_changes) == (1, 2, 2)
    repo = AnomalyRepository(h.db)
    assert [c.to_status for c in repo.history(2)] == ["Acknowledged", "Active"]
    assert repo.history(1)[0].to_label == "Archived (Resolved)"
    assert repo.history(3) == []


def _four_quick_changes(changes: AnomalyChanges, mode: Mode) -> None:
    changes.acknowledge(1, "alice", mode=mode)
    changes.comment(1, "alice", "looking", mode=mode)
    changes.archive(1, "Resolved", "alice", mode=mode)
    changes.reopen(1, "alice", mode=mode)


def test_four_quick_manual_changes_to_three_tickets_are_never_deferred(cloud_harness):
    h = cloud_harness
    keys = link_tickets(h, 1, 3)
    save_update_limit(h.db, UpdateLimit(10, 60))
    worker = SyncWorker(h.engine, None, refresh_interval_s=0)  # the stored limit applies
    before = len(h.log_rows())
    _four_quick_changes(changes_for(h), Mode.MANUAL)
    comments = h.log_rows()[before:]
    assert len(comments) == 12 and {r.mode for r in comments} == {"manual"}
    # One row per issue per pass keeps each issue's changes in order: four passes
    # send all twelve, with no time passing for a deferral to expire.
    sent = [worker.run_once() for _ in range(4)]
    assert sent == [3, 3, 3, 3]
    rows = h.log_rows()[before:]
    assert [r.status for r in rows] == ["ok"] * 12
    for key in keys:
        assert h.comments(key)[-4:] == [
            status_text(CHANGE_TIME, "Acknowledged", None),
            "Comment from Anomaly Desk (alice): looking",
            status_text(CHANGE_TIME, "Archived", "Resolved"),
            status_text(CHANGE_TIME, "Active", None),
        ]


def test_automatic_changes_are_still_held_to_the_update_limit(cloud_harness):
    h = cloud_harness
    link_tickets(h, 1, 3)
    save_update_limit(h.db, UpdateLimit(10, 60))
    worker = SyncWorker(h.engine, None, refresh_interval_s=0)
    before = len(h.log_rows())
    _four_quick_changes(changes_for(h), Mode.AUTOMATIC)
    for _ in range(5):
        worker.run_once()
    rows = h.log_rows()[before:]
    assert len(rows) == 12
    assert {r.mode for r in rows} == {"automatic"}
    assert [r.status for r in rows].count("ok") == 10
    deferred = [r for r in rows if r.status == "deferred"]
    assert len(deferred) == 2
    first_sent = min(r.sent_at for r in rows if r.sent_at)
    assert all((r.next_attempt_at - first_sent).total_seconds() >= 59 for r in deferred)


def test_a_mode_that_is_neither_is_refused_and_changes_nothing(cloud_harness):
    h = cloud_harness
    link_tickets(h, 1, 2)
    before = len(h.log_rows())
    with pytest.raises(ValueError, match="'sometimes' is not a mode"):
        changes_for(h).acknowledge(1, "alice", mode="sometimes")
    assert AnomalyRepository(h.db).get(1).status == "Active"
    assert AnomalyRepository(h.db).history(1) == []
    assert h.log_rows()[before:] == []


def test_import_queues_only_for_active_links_of_the_active_connection(cloud_harness):
    h = cloud_harness
    first = link_tickets(h, 1, 2)[0]
    h.tickets.unlink(h.tickets.links_for(1)[1].id, "alice")
    other_connection = AnomalyChanges(h.db, h.change_clock, active_connection=lambda: 2)
    ack = export_of(make_anomaly(1), status="Acknowledged")
    assert other_connection.import_file("a.json", ack, mode=Mode.MANUAL).queued == 0
    reopen = export_of(make_anomaly(1), status="Active")
    this_connection = AnomalyChanges(h.db, h.change_clock, active_connection=lambda: 1)
    result = this_connection.import_file("b.json", reopen, mode=Mode.MANUAL)
    assert (result.status_changes, result.queued) == (1, 1)
    assert [r.ticket_key for r in h.engine.log.unfinished()] == [first]
