"""The import's fast path (DuckDB checks in columns) decides and writes what the row validator does.

Over generated files, plain and not: the fast path accepts a file only when
the row validator accepts it, and then leaves the database exactly as the row
path leaves it (anomalies, checks, history, queued Jira comments); when it
does not accept, it has changed nothing and the row path decides. Plain files
(the form the product writes) always take the fast path.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.anomalies.changes import AnomalyChanges, Mode
from lib.anomalies.importing import ImportRefused, ParsedAnomaly, parse_records
from lib.store.anomalies import search_text
from lib.store.anomaly_import import drop_stage_in, read_json_in, stage_json_in
from lib.store.db import Database

NOW = datetime(2026, 11, 24, 12, 0)
TABLES = ("anomalies", "failed_checks", "status_changes", "anomaly_comments", "sync_log")
CHECK = {"check_id": 7, "rule_type": "notNull", "message": "5 values in EMAIL are null"}
# The plain form, per field: the fast path must take every mix of these.
PLAIN = {
    "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 2**63 - 1],
    "datastore_id": [0, 1, 42, 2**63 - 1],
    "datastore_name": ["Warehouse", "Über DB", "x", "a b"],
    "container": ["CUSTOMERS", "orders.v2", "T"],
    "fields": [["EMAIL"], [], ["A", "B c"]],
    "type": ["record", "shape"],
    "status": ["Active", "Acknowledged", "Archived"],
    "detected_at": [
        "2026-11-20T08:00:00Z",
        "2026-11-20T08:00:00",
        "2026-11-20T23:30:00.123-05:00",
        "2026-01-01T00:15:00.5+02:30",
        "1000-01-01T00:00:00",
    ],
    "failed_checks": [[CHECK], [CHECK, {**CHECK, "check_id": 0, "message": "Too Long"}]],
    "description": ["", "d", "Line one\nline two", "Ünïcode ☃"],
    "weight": [0, 1, 3, 2**31 - 1],
    "tags": [[], ["pii"], ["a", "b"]],
    "comments": [[]],
    "history": [[]],
}
REASONS = ["Resolved", "Invalid", "Duplicate", "Discarded"]
# Other values, good and bad: the row validator decides these.
OTHER = {
    "id": [0, -1, 2**63, "5", 5.0, 5.5, True, None, " 7 ", "05", "+5", 1e3, "", [5]],
    "datastore_id": [-1, "3", 2**63, None, 1.0, "0", False],
    "datastore_name": [
        " Warehouse",
        "",
        "  ",
        5,
        None,
        "a\u00a0",
        "W\u2003",
        5.5,
        True,
        float("nan"),
        float("inf"),
        "5.5",
        "true",
        "null",
        "NaN",
        "[1]",
        {"a": 1},
        "a\u3000",
    ],
    "container": ["CUSTOMERS ", "", None, 7, "ÜBER", "{}", '"q"', "x\\y", "a\u0000b", "\u2028x"],
    "fields": [
        "A,B",
        ["A", " "],
        [" A"],
        [1],
        None,
        "",
        '["A"]',
        ["É"],
        {"a": 1},
        [5.5],
        ["true"],
        [True],
        [["A"]],
        [None],
        ["A\t"],
    ],
    "type": ["Record", "other", None, 1, "record ", ["record"]],
    "status": ["active", "Archived (Resolved)", "x", None, 3, " Active", ["Active"]],
    "detected_at": [
        "2026-02-30T00:00:00Z",
        "2026-11-20",
        "not a date",
        None,
        5,
        "0999-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-01:00",
        "2026-11-20T08:00:00.1234567Z",
        "2026-11-20 08:00:00Z",
        "2026-11-20T24:00:00Z",
        " 2026-11-20T08:00:00Z",
        "2026-11-20T08:00:00+0100",
        "2026-11-20T08:00:00z",
        ["2026-11-20T08:00:00Z"],
    ],
    "failed_checks": [
        [],
        None,
        json.dumps([CHECK]),
        [{**CHECK, "check_id": -1}],
        [{**CHECK, "check_id": "7"}],
        [{**CHECK, "extra": 1}],
        [{"check_id": 7, "rule_type": "notNull"}],
        [1],
        [{**CHECK, "message": " x"}],
        [{**CHECK, "message": "Ünï"}],
        [{**CHECK, "check_id": 2**63}],
        [{**CHECK, "check_id": 7.0}],
        [{**CHECK, "check_id": True}],
        [{**CHECK, "check_id": " 7"}],
        [{**CHECK, "rule_type": 5}],
        [{**CHECK, "rule_type": True}],
        [{**CHECK, "message": "1.5"}],
        [{**CHECK, "message": ["m"]}],
        [{**CHECK, "CHECK_ID": 8}],
        [None],
        [CHECK, None],
        {"check_id": 7},
    ],
    "description": [" ", " d ", 5, None, "true", 5.5, "NaN", "[]", [], "d\u00a0"],
    "weight": [None, -1, 2**31, "4", 4.0, True, "", 4.5, "04", "+4", [4]],
    "tags": [None, "a,b", [1], [" a"], ["null"], [5], ["a\u3000"], [None], "", {}],
    "comments": [
        None,
        [{"author": "a", "text": "t", "created_at": "2026-01-01T00:00:00Z"}],
        "x",
        "[]",
        {},
    ],
    "history": [
        None,
        [{"changed_by": "a", "changed_at": "2026-01-01T00:00:00Z", "to": "Active"}],
        "[]",
    ],
    "extra": [1, "x", None],
    "ID": [5],
    "Status": ["Archived"],
}


def _plain_record(draw) -> dict:
    row = {key: draw(st.sampled_from(values)) for key, values in PLAIN.items()}
    for optional in ("description", "weight", "tags", "comments", "history"):
        if draw(st.booleans()):
            del row[optional]
    if row["status"] == "Archived":
        row["archive_reason"] = draw(st.sampled_from(REASONS))
    elif draw(st.booleans()):
        row["archive_reason"] = draw(st.sampled_from(["", None]))
    return row


@st.composite
def plain_files(draw) -> list[dict]:
    rows = [_plain_record(draw) for _ in range(draw(st.integers(1, 6)))]
    unique = {r["id"]: r for r in rows}  # ids are unique in a plain file
    return list(unique.values())


@st.composite
def any_files(draw) -> list:
    rows: list = [_plain_record(draw) for _ in range(draw(st.integers(0, 5)))]
    for row in rows:
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from(sorted(OTHER)))
            if draw(st.booleans()):
                row[key] = draw(st.sampled_from(OTHER[key]))
            else:
                row.pop(key, None)
        if draw(st.integers(0, 9)) == 0:
            row["archive_reason"] = draw(st.sampled_from(["resolved", " ", "Nope", "Resolved"]))
    if draw(st.integers(0, 9)) == 0:
        rows.append(draw(st.sampled_from([1, "x", None, []])))
    return rows


def seeded(path: Path) -> Database:
    """Known anomalies 1-3 (so an import updates and moves them), 2 linked to a ticket."""
    db = Database(path)
    changes = AnomalyChanges(db, lambda: datetime(2026, 1, 1))
    known = [
        {**_base(1), "status": "Active"},
        {**_base(2), "status": "Acknowledged"},
        {**_base(3), "status": "Archived", "archive_reason": "Invalid"},
    ]
    changes.import_file("seed.json", json.dumps(known).encode(), mode=Mode.MANUAL, fast=False)
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " created_by_us, linked_at, linked_by) VALUES (2, 1, '10', 'DQ-1', 'u', TRUE, ?, 'a')",
            [NOW],
        )
    return db


def _base(ident: int) -> dict:
    return {key: values[0] for key, values in PLAIN.items()} | {"id": ident}


def contents(db: Database) -> dict[str, list]:
    with db.read() as cur:
        return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def both_ways(rows: list, filename: str = "f.json"):
    """(fast result or None, row result or its problems, contents after fast, after rows)."""
    data = json.dumps(rows, ensure_ascii=False).encode()
    with tempfile.TemporaryDirectory() as tmp:
        fast_db, row_db = seeded(Path(tmp) / "fast.duckdb"), seeded(Path(tmp) / "rows.duckdb")
        try:
            before = contents(fast_db)
            fast = AnomalyChanges(fast_db, lambda: NOW)._import_fast(
                filename, io.BytesIO(data), Mode.MANUAL
            )
            if fast is None:
                assert contents(fast_db) == before  # nothing written: the row path decides
            try:
                row = AnomalyChanges(row_db, lambda: NOW).import_file(
                    filename, data, mode=Mode.MANUAL, fast=False
                )
            except ImportRefused as exc:
                row = exc.problems
            return fast, row, contents(fast_db), contents(row_db)
        finally:
            fast_db.close()
            row_db.close()


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_files())
def test_the_fast_path_accepts_only_what_the_row_validator_accepts_and_writes_the_same(rows):
    fast, row, after_fast, after_rows = both_ways(rows)
    if fast is not None:
        assert row == fast, "the fast path took a file the row validator refuses"
        assert after_fast == after_rows


@SETTINGS
@given(plain_files())
def test_a_plain_file_takes_the_fast_path_with_the_row_paths_result_and_contents(rows):
    fast, row, after_fast, after_rows = both_ways(rows)
    assert fast is not None and row == fast
    assert after_fast == after_rows


def test_the_fast_path_lowers_duckdbs_memory_limit_for_its_transaction_only(tmp_path, monkeypatch):
    import lib.anomalies.changes as changes

    db = Database(tmp_path / "m.duckdb")

    def memory_limit():
        with db.read() as cur:
            return cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    before, during = memory_limit(), []
    stage = changes.stage_json_in

    def noting(*args):
        during.append(memory_limit())
        return stage(*args)

    monkeypatch.setattr(changes, "stage_json_in", noting)
    try:
        rows = [_base(i) for i in range(1, 8)]
        result = AnomalyChanges(db, lambda: NOW).import_file(
            "m.json", json.dumps(rows).encode(), mode=Mode.MANUAL
        )
        assert result.inserted == 7 and during == ["610.3 MiB"]  # FAST_IMPORT_MEMORY, 640 MB
        assert memory_limit() == before
    finally:
        db.close()


def test_a_file_refused_by_the_row_validator_leaves_no_stage_behind(tmp_path):
    db = Database(tmp_path / "r.duckdb")
    try:
        data = json.dumps([_base(1), {**_base(2), "status": "Gone"}]).encode()
        changes = AnomalyChanges(db, lambda: NOW)
        try:
            changes.import_file("r.json", data, mode=Mode.MANUAL)
        except ImportRefused as exc:
            assert exc.problems == [
                "row 2 (id 2): status 'Gone' is not one of: Active, Acknowledged, Archived"
            ]
        else:
            raise AssertionError("a bad file was imported")
        with db.read() as cur:
            assert cur.execute("SELECT count(*) FROM anomalies").fetchone()[0] == 0
        # The same cursor's connection can stage the next file: nothing was left over.
        again = changes.import_file("ok.json", json.dumps([_base(3)]).encode(), mode=Mode.MANUAL)
        assert again.inserted == 1
    finally:
        db.close()


# -- one change at a time, at the stage ------------------------------------------
# Every value above, put alone into a plain row (Active, and Archived): the
# stage takes the row only where the row validator takes it, with the same
# values. Deterministic, so no value depends on what hypothesis draws.

MISSING = object()
BASES = {
    "active": _base(1) | {"description": "d", "weight": 3, "tags": ["pii"]},
    "archived": _base(1) | {"status": "Archived", "archive_reason": "Resolved"},
}
DEVIATIONS = [
    *((key, value) for key, values in OTHER.items() for value in values),
    *((key, MISSING) for key in PLAIN),
    *(("archive_reason", v) for v in ["resolved", " ", "Nope", "Resolved", "", None, 5, MISSING]),
]


def _staged(text: str) -> list[tuple] | None:
    """The stage's rows for a file's text (None: not plain), read as the writes read them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.json"
        path.write_text(text, encoding="utf-8")
        con = duckdb.connect()
        try:
            read_json_in(con, str(path), 10)
            if stage_json_in(con, 10) is None:
                return None
            return con.execute(
                "SELECT id, datastore_id, datastore_name, container, fields, anomaly_type, status,"
                " archive_reason, detected_at, description, weight, tags, check_ids, rule_types,"
                " messages, search_text FROM import_stage ORDER BY rowid"
            ).fetchall()
        finally:
            con.close()


def _as_staged(parsed: ParsedAnomaly) -> tuple:
    a = parsed.anomaly
    checks = a.failed_checks
    return (
        a.id,
        a.datastore_id,
        a.datastore_name,
        a.container,
        list(a.fields),
        a.anomaly_type,
        a.status,
        a.archive_reason,
        a.detected_at,
        a.description,
        a.weight,
        list(a.tags),
        [c.check_id for c in checks],
        [c.rule_type for c in checks],
        [c.message for c in checks],
        search_text(a),
    )


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize(("key", "value"), DEVIATIONS, ids=repr)
def test_one_changed_value_is_staged_only_as_the_row_validator_reads_it(base, key, value):
    row = dict(BASES[base])
    if value is MISSING:
        row.pop(key, None)
    else:
        row[key] = value
    text = json.dumps([row], ensure_ascii=False)
    staged = _staged(text)
    if staged is None:
        return  # the row path decides: the hypothesis tests above show it writes nothing first
    parsed = parse_records(json.loads(text))  # raises ImportRefused if the stage took a bad row
    assert not parsed[0].comments and not parsed[0].history
    assert staged == [_as_staged(p) for p in parsed]


def test_the_plain_rows_are_staged_as_the_row_validator_reads_them():
    """The table above is not vacuous: its plain bases (and most changes) are staged."""
    staged = [_staged(json.dumps([row])) for row in BASES.values()]
    assert all(s is not None and len(s) == 1 for s in staged)


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": 1, "id": 2}]',  # a repeated key: Python keeps the last, DuckDB refuses
        json.dumps([_base(1)])[:-2] + ', "id": 2}]',
        json.dumps([_base(1)]).replace('"check_id": 7', '"check_id": 7, "check_id": 8'),
        json.dumps([_base(1), 1]),
        json.dumps([_base(1), None]),
        json.dumps([_base(1), []]),
        json.dumps({"anomalies": [_base(1)]}),  # the row path reads this form; the stage does not
        "[]",
        json.dumps([_base(1)]).replace('"id": 1', '"id": NaN'),
        json.dumps([_base(1)]).replace('"id": 1', '"id": 1e0'),
        json.dumps([_base(1), _base(1)]),
        json.dumps([_base(1), {**_base(2), "id": "1"}]),  # the same id, written two ways
    ],
)
def test_a_file_the_stage_cannot_read_plainly_goes_to_the_row_path(text):
    assert _staged(text) is None


def test_a_file_longer_than_the_most_an_import_takes_is_not_staged(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(json.dumps([_base(i) for i in range(1, 4)]))
    con = duckdb.connect()
    try:
        assert read_json_in(con, str(path), 3) and stage_json_in(con, 3) == 3
        drop_stage_in(con)
        assert read_json_in(con, str(path), 2)
        assert con.execute("SELECT count(*) FROM import_stage").fetchone()[0] == 3  # one past 2
        assert stage_json_in(con, 2) is None
    finally:
        con.close()


def test_the_stage_keeps_the_files_order_past_one_row_group(tmp_path):
    """The checks run on every core; the stage (and so history and inserts) keeps the file's order."""
    count = 130_000  # DuckDB's row groups hold 122,880 rows: two of them, scanned in parallel
    path = tmp_path / "order.json"
    ids = list(range(count, 0, -1))  # descending: no order DuckDB would give by itself
    path.write_text(json.dumps([_base(1) | {"id": i} for i in ids]))
    con = duckdb.connect()
    try:
        assert read_json_in(con, str(path), count) and stage_json_in(con, count) == count
        staged = [
            r[0] for r in con.execute("SELECT id FROM import_stage ORDER BY rowid").fetchall()
        ]
        assert staged == ids
    finally:
        con.close()
