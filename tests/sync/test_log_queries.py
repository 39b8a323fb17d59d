import csv
import io
import json
from datetime import datetime, timedelta

import pandas as pd
import pytest

from lib.reporting.log_service import LogFilter, LogService
from lib.reporting.masking import MASK, pretty_masked
from lib.store.db import Database
from tests.reads import counting_reads

T0 = datetime(2026, 3, 1, 8, 0)


def svc(db: Database) -> LogService:
    return LogService(db, clock=lambda: T0, retry=lambda log_id: None)


def insert_log(db: Database, rows: list[dict]) -> None:
    """Bulk insert through a DataFrame (the way tests and the benchmark load logs)."""
    defaults = {
        "mode": "automatic",
        "status": "ok",
        "action": "create",
        "anomaly_id": None,
        "ticket_id": None,
        "ticket_key": None,
        "ticket_url": None,
        "error": None,
        "request_json": None,
        "response_json": None,
        "attempts": 1,
        "next_attempt_at": None,
        "permanent": False,
    }
    frame = pd.DataFrame([{**defaults, **r} for r in rows])
    with db.transaction() as cur:
        cur.register("incoming_log", frame)
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming_log")
        cur.unregister("incoming_log")


@pytest.fixture
def logdb(tmp_path):
    db = Database(tmp_path / "log.duckdb")
    insert_log(
        db,
        [
            {
                "id": 1,
                "created_at": T0,
                "action": "create",
                "status": "ok",
                "anomaly_id": 10,
                "ticket_id": "100",
                "ticket_key": "DQ-1",
                "ticket_url": "https://j/browse/DQ-1",
            },
            {
                "id": 2,
                "created_at": T0 + timedelta(hours=1),
                "action": "comment",
                "mode": "manual",
                "status": "failed",
                "anomaly_id": 10,
                "ticket_key": "DQ-1",
                "error": "Jira answered 503: Service unavailable",
                "permanent": True,
                "request_json": json.dumps(
                    {"body": "x", "headers": {"Authorization": "Bearer abc.def"}}
                ),
                "response_json": json.dumps({"errorMessages": ["down"], "token": "s3cret"}),
            },
            {
                "id": 3,
                "created_at": T0 + timedelta(days=1),
                "action": "update",
                "status": "pending",
                "anomaly_id": 11,
                "ticket_key": "DQ-2",
                "next_attempt_at": T0 + timedelta(days=1),
            },
            {
                "id": 4,
                "created_at": T0 + timedelta(days=2),
                "action": "comment",
                "status": "sending",
                "anomaly_id": 12,
                "ticket_key": "OPS-7",
            },
            {
                "id": 5,
                "created_at": T0 + timedelta(days=3),
                "action": "update",
                "status": "deferred",
                "anomaly_id": 12,
                "ticket_key": "OPS-7",
                "error": "100% of quota_used",
            },
            {
                "id": 6,
                "created_at": T0 + timedelta(days=3, hours=2),
                "action": "create",
                "mode": "manual",
                "status": "failed",
                "anomaly_id": 13,
                "error": "Field 'priority' is required",
            },
        ],
    )
    yield db
    db.close()


def ids(result) -> list[int]:
    return [r.id for r in result.rows]


def test_page_is_newest_first_with_labels(logdb):
    result = svc(logdb).page(LogFilter())
    assert ids(result) == [6, 5, 4, 3, 2, 1]
    assert result.total == 6
    by_id = {r.id: r for r in result.rows}
    assert (by_id[4].status, by_id[3].status, by_id[5].status) == ("Pending", "Pending", "Deferred")
    assert (by_id[2].type, by_id[1].type) == ("Manual", "Automatic")
    assert by_id[1].ticket_url == "https://j/browse/DQ-1"


@pytest.mark.parametrize(
    "flt, expected",
    [
        (LogFilter(types=("Manual",)), [6, 2]),
        (LogFilter(types=("Manual", "Automatic")), [6, 5, 4, 3, 2, 1]),
        (LogFilter(actions=("update",)), [5, 3]),
        (LogFilter(statuses=("Pending",)), [4, 3]),
        (LogFilter(statuses=("Failed", "Deferred")), [6, 5, 2]),
        (LogFilter(start=T0 + timedelta(days=1), end=T0 + timedelta(days=3)), [4, 3]),
        (LogFilter(text="ops-7"), [5, 4]),
        (LogFilter(text="503"), [2]),
        (LogFilter(text="12"), [5, 4]),  # an anomaly id
        (LogFilter(text="100%"), [5]),  # % is literal, not a wildcard
        (LogFilter(text="quota_"), [5]),
        (LogFilter(text="a_b"), []),  # _ is literal too
        (LogFilter(types=("Manual",), statuses=("Failed",), actions=("create",)), [6]),
        (LogFilter(text="service UNAVAILABLE"), [2]),  # error words in any case
        (LogFilter(error_kinds=("network", "validation")), [6, 5]),
        (LogFilter(error_kinds=("authentication",)), []),
    ],
)
@pytest.mark.parametrize("one_scan_limit", [10_000, 0], ids=["one scan", "offset"])
def test_filters(logdb, flt, expected, one_scan_limit, monkeypatch):
    monkeypatch.setattr("lib.store.log_queries.ONE_SCAN_LIMIT", one_scan_limit)
    with logdb.transaction() as cur:
        cur.execute("UPDATE sync_log SET error_kind = 'validation' WHERE id = 6")
        cur.execute("UPDATE sync_log SET error_kind = 'network' WHERE id = 5")
    result = svc(logdb).page(flt)
    assert ids(result) == expected
    assert result.total == len(expected)


@pytest.mark.parametrize("one_scan_limit", [10_000, 0], ids=["one scan", "offset"])
def test_deep_pages_agree_whichever_way_they_are_read(tmp_path, one_scan_limit, monkeypatch):
    monkeypatch.setattr("lib.store.log_queries.ONE_SCAN_LIMIT", one_scan_limit)
    db = Database(tmp_path / "many.duckdb")
    insert_log(
        db,
        [
            {"id": i, "created_at": T0 + timedelta(minutes=i), "ticket_key": f"DQ-{i % 7}"}
            for i in range(1, 301)
        ],
    )
    found = [svc(db).page(LogFilter(text="dq-3"), page_no=n, size=10) for n in (1, 4, 5, 9)]
    matching = [i for i in range(300, 0, -1) if i % 7 == 3]  # 43 rows
    assert [ids(p) for p in found] == [matching[0:10], matching[30:40], matching[40:], []]
    assert {p.total for p in found} == {43}
    db.close()


def test_the_outbox_depth_counts_unfinished_rows_and_finds_the_oldest(logdb):
    from lib.store.log_queries import LogQueries

    depth = LogQueries(logdb).outbox_depth()
    assert (depth.depth, depth.oldest_at) == (3, T0 + timedelta(days=1))  # rows 3, 4, 5
    with logdb.transaction() as cur:
        cur.execute("UPDATE sync_log SET status = 'ok' WHERE id IN (3, 4, 5)")
    assert LogQueries(logdb).outbox_depth() == type(depth)(0, None)


def test_the_outbox_depth_is_read_once_until_the_next_write(logdb):
    from lib.store.log_queries import LogQueries

    reads = counting_reads(logdb)
    first = LogQueries(logdb).outbox_depth()
    assert LogQueries(logdb).outbox_depth() == first and len(reads) == 1  # every page's sidebar
    insert_log(logdb, [{"id": 7, "created_at": T0, "status": "pending"}])
    after = LogQueries(logdb).outbox_depth()
    assert (after.depth, after.oldest_at, len(reads)) == (first.depth + 1, T0, 2)


def test_paging_counts_every_match(logdb):
    first = svc(logdb).page(LogFilter(), page_no=1, size=4)
    second = svc(logdb).page(LogFilter(), page_no=2, size=4)
    beyond = svc(logdb).page(LogFilter(), page_no=3, size=4)
    assert (ids(first), ids(second), ids(beyond)) == ([6, 5, 4, 3], [2, 1], [])
    assert first.total == second.total == 6
    assert beyond.total == 6  # a page past the end still reports the total


def test_export_is_csv_of_the_filtered_rows_with_a_cap(logdb):
    export = svc(logdb).export_csv(LogFilter(statuses=("Failed",)))
    rows = list(csv.DictReader(io.StringIO(export.data.decode())))
    assert [r["id"] for r in rows] == ["6", "2"]
    assert rows[1]["time_utc"] == "2026-03-01 09:00:00"
    assert rows[1]["error"] == "Jira answered 503: Service unavailable"
    assert rows[1]["type"] == "Manual" and not export.capped
    capped = svc(logdb).export_csv(LogFilter(), cap=2)
    assert (capped.rows, capped.matching, capped.capped) == (2, 6, True)
    assert len(list(csv.DictReader(io.StringIO(capped.data.decode())))) == 2


def test_details_are_pretty_and_masked(logdb):
    found = svc(logdb).details(2)
    assert found.retryable and found.permanent and found.attempts == 1
    assert "abc.def" not in found.request and "s3cret" not in found.response
    assert json.loads(found.request)["headers"]["Authorization"] == MASK
    assert json.loads(found.response) == {"errorMessages": ["down"], "token": MASK}
    assert "\n  " in found.request  # indented
    pending = svc(logdb).details(3)
    assert not pending.retryable and pending.next_attempt_at == T0 + timedelta(days=1)
    assert svc(logdb).details(999) is None


@pytest.mark.parametrize(
    "raw, secret",
    [
        ('{"nested": [{"api_token": "t0k"}]}', "t0k"),
        ('{"note": "sent with Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
        ("not json: Authorization: Bearer xyz123", "xyz123"),
        ("password=hunter2 then more", "hunter2"),
    ],
)
def test_masking_catches_secret_shapes(raw, secret):
    shown = pretty_masked(raw)
    assert secret not in shown and MASK in shown


def test_a_kept_page_is_read_once_and_again_after_every_write(logdb):
    reads = counting_reads(logdb)
    first = svc(logdb).page(LogFilter())
    again = svc(logdb).page(LogFilter())
    assert again == first and len(reads) == 1  # a rerun without a write reads nothing
    failed = svc(logdb).page(LogFilter(statuses=("Failed",)))
    assert ids(failed) == [6, 2] and len(reads) == 2  # another filter is its own answer
    new = 7
    insert_log(logdb, [{"id": new, "created_at": T0 + timedelta(days=4), "status": "failed"}])
    with logdb.transaction() as cur:
        cur.execute("UPDATE sync_log SET status = 'ok' WHERE id = 6")
    after = svc(logdb).page(LogFilter())
    assert ids(after) == [new, 6, 5, 4, 3, 2, 1] and after.total == 7
    assert after.rows[1].status == "Ok"
    assert ids(svc(logdb).page(LogFilter(statuses=("Failed",)))) == [new, 2]
