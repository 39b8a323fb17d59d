import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from lib.store.anomalies import AnomalyNotFound, AnomalyRepository, InvalidTransition
from lib.store.db import Database
from lib.store.models import Anomaly, AnomalyFilter, ArchiveReason, FailedCheck, Status

NOW = datetime(2026, 11, 1, 12, 0, 0)


def make(
    ident,
    *,
    ds=(1, "Warehouse"),
    status="Active",
    reason=None,
    kind="record",
    container="ORDERS",
    fields=("ORDER_ID",),
    message="3 values in ORDER_ID are null",
    detected=NOW,
):
    return Anomaly(
        ident,
        ds[0],
        ds[1],
        container,
        fields,
        kind,
        status,
        reason,
        detected,
        "desc",
        5,
        ("finance",),
        (FailedCheck(10 + ident, "notNull", message),),
    )


@pytest.fixture
def repo(tmp_path):
    db = Database(tmp_path / "r.duckdb")
    yield AnomalyRepository(db)
    db.close()


@pytest.fixture
def store(tmp_path):
    db = Database(tmp_path / "s.duckdb")
    yield db, AnomalyRepository(db)
    db.close()


def test_upsert_inserts_then_updates_without_duplicating(repo):
    repo.upsert_many([make(1), make(2)], NOW)
    repo.upsert_many([make(1, container="CUSTOMERS", message="changed")], NOW)
    assert repo.count() == 2
    got = repo.get(1)
    assert got.container == "CUSTOMERS"
    assert got.failed_checks == (FailedCheck(11, "notNull", "changed"),)
    assert got.fields == ("ORDER_ID",) and got.tags == ("finance",)


def test_get_reads_every_failed_check_in_its_order_and_none_as_empty(repo):
    checks = (
        FailedCheck(30, "zeta", "first as stored"),
        FailedCheck(5, "alpha", "second"),
        FailedCheck(17, "notNull", "third"),
    )
    repo.upsert_many([replace(make(1), failed_checks=checks), make(2)], NOW)
    repo.upsert_many([replace(make(3), failed_checks=())], NOW)
    assert repo.get(1).failed_checks == checks  # the import's order, not the ids'
    assert repo.get(2).failed_checks == (
        FailedCheck(12, "notNull", "3 values in ORDER_ID are null"),
    )
    assert repo.get(3).failed_checks == ()
    assert repo.get(4) is None


def test_page_filters_sorts_and_counts(repo):
    repo.upsert_many(
        [
            make(1, ds=(1, "Warehouse"), status="Active", detected=NOW - timedelta(days=1)),
            make(2, ds=(2, "Billing"), status="Acknowledged", kind="shape", detected=NOW),
            make(
                3,
                ds=(1, "Warehouse"),
                status="Archived",
                reason="Resolved",
                container="PAYMENTS",
                message="Row count dropped by 40%",
                detected=NOW - timedelta(days=5),
            ),
        ],
        NOW,
    )
    page = repo.page(AnomalyFilter())
    assert [r["id"] for r in page.rows] == [2, 1, 3]
    assert page.status_counts == {"Active": 1, "Acknowledged": 1, "Archived": 1}
    assert [r["id"] for r in repo.page(AnomalyFilter(datastore_ids=(1,))).rows] == [1, 3]
    assert [r["id"] for r in repo.page(AnomalyFilter(anomaly_type="shape")).rows] == [2]
    assert [r["id"] for r in repo.page(AnomalyFilter(text="row COUNT")).rows] == [3]
    assert [r["id"] for r in repo.page(AnomalyFilter(text="payments")).rows] == [3]
    window = AnomalyFilter(detected_from=NOW - timedelta(days=2), detected_to=NOW)
    assert [r["id"] for r in repo.page(window).rows] == [1]
    only_active = repo.page(AnomalyFilter(statuses=("Active",)))
    assert only_active.total == 1
    # Counts per status ignore the status filter, so the page can show all three.
    assert only_active.status_counts == {"Active": 1, "Acknowledged": 1, "Archived": 1}
    assert [r["id"] for r in repo.page(AnomalyFilter(), sort="id", descending=False).rows] == [
        1,
        2,
        3,
    ]
    assert [r["id"] for r in repo.page(AnomalyFilter(), sort="id", limit=1, offset=1).rows] == [2]


def test_text_filter_takes_wildcards_literally(repo):
    repo.upsert_many([make(1, message="100% null"), make(2, message="all fine")], NOW)
    assert [r["id"] for r in repo.page(AnomalyFilter(text="%")).rows] == [1]
    assert repo.page(AnomalyFilter(text="'; DROP TABLE anomalies; --")).total == 0
    assert repo.count() == 2


def test_status_changes_are_recorded_and_checked(repo):
    repo.upsert_many([make(1)], NOW)
    repo.change_status(1, Status.ACKNOWLEDGED, None, "ana", NOW)
    repo.change_status(1, Status.ARCHIVED, ArchiveReason.DUPLICATE, "ben", NOW + timedelta(hours=1))
    assert repo.get(1).status_label == "Archived (Duplicate)"
    with pytest.raises(InvalidTransition, match="Cannot acknowledge"):
        repo.change_status(1, Status.ACKNOWLEDGED, None, "ana", NOW)
    with pytest.raises(InvalidTransition, match="needs a reason"):
        repo.change_status(1, Status.ARCHIVED, None, "ana", NOW)
    with pytest.raises(AnomalyNotFound):
        repo.change_status(99, Status.ACKNOWLEDGED, None, "ana", NOW)
    repo.change_status(1, Status.ACTIVE, None, "chloe", NOW + timedelta(hours=2))
    history = repo.history(1)
    assert [(h.changed_by, h.from_label, h.to_label) for h in history] == [
        ("ana", "Active", "Acknowledged"),
        ("ben", "Acknowledged", "Archived (Duplicate)"),
        ("chloe", "Archived (Duplicate)", "Active"),
    ]


def test_comments_are_stored_in_order_and_empty_ones_refused(repo):
    repo.upsert_many([make(1)], NOW)
    repo.add_comment(1, "ana", "first", NOW)
    repo.add_comment(1, "ben", "  second  ", NOW + timedelta(minutes=1))
    assert [(c.author, c.body) for c in repo.comments(1)] == [("ana", "first"), ("ben", "second")]
    with pytest.raises(ValueError, match="needs some text"):
        repo.add_comment(1, "ana", "   ", NOW)
    with pytest.raises(AnomalyNotFound):
        repo.add_comment(42, "ana", "hello", NOW)
    assert len(repo.comments(1)) == 2


def test_concurrent_writes_from_threads_all_land(repo):
    repo.upsert_many([make(1)], NOW)
    errors = []

    def write(n):
        try:
            for i in range(20):
                repo.add_comment(1, f"t{n}", f"c{i}", NOW)
                repo.get(1)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(repo.comments(1)) == 80


def test_statuses_of_known_anomalies_for_an_import_to_compare(store):
    db, repo = store
    repo.upsert_many([make(1), make(2, status="Archived", reason="Invalid")], NOW)
    with db.transaction() as cur:
        assert repo.statuses_in(cur, [1, 2, 3]) == {1: ("Active", None), 2: ("Archived", "Invalid")}
        assert repo.statuses_in(cur, []) == {}


def test_status_changes_in_bulk_keep_every_field_and_their_order(store):
    db, repo = store
    from lib.store.models import StatusChange

    repo.upsert_many([make(1), make(2)], NOW)
    changes = [
        StatusChange(0, 1, "import a.json", NOW, "Active", None, "Archived", "Resolved"),
        StatusChange(
            0,
            1,
            "import b.json",
            NOW + timedelta(seconds=1),
            "Archived",
            "Resolved",
            "Active",
            None,
        ),
        StatusChange(0, 2, "alice", NOW, None, None, "Acknowledged", None),
    ]
    with db.transaction() as cur:
        repo.add_status_changes_in(cur, changes)
        repo.add_status_changes_in(cur, [])
    got = repo.history(1) + repo.history(2)
    assert [
        (
            c.anomaly_id,
            c.changed_by,
            c.changed_at,
            c.from_status,
            c.from_reason,
            c.to_status,
            c.to_reason,
        )
        for c in got
    ] == [
        (
            c.anomaly_id,
            c.changed_by,
            c.changed_at,
            c.from_status,
            c.from_reason,
            c.to_status,
            c.to_reason,
        )
        for c in changes
    ]
    assert len({c.id for c in got}) == 3 and all(c.id > 0 for c in got)


def test_the_page_and_datastores_are_kept_until_the_next_write(repo):
    repo.upsert_many([make(1), make(2, ds=(2, "Billing"))], NOW)
    first = repo.page(AnomalyFilter(), limit=50)
    assert repo.datastores() == [(2, "Billing"), (1, "Warehouse")]
    first.rows[0]["status"] = "changed by a caller"  # each caller gets its own copy
    again = repo.page(AnomalyFilter(), limit=50)
    assert again.rows[0]["status"] == "Active" and again.status_counts["Active"] == 2
    repo.change_status(1, Status.ACKNOWLEDGED, None, "ana", NOW)  # seen at once
    page = repo.page(AnomalyFilter(), limit=50)
    assert {r["id"]: r["status"] for r in page.rows} == {1: "Acknowledged", 2: "Active"}
    assert page.status_counts["Acknowledged"] == 1
    repo.upsert_many([make(3, ds=(3, "Lake"))], NOW)
    assert repo.datastores() == [(2, "Billing"), (3, "Lake"), (1, "Warehouse")]
    assert repo.page(AnomalyFilter(), limit=50).total == 3
