"""The benchmarks' data builder builds what the product would: a built database takes new rows."""

from datetime import datetime

from bench.build_data import build
from lib.store.anomalies import AnomalyRepository, search_text
from lib.store.db import Database
from lib.store.models import AnomalyFilter, Status
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 11, 24, 12, 0)


def test_a_built_database_takes_new_rows_from_the_sequences(tmp_path):
    db = Database(tmp_path / "built.duckdb")
    build(db, anomalies=300, log_rows=1_000, now=NOW, links=20)
    with db.transaction() as cur:
        log_id = SyncLog.insert_in(
            cur, now=NOW, action="comment", mode="manual", status="pending", anomaly_id=1
        )
        link_id = cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " created_by_us, linked_at, linked_by) VALUES (2, 1, '9', 'DQ-9', 'u', TRUE, ?, 'a')"
            " RETURNING id",
            [NOW],
        ).fetchone()[0]
    first = AnomalyRepository(db).page(AnomalyFilter(statuses=("Active",)), limit=1).rows[0]
    change = AnomalyRepository(db).change_status(first["id"], Status.ACKNOWLEDGED, None, "a", NOW)
    assert (log_id, link_id, change.id) == (1_001, 21, 1)
    db.close()


def test_built_anomalies_read_back_as_the_repository_writes_them(tmp_path):
    db = Database(tmp_path / "built.duckdb")
    build(db, anomalies=200, log_rows=0, now=NOW)
    repo = AnomalyRepository(db)
    with db.read() as cur:
        stored = dict(cur.execute("SELECT id, search_text FROM anomalies").fetchall())
    assert len(stored) == 200
    for ident in (1, 77, 200):
        anomaly = repo.get(ident)
        assert 1 <= len(anomaly.failed_checks) <= 3
        assert stored[ident] == search_text(anomaly)
    db.close()
