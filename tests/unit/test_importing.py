import io
import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lib.anomalies.demo import seed_demo_if_empty
from lib.anomalies.importing import ImportRefused, import_file
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import AnomalyFilter

NOW = datetime(2026, 11, 24, 12, 0)
CHECKS = [{"check_id": 7, "rule_type": "notNull", "message": "5 values in EMAIL are null"}]


def record(ident, **over):
    base = {
        "id": ident,
        "datastore_id": 1,
        "datastore_name": "Warehouse",
        "container": "CUSTOMERS",
        "fields": ["EMAIL"],
        "type": "record",
        "status": "Active",
        "detected_at": "2026-11-20T08:00:00Z",
        "failed_checks": CHECKS,
        "description": "d",
        "weight": 3,
        "tags": ["pii"],
    }
    base.update(over)
    return base


def csv_bytes(rows):
    header = "id,datastore_id,datastore_name,container,fields,type,status,archive_reason,detected_at,failed_checks\n"
    lines = [
        ",".join(
            [
                str(r[0]),
                "1",
                "Warehouse",
                "ORDERS",
                '"A,B"',
                r[1],
                r[2],
                r[3],
                r[4],
                '"' + json.dumps(CHECKS).replace('"', '""') + '"',
            ]
        )
        for r in rows
    ]
    return (header + "\n".join(lines) + "\n").encode()


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "i.duckdb")
    yield database
    database.close()


def test_json_import_inserts_then_updates_same_ids(db):
    result = import_file(db, "a.json", json.dumps([record(1), record(2)]).encode(), NOW)
    assert (result.inserted, result.updated) == (2, 0)
    again = import_file(
        db, "a.json", json.dumps({"anomalies": [record(2, container="NEW")]}).encode(), NOW
    )
    assert (again.inserted, again.updated) == (0, 1)
    repo = AnomalyRepository(db)
    assert repo.count() == 2 and repo.get(2).container == "NEW"
    assert repo.get(1).detected_at == datetime(2026, 11, 20, 8, 0)


def test_csv_import_reads_lists_and_json_checks(db):
    data = csv_bytes([(1, "shape", "Archived", "Resolved", "2026-11-01T00:00:00+02:00")])
    import_file(db, "x.csv", data, NOW)
    got = AnomalyRepository(db).get(1)
    assert got.fields == ("A", "B") and got.status_label == "Archived (Resolved)"
    assert got.detected_at == datetime(2026, 10, 31, 22, 0)
    assert got.failed_checks[0].message == "5 values in EMAIL are null"


def test_parquet_import(db):
    rows = [record(1, fields="EMAIL,PHONE", failed_checks=json.dumps(CHECKS), tags="pii")]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    import_file(db, "x.parquet", buf.getvalue(), NOW)
    assert AnomalyRepository(db).get(1).fields == ("EMAIL", "PHONE")


@pytest.mark.parametrize(
    "rows, expected",
    [
        (
            [record(1, detected_at="yesterday")],
            "row 2 (id 1): detected_at 'yesterday' is not an ISO 8601",
        ),
        ([record(1, status="Closed")], "status 'Closed' is not one of"),
        ([record(1), record(1)], "row 3 (id 1): id 1 already appears in row 2"),
        ([record("abc")], "id must be a whole number, got 'abc'"),
        ([record(1, weight="heavy")], "weight must be a whole number"),
        ([record(1, type="column")], "type 'column' is not one of: shape, record"),
        ([record(1, status="Archived")], "needs archive_reason"),
        ([record(1, failed_checks=[])], "failed_checks must be a non-empty list"),
        ([record(1, fields=[1, 2])], "fields must be a list of text"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(db, rows, expected):
    import_file(db, "seed.json", json.dumps([record(50)]).encode(), NOW)
    with pytest.raises(ImportRefused) as refused:
        import_file(db, "bad.json", json.dumps([record(60)] + rows).encode(), NOW)
    assert any(expected in p for p in refused.value.problems), refused.value.problems
    assert "nothing was changed" in str(refused.value)
    repo = AnomalyRepository(db)
    assert repo.count() == 1 and repo.get(60) is None


def test_every_bad_row_is_reported_not_just_the_first(db):
    rows = [record(1, status="Nope"), record(2), record(3, detected_at="soon")]
    with pytest.raises(ImportRefused) as refused:
        import_file(db, "bad.json", json.dumps(rows).encode(), NOW)
    assert [p.split(":")[0] for p in refused.value.problems] == ["row 1 (id 1)", "row 3 (id 3)"]


def test_missing_columns_and_unreadable_files_are_refused(db):
    with pytest.raises(ImportRefused, match="Missing required column\\(s\\): status"):
        bad = [{k: v for k, v in record(1).items() if k != "status"}]
        import_file(db, "m.json", json.dumps(bad).encode(), NOW)
    with pytest.raises(ImportRefused, match="cannot be read as JSON"):
        import_file(db, "m.json", b"{not json", NOW)
    with pytest.raises(ImportRefused, match="cannot be read as PARQUET"):
        import_file(db, "m.parquet", b"PAR1 nonsense", NOW)
    with pytest.raises(ImportRefused, match="not a CSV, JSON or Parquet"):
        import_file(db, "m.xlsx", b"", NOW)
    with pytest.raises(ImportRefused, match="holds no anomalies"):
        import_file(db, "m.csv", b"id,status\n", NOW)
    assert AnomalyRepository(db).count() == 0


def test_demo_data_is_rich_and_recent(db):
    result = seed_demo_if_empty(db, NOW)
    assert result.inserted >= 200
    repo = AnomalyRepository(db)
    page = repo.page(AnomalyFilter(), limit=1000)
    assert all(page.status_counts[s] > 0 for s in ("Active", "Acknowledged", "Archived"))
    assert len(repo.datastores()) >= 3
    assert {r["anomaly_type"] for r in page.rows} == {"shape", "record"}
    reasons = {r["archive_reason"] for r in page.rows if r["status"] == "Archived"}
    assert reasons == {"Resolved", "Invalid", "Duplicate", "Discarded"}
    times = [r["detected_at"] for r in page.rows]
    assert max(times) <= NOW and (NOW - min(times)).days <= 60
    assert (NOW - max(times)).total_seconds() <= 2 * 3600
    assert seed_demo_if_empty(db, NOW) is None  # not twice


def test_status_moves_only_for_known_anomalies_whose_status_or_reason_changes():
    from lib.anomalies.changes import status_moves
    from lib.anomalies.importing import parse_records

    items = parse_records(
        [
            record(1, status="Acknowledged"),
            record(2),
            record(3, status="Archived", archive_reason="Invalid"),
            record(4, status="Archived", archive_reason="Resolved"),
            record(5, status="Archived", archive_reason="Resolved"),
        ]
    )
    before = {
        1: ("Active", None),
        2: ("Active", None),
        3: ("Archived", "Resolved"),
        5: ("Archived", "Resolved"),
    }  # 4 is new
    moves = status_moves(before, items, "import f.json", NOW)
    assert [
        (m.anomaly_id, m.from_label, m.to_label, m.changed_by, m.changed_at) for m in moves
    ] == [
        (1, "Active", "Acknowledged", "import f.json", NOW),
        (3, "Archived (Resolved)", "Archived (Invalid)", "import f.json", NOW),
    ]


def test_the_legacy_import_file_is_a_manual_import_named_after_its_file(db):
    import_file(db, "a.json", json.dumps([record(1)]).encode(), NOW)
    result = import_file(
        db, "dir/b.json", json.dumps([record(1, status="Acknowledged")]).encode(), NOW
    )
    assert (result.status_changes, result.queued) == (1, 0)  # no tickets linked: nothing to send
    (change,) = AnomalyRepository(db).history(1)
    assert (change.changed_by, change.changed_at, change.to_status) == (
        "import b.json",
        NOW,
        "Acknowledged",
    )
