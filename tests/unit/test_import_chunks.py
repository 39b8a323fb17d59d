"""Imports read in chunks give what one whole read gave: the same rows, problems and messages.

The window the JSON reader decodes from and the rows per chunk are made tiny
here, so every boundary (inside a string, a number, between rows, inside the
``{"anomalies": ...}`` wrapper) and every chunk seam is crossed.
"""

import io
import json

import pytest

from lib.anomalies import import_reading
from lib.anomalies.import_reading import FileUnreadable, json_records
from lib.anomalies.importing import ImportRefused, check_file, import_file, parse_records
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.store.models import AnomalyFilter
from tests.unit.test_importing import NOW, record


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(import_reading, "_READ_BYTES", 7)
    monkeypatch.setattr(import_reading, "CHUNK_ROWS", 3)
    # Longer files than this are parsed again for the write, chunk by chunk.
    monkeypatch.setattr("lib.anomalies.importing.KEEP_PARSED_ROWS", 4)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "c.duckdb")
    yield database
    database.close()


def streamed(text: str) -> list:
    return list(json_records("f.json", io.StringIO(text)))


WRAPPED = (
    '{"version": 12345, "note": "a \\"quoted\\" text", "anomalies": [%s], "more": [1, {"x": 2.5}]}'
)


def test_json_read_in_a_tiny_window_gives_what_json_loads_gives(tiny):
    rows = [record(i, description="é ünïcode ☃ " * (i % 3)) for i in range(1, 12)]
    text = json.dumps(rows, indent=2, ensure_ascii=False)
    assert streamed(text) == json.loads(text)
    wrapped = WRAPPED % ", ".join(json.dumps(r) for r in rows)
    assert streamed(wrapped) == json.loads(wrapped)["anomalies"]
    assert streamed("[]") == [] and streamed(' { "anomalies" : [ ] } ') == []


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": 1},\n {"id": 2}\n {"id": 3}]',  # a missing comma on line 3
        '[{"id": 1}, {"id": 2,,}]',
        '[{"id": 1}] trailing',
        '[{"id": 1}, {"id": "unterminated}]',
        '{"anomalies": [{"id": 1}], 7: 8}',
    ],
)
def test_a_json_error_names_its_place_in_the_whole_file(tiny, text):
    with pytest.raises(ValueError) as whole:
        json.loads(text)
    with pytest.raises(ValueError) as chunked:
        streamed(text)
    assert str(chunked.value) == str(whole.value)


@pytest.mark.parametrize("text", ['{"id": 1}', "[1, 2]", '"anomalies"', '{"anomalies": "x"}'])
def test_json_that_is_not_a_list_of_objects_is_refused(tiny, text):
    with pytest.raises(FileUnreadable, match="must hold a list of anomaly objects"):
        streamed(text)


def test_a_file_of_many_chunks_is_written_whole(tiny, db):
    rows = [record(i, status=["Active", "Acknowledged"][i % 2]) for i in range(1, 11)]
    result = import_file(db, "many.json", json.dumps(rows).encode(), NOW)
    assert (result.inserted, result.updated) == (10, 0)
    page = AnomalyRepository(db).page(AnomalyFilter(), sort="id", descending=False)
    assert [r["id"] for r in page.rows] == list(range(1, 11))
    assert [r["status"] for r in page.rows] == [r["status"] for r in rows]


def test_a_bad_row_in_a_later_chunk_refuses_the_file_and_writes_nothing(tiny, db):
    rows = [record(i) for i in range(1, 9)] + [record(9, status="Closed"), record(4)]
    with pytest.raises(ImportRefused) as refused:
        import_file(db, "late.json", json.dumps(rows).encode(), NOW)
    assert refused.value.problems == [
        "row 9 (id 9): status 'Closed' is not one of: Active, Acknowledged, Archived",
        "row 10 (id 4): id 4 already appears in row 4",
    ]
    assert AnomalyRepository(db).count() == 0


def test_chunked_problems_are_what_one_pass_over_the_records_gives(tiny):
    rows = [record(i, weight="heavy" if i % 4 == 0 else 3) for i in range(1, 14)] + [record(2)]
    with pytest.raises(ImportRefused) as whole:
        parse_records(rows)
    with pytest.raises(ImportRefused) as chunked:
        check_file("f.json", io.BytesIO(json.dumps(rows).encode()))
    assert chunked.value.problems == whole.value.problems and len(whole.value.problems) == 4


def test_a_short_file_is_parsed_once_and_a_long_one_again_for_the_write(tiny):
    short = json.dumps([record(i) for i in range(1, 5)]).encode()
    long = json.dumps([record(i) for i in range(1, 6)]).encode()
    assert [p.anomaly.id for p in check_file("s.json", io.BytesIO(short))] == [1, 2, 3, 4]
    assert check_file("l.json", io.BytesIO(long)) is None


def test_an_open_file_is_read_twice_from_its_start(tmp_path, db):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([record(1), record(2)]))
    with path.open("rb") as file:
        file.read(5)  # wherever it stands
        assert import_file(db, "a.json", file, NOW).inserted == 2
        assert not file.closed


def test_too_many_rows_are_refused_by_their_count(tiny, monkeypatch):
    monkeypatch.setattr("lib.anomalies.importing.MAX_ROWS", 4)
    data = json.dumps([record(i) for i in range(1, 8)]).encode()
    with pytest.raises(ImportRefused, match="The file holds 7 rows; at most 4 at once"):
        check_file("f.json", io.BytesIO(data))


def test_a_bad_byte_is_named_with_its_place_in_the_file(tiny):
    data = json.dumps([record(1)]).encode() + b" \xc9"
    with pytest.raises(ImportRefused, match=f"byte 0xc9 at position {len(data) - 1}"):
        check_file("f.json", io.BytesIO(data))


def test_a_long_import_lowers_duckdbs_memory_limit_for_its_transaction_only(tiny, db):
    import lib.anomalies.changes as changes

    def memory_limit():
        with db.read() as cur:
            return cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    before, during = memory_limit(), []
    write = changes.AnomalyChanges._import_in

    def noting(self, *args):
        during.append(memory_limit())
        return write(self, *args)

    changes.AnomalyChanges._import_in = noting
    try:
        data = json.dumps([record(i) for i in range(1, 8)]).encode()
        # The row path (the fast path's own limit: tests/unit/test_import_fast.py).
        changes.AnomalyChanges(db, lambda: NOW).import_file(
            "long.json", data, mode=changes.Mode.MANUAL, fast=False
        )
    finally:
        changes.AnomalyChanges._import_in = write
    assert set(during) == {"244.1 MiB"} and len(during) == 3  # 256 MB, in three chunks
    assert memory_limit() == before


def test_a_repeated_id_out_of_the_databases_range_is_still_named(tiny):
    rows = [record(i) for i in range(1, 6)] + [record(2**70), record(2**70)]
    with pytest.raises(ImportRefused) as refused:
        check_file("f.json", io.BytesIO(json.dumps(rows).encode()))
    assert f"id {2**70} already appears in row 6" in refused.value.problems[-1]
