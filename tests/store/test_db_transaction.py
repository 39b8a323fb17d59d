"""Database.transaction's prepare step: scratch tables on the same cursor, before the transaction."""

import pytest

from lib.store.db import Database


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "t.duckdb")
    yield database
    database.close()


def _anomaly_count(db: Database) -> int:
    with db.read() as cur:
        return cur.execute("SELECT count(*) FROM anomalies").fetchone()[0]


def test_a_prepared_scratch_table_is_seen_by_the_transaction_and_goes_with_its_cursor(db):
    def prepare(cur):
        cur.execute("CREATE TEMP TABLE scratch AS SELECT range AS n FROM range(3)")

    with db.transaction(prepare) as cur:
        # committed before BEGIN: the transaction reads it (DuckDB scans it on every core)
        assert cur.execute("SELECT sum(n) FROM scratch").fetchone()[0] == 3
    assert db.writes == 1
    with db.transaction() as cur:  # a new cursor, which the old one's scratch never reaches
        assert cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'"
        ).fetchone() == (0,)


def test_a_refused_transaction_after_prepare_writes_nothing(db):
    def prepare(cur):
        cur.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS n")

    with pytest.raises(RuntimeError), db.transaction(prepare) as cur:
        cur.execute(
            "INSERT INTO anomalies SELECT 1, 1, 'd', 'c', [], 'shape', 'Active', NULL,"
            " now()::TIMESTAMP, '', 1, [], 'c', now()::TIMESTAMP"
        )
        raise RuntimeError("refused")
    assert _anomaly_count(db) == 0 and db.writes == 0


def test_a_failing_prepare_begins_no_transaction_and_frees_the_write_lock(db):
    def prepare(cur):
        raise ValueError("unreadable")

    with pytest.raises(ValueError), db.transaction(prepare):
        raise AssertionError("the body must not run")
    with db.transaction() as cur:  # the lock is free and the next transaction begins as usual
        cur.execute("SELECT 1")
    assert db.writes == 1
