import duckdb
import pytest

from lib.store.db import Database
from lib.store.migrations import Migration, apply_migrations, discover

# Every table in a migrated database, each column as (name, type, nullable, default)
# in table order. Compared with ==: a migration that adds, drops or changes a column
# (or a table) must change this too, so the schema only moves on purpose.
EXPECTED = {
    # migration 001
    "anomalies": [
        ("id", "BIGINT", False, None),
        ("datastore_id", "BIGINT", False, None),
        ("datastore_name", "VARCHAR", False, None),
        ("container", "VARCHAR", False, None),
        ("fields", "VARCHAR[]", False, None),
        ("anomaly_type", "VARCHAR", False, None),
        ("status", "VARCHAR", False, None),
        ("archive_reason", "VARCHAR", True, None),
        ("detected_at", "TIMESTAMP", False, None),
        ("description", "VARCHAR", False, None),
        ("weight", "INTEGER", False, None),
        ("tags", "VARCHAR[]", False, None),
        ("search_text", "VARCHAR", False, None),
        ("updated_at", "TIMESTAMP", False, None),
    ],
    # migration 001
    "anomaly_comments": [
        ("id", "BIGINT", False, "nextval('anomaly_comment_ids')"),
        ("anomaly_id", "BIGINT", False, None),
        ("author", "VARCHAR", False, None),
        ("body", "VARCHAR", False, None),
        ("created_at", "TIMESTAMP", False, None),
    ],
    # migration 007
    "api_idempotency": [
        ("idempotency_key", "VARCHAR", False, None),
        ("fingerprint", "VARCHAR", False, None),
        ("status_code", "INTEGER", False, None),
        ("response_json", "VARCHAR", False, None),
        ("sync_log_id", "BIGINT", True, None),
        ("created_at", "TIMESTAMP", False, None),
    ],
    # migration 007
    "api_tokens": [
        ("id", "BIGINT", False, "nextval('api_tokens_id_seq')"),
        ("name", "VARCHAR", False, None),
        ("token_sha256", "VARCHAR", False, None),
        ("hint", "VARCHAR", False, None),
        ("created_at", "TIMESTAMP", False, None),
        ("revoked_at", "TIMESTAMP", True, None),
        ("last_used_at", "TIMESTAMP", True, None),
    ],
    # migration 003
    # migration 008
    "integration_health": [
        ("connection_id", "BIGINT", False, None),
        ("state", "VARCHAR", False, None),
        ("reason", "VARCHAR", True, None),
        ("kind", "VARCHAR", True, None),
        ("consecutive_failures", "INTEGER", False, "0"),
        ("consecutive_rate_limited", "INTEGER", False, "0"),
        ("since", "TIMESTAMP", True, None),
        ("last_success_at", "TIMESTAMP", True, None),
        ("resumed_at", "TIMESTAMP", True, None),
        ("resumed_by", "VARCHAR", True, None),
    ],
    "app_settings": [
        ("key", "VARCHAR", False, None),
        ("value", "VARCHAR", False, None),
    ],
    # migration 005
    "automation_tickets": [
        ("guid", "VARCHAR", False, None),
        ("connection_id", "BIGINT", False, None),
        ("ticket_id", "VARCHAR", True, None),
        ("ticket_key", "VARCHAR", True, None),
        ("ticket_url", "VARCHAR", True, None),
        ("created_at", "TIMESTAMP", True, None),
        ("attempted_at", "TIMESTAMP", False, None),
        ("request_id", "VARCHAR", False, None),
    ],
    # migration 011
    "bulk_job_items": [
        ("job_id", "BIGINT", False, None),
        ("position", "INTEGER", False, None),
        ("anomaly_id", "BIGINT", False, None),
        ("sync_log_id", "BIGINT", True, None),
        ("outcome", "VARCHAR", True, None),
        ("ticket_key", "VARCHAR", True, None),
        ("error", "VARCHAR", True, None),
    ],
    # migration 011
    "bulk_jobs": [
        ("id", "BIGINT", False, "nextval('bulk_job_ids')"),
        ("action", "VARCHAR", False, None),
        ("actor", "VARCHAR", False, None),
        ("connection_id", "BIGINT", True, None),
        ("params_json", "VARCHAR", False, None),
        ("group_log_id", "BIGINT", True, None),
        ("created_at", "TIMESTAMP", False, None),
        ("cancelled_at", "TIMESTAMP", True, None),
        ("cancelled_by", "VARCHAR", True, None),
    ],
    # migration 001
    "failed_checks": [
        ("anomaly_id", "BIGINT", False, None),
        ("position", "INTEGER", False, None),
        ("check_id", "BIGINT", False, None),
        ("rule_type", "VARCHAR", False, None),
        ("message", "VARCHAR", False, None),
    ],
    # migration 002
    "jira_connections": [
        ("id", "BIGINT", False, "nextval('jira_connection_ids')"),
        ("source", "VARCHAR", False, None),
        ("kind", "VARCHAR", False, None),
        ("flavour", "VARCHAR", False, None),
        ("host", "VARCHAR", True, None),
        ("auth_type", "VARCHAR", False, None),
        ("username", "VARCHAR", True, None),
        ("secret_sealed", "VARCHAR", True, None),
        ("api_prefix", "VARCHAR", True, None),
        ("trust_env", "BOOLEAN", False, "true"),
        ("ca_bundle", "VARCHAR", True, None),
        ("active", "BOOLEAN", False, "false"),
        ("check_status", "VARCHAR", True, None),
        ("checked_at", "TIMESTAMP", True, None),
        ("check_message", "VARCHAR", True, None),
        ("account_name", "VARCHAR", True, None),
        ("project_key", "VARCHAR", True, None),
        ("issue_type_id", "VARCHAR", True, None),
        ("issue_type_name", "VARCHAR", True, None),
        ("priority_name", "VARCHAR", True, None),
        ("public_url", "VARCHAR", True, None),
        ("created_at", "TIMESTAMP", False, None),
        ("updated_at", "TIMESTAMP", False, None),
        ("deleted_at", "TIMESTAMP", True, None),
        ("done_comes_back", "BOOLEAN", True, "false"),  # 010
        ("move_tickets", "BOOLEAN", False, "false"),  # 012
        ("transition_by", "VARCHAR", False, "'category'"),  # 012
        ("done_transition_id", "VARCHAR", True, None),  # 012
        ("reopen_transition_id", "VARCHAR", True, None),  # 012
    ],
    # migration 010
    "jira_ticket_state": [
        ("link_id", "BIGINT", False, None),
        ("resolution", "VARCHAR", True, None),
        ("assignee", "VARCHAR", True, None),
        ("status_color", "VARCHAR", True, None),
        ("jira_updated", "TIMESTAMP", True, None),
        ("polled_at", "TIMESTAMP", False, None),
        ("moved_from", "VARCHAR", True, None),
        ("moved_at", "TIMESTAMP", True, None),
        ("moved_noted", "BOOLEAN", False, "false"),
        ("gone_at", "TIMESTAMP", True, None),
        ("gone_reason", "VARCHAR", True, None),
    ],
    # migration 010
    "jira_comments": [
        ("connection_id", "BIGINT", False, None),
        ("issue_id", "VARCHAR", False, None),
        ("comment_id", "VARCHAR", False, None),
        ("author", "VARCHAR", True, None),
        ("author_id", "VARCHAR", True, None),
        ("created_at", "TIMESTAMP", True, None),
        ("body_text", "VARCHAR", False, None),
        ("ours", "BOOLEAN", False, None),
        ("seen_at", "TIMESTAMP", False, None),
    ],
    # migration 010
    "jira_poll_state": [
        ("connection_id", "BIGINT", False, None),
        ("last_started_at", "TIMESTAMP", True, None),
        ("last_swept_at", "TIMESTAMP", True, None),
        ("account_id", "VARCHAR", True, None),
        ("time_zone", "VARCHAR", True, None),
    ],
    # migration 010
    "drift_daily": [
        ("day", "DATE", False, None),
        ("connection_id", "BIGINT", False, None),
        ("reason", "VARCHAR", False, None),
        ("anomalies", "INTEGER", False, None),
    ],
    # migration 015
    "ticket_rules": [
        ("id", "BIGINT", False, "nextval('ticket_rule_ids')"),
        ("position", "INTEGER", False, None),
        ("name", "VARCHAR", False, None),
        ("paused", "BOOLEAN", False, "true"),
        ("action", "VARCHAR", False, None),
        ("conditions_json", "VARCHAR", False, None),
        ("ticket_json", "VARCHAR", False, None),
        ("group_by", "VARCHAR", False, None),
        ("window_minutes", "INTEGER", False, None),
        ("reopen_days", "INTEGER", False, None),
        ("created_at", "TIMESTAMP", False, None),
        ("updated_at", "TIMESTAMP", False, None),
    ],
    # migration 015
    "rule_applications": [
        ("anomaly_id", "BIGINT", False, None),
        ("connection_id", "BIGINT", False, None),
        ("rule_id", "BIGINT", False, None),
        ("outcome", "VARCHAR", False, None),
        ("ticket_key", "VARCHAR", True, None),
        ("create_log_id", "BIGINT", True, None),
        ("fingerprint", "VARCHAR", False, None),
        ("group_key", "VARCHAR", True, None),
        ("detected_at", "TIMESTAMP", False, None),
        ("applied_at", "TIMESTAMP", False, None),
        ("note", "VARCHAR", True, None),
    ],
    # migration 015
    "rule_tickets": [
        ("connection_id", "BIGINT", False, None),
        ("ticket_key", "VARCHAR", False, None),
        ("closed_seen_at", "TIMESTAMP", True, None),
    ],
    # made by the migration runner itself
    "schema_migrations": [
        ("version", "INTEGER", False, None),
        ("name", "VARCHAR", False, None),
        ("applied_at", "TIMESTAMP", False, "CAST(now() AS TIMESTAMP)"),
    ],
    # migration 009 (replaces 004's stats_resets)
    "stats_baselines": [
        ("id", "BIGINT", False, "nextval('stats_baseline_ids')"),
        ("reset_at", "TIMESTAMP", False, None),
        ("reset_by", "VARCHAR", True, None),
        ("created", "BIGINT", False, None),
        ("updated", "BIGINT", False, None),
    ],
    # migration 009
    "sync_latency_stats": [
        ("slot", "TIMESTAMP", False, None),
        ("bin", "INTEGER", False, None),
        ("calls", "BIGINT", False, None),
    ],
    # migration 009
    "sync_stats": [
        ("slot", "TIMESTAMP", False, None),
        ("action", "VARCHAR", False, None),
        ("mode", "VARCHAR", False, None),
        ("outcome", "VARCHAR", False, None),
        ("error_kind", "VARCHAR", False, None),
        ("calls", "BIGINT", False, None),
        ("latency_calls", "BIGINT", False, None),
        ("latency_ms_sum", "DOUBLE", False, None),
        ("waited_s", "DOUBLE", False, None),
        ("latency_bin", "INTEGER", True, None),  # migration 016
    ],
    # migration 001
    "status_changes": [
        ("id", "BIGINT", False, "nextval('status_change_ids')"),
        ("anomaly_id", "BIGINT", False, None),
        ("changed_by", "VARCHAR", False, None),
        ("changed_at", "TIMESTAMP", False, None),
        ("from_status", "VARCHAR", True, None),
        ("from_reason", "VARCHAR", True, None),
        ("to_status", "VARCHAR", False, None),
        ("to_reason", "VARCHAR", True, None),
    ],
    # migration 003, 006
    "sync_log": [
        ("id", "BIGINT", False, "nextval('sync_log_ids')"),
        ("created_at", "TIMESTAMP", False, None),
        ("action", "VARCHAR", False, None),
        ("mode", "VARCHAR", False, None),
        ("status", "VARCHAR", False, None),
        ("anomaly_id", "BIGINT", True, None),
        ("connection_id", "BIGINT", True, None),
        ("link_id", "BIGINT", True, None),
        ("ticket_id", "VARCHAR", True, None),
        ("ticket_key", "VARCHAR", True, None),
        ("ticket_url", "VARCHAR", True, None),
        ("actor", "VARCHAR", True, None),
        ("error", "VARCHAR", True, None),
        ("request_json", "VARCHAR", True, None),
        ("response_json", "VARCHAR", True, None),
        ("latency_ms", "DOUBLE", True, None),
        ("attempts", "INTEGER", False, "0"),
        ("next_attempt_at", "TIMESTAMP", True, None),
        ("sent_at", "TIMESTAMP", True, None),
        ("finished_at", "TIMESTAMP", True, None),
        ("permanent", "BOOLEAN", False, "false"),
        ("needs_reconcile", "BOOLEAN", False, "false"),
        ("reconcile_miss_at", "TIMESTAMP", True, None),
        ("claimed_by", "VARCHAR", True, None),
        ("body_text", "VARCHAR", True, None),
        ("body_doc", "VARCHAR", True, None),
        ("request_id", "VARCHAR", True, None),
        ("idempotency_key", "VARCHAR", True, None),
        ("submission_key", "VARCHAR", True, None),
        ("waits_on", "BIGINT", True, None),
        ("rich_fields", "VARCHAR", True, None),
        ("automation_guid", "VARCHAR", True, None),
        ("error_kind", "VARCHAR", True, None),  # 008
        ("has_waiters", "BOOLEAN", True, "false"),  # 017
    ],
    # migration 003
    "ticket_links": [
        ("id", "BIGINT", False, "nextval('ticket_link_ids')"),
        ("anomaly_id", "BIGINT", False, None),
        ("connection_id", "BIGINT", False, None),
        ("issue_id", "VARCHAR", False, None),
        ("issue_key", "VARCHAR", False, None),
        ("url", "VARCHAR", False, None),
        ("summary", "VARCHAR", True, None),
        ("status_name", "VARCHAR", True, None),
        ("status_category", "VARCHAR", True, None),
        ("priority", "VARCHAR", True, None),
        ("created_by_us", "BOOLEAN", False, None),
        ("linked_at", "TIMESTAMP", False, None),
        ("linked_by", "VARCHAR", False, None),
        ("last_synced_at", "TIMESTAMP", True, None),
        ("unlinked_at", "TIMESTAMP", True, None),
        ("unlinked_by", "VARCHAR", True, None),
    ],
}


def schema(con) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    """Every table's columns, as information_schema reports them, in column order."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES', column_default"
        " FROM information_schema.columns ORDER BY table_name, ordinal_position"
    ).fetchall()
    found: dict[str, list[tuple[str, str, bool, str | None]]] = {}
    for table, *column in rows:
        found.setdefault(table, []).append(tuple(column))
    return found


def tables(con) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
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
        assert tables(cur) == set(EXPECTED)
        found = schema(cur)
        for table, expected in EXPECTED.items():
            assert found[table] == expected, table
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


def test_failed_checks_are_indexed_by_anomaly(tmp_path):
    """Migration 014: the Anomalies page counts a page's checks through this index."""
    db = Database(tmp_path / "blank.duckdb")
    with db.read() as cur:
        found = cur.execute(
            "SELECT table_name, expressions FROM duckdb_indexes()"
            " WHERE index_name = 'failed_checks_anomaly'"
        ).fetchall()
    assert found == [("failed_checks", "[anomaly_id]")]
    db.close()


def test_a_create_waited_on_before_migration_017_still_hands_its_ticket_on(tmp_path):
    """017 marks the creates that rows already wait on; confirming one then fills them in."""
    from datetime import datetime

    from lib.store.sync_log import SyncLog

    path = tmp_path / "desk.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con, [m for m in discover() if m.version < 17])
    con.execute(
        "INSERT INTO sync_log (id, created_at, action, mode, status, anomaly_id, connection_id,"
        " waits_on) VALUES (1, '2026-05-01', 'create', 'manual', 'sending', 7, 1, NULL),"
        " (2, '2026-05-01', 'comment', 'manual', 'pending', 7, 1, 1),"
        " (3, '2026-05-01', 'create', 'manual', 'sending', 8, 1, NULL)"
    )
    con.close()
    db = Database(path)
    now = datetime(2026, 5, 1, 12)
    with db.transaction() as cur:
        for create, key in ((1, "DQ-1"), (3, "DQ-3")):
            SyncLog.finish_create_ok_in(
                cur, create, now=now, response_json=None, latency_ms=None, ticket_id=key[3:],
                ticket_key=key, ticket_url=f"https://jira/browse/{key}", link_id=None,
            )  # fmt: skip
    with db.read() as cur:
        rows = cur.execute(
            "SELECT id, status, has_waiters, waits_on, ticket_key, next_attempt_at"
            " FROM sync_log ORDER BY id"
        ).fetchall()
    db.close()
    assert rows == [
        (1, "ok", True, None, "DQ-1", None),
        (2, "pending", False, None, "DQ-1", now),  # sent next, with the create's ticket
        (3, "ok", False, None, "DQ-3", None),
    ]
