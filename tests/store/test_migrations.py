import duckdb
import pytest

from lib.store.db import Database
from lib.store.migrations import Migration, apply_migrations, discover

EXPECTED = {
    "anomalies": {
        "id",
        "datastore_id",
        "datastore_name",
        "container",
        "fields",
        "anomaly_type",
        "status",
        "archive_reason",
        "detected_at",
        "description",
        "weight",
        "tags",
        "search_text",
        "updated_at",
    },
    # 006: one create path (idempotency label, dialog submission, waiting rows, rich fields)
    "sync_log": {
        "idempotency_key",
        "submission_key",
        "waits_on",
        "rich_fields",
        "automation_guid",
        "body_doc",
        "request_id",
    },
    "failed_checks": {"anomaly_id", "position", "check_id", "rule_type", "message"},
    "anomaly_comments": {"id", "anomaly_id", "author", "body", "created_at"},
    "status_changes": {
        "id",
        "anomaly_id",
        "changed_by",
        "changed_at",
        "from_status",
        "from_reason",
        "to_status",
        "to_reason",
    },
}


def columns(con, table):
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }


def test_blank_database_gets_every_migration_and_the_expected_schema(tmp_path):
    db = Database(tmp_path / "blank.duckdb")
    with db.read() as cur:
        versions = [
            r[0]
            for r in cur.execute(
                "SELECT version FROM schema_migrations ORDER BY version"
            ).fetchall()
        ]
        assert versions == [m.version for m in discover()]
        for table, expected in EXPECTED.items():
            assert expected <= columns(cur, table), table
    db.close()


def test_migrations_are_applied_once(tmp_path):
    path = tmp_path / "again.duckdb"
    Database(path).close()
    con = duckdb.connect(str(path))
    assert apply_migrations(con) == []
    con.close()


def test_failed_migration_leaves_neither_schema_nor_stamp():
    con = duckdb.connect(":memory:")
    bad = [
        Migration(1, "001_ok.sql", "CREATE TABLE a (x INT);"),
        Migration(2, "002_bad.sql", "CREATE TABLE b (y INT); SELECT * FROM nowhere;"),
    ]
    with pytest.raises(duckdb.Error):
        apply_migrations(con, bad)
    assert {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()} == {1}
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "a" in tables and "b" not in tables


def test_duplicate_versions_are_refused(tmp_path):
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="share version 1"):
        discover(tmp_path)


def test_second_process_gets_a_clear_lock_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    db = Database(path)
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from lib.store.db import Database, DatabaseLocked\n"
        f"try:\n    Database({str(path)!r})\nexcept DatabaseLocked as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    db.close()
    assert "is in use by process" in out.stdout and "dashboard" in out.stdout, out.stderr
