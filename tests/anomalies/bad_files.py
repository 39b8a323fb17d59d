"""Bad import files, one or more per class of bad input, each with the message it must earn.

Every JSON/CSV file also carries a good row that would acknowledge anomaly 50
(seeded Active), so "nothing changed" is checked on a row that was fine.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.anomalies.helpers import CHECKS, record

SEEDED = 50
BIGINT_OVER = 2**63
CSV_HEADER = (
    "id,datastore_id,datastore_name,container,fields,type,status,detected_at,failed_checks,weight\n"
)


def _with_good_row(*rows: dict) -> bytes:
    return json.dumps([record(SEEDED, status="Acknowledged"), *rows]).encode()


def _raw_json(*rows: str) -> bytes:
    good = json.dumps(record(SEEDED, status="Acknowledged"))
    return ("[" + ", ".join([good, *rows]) + "]").encode()


def _row_text(**over) -> str:
    """A record as JSON text with ``over`` spliced in raw (NaN, Infinity, 1e400)."""
    base = json.dumps(record(60))[:-1]
    return base + "".join(f', "{k}": {v}' for k, v in over.items()) + "}"


def _csv(weight: str, container: str = "ORDERS") -> bytes:
    checks = '"' + json.dumps(CHECKS).replace('"', '""') + '"'
    good = f"{SEEDED},1,Warehouse,ORDERS,EMAIL,record,Acknowledged,2026-11-20T08:00:00Z,{checks},1"
    bad = f"60,1,Warehouse,{container},EMAIL,record,Active,2026-11-20T08:00:00Z,{checks},{weight}"
    return (CSV_HEADER + good + "\n" + bad + "\n").encode("utf-8")


def _parquet(**over) -> bytes:
    rows = [
        record(SEEDED, status="Acknowledged", weight=1.0),
        record(60, **{"weight": 1.0, **over}),
    ]
    for r in rows:
        r["failed_checks"] = json.dumps(r["failed_checks"])
        r["fields"] = ",".join(r["fields"])
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def _latin1_csv() -> bytes:
    return _csv("1").replace(b"ORDERS", "CAFÉ".encode("latin-1"))


# (class, case, file name, bytes, text the message must hold)
CASES = [
    (
        "numbers",
        "id over 2^63-1",
        "f.json",
        _with_good_row(record(BIGINT_OVER)),
        "id must be at most 9,223,372,036,854,775,807",
    ),
    ("numbers", "negative id", "f.json", _with_good_row(record(-1)), "id must be at least 1"),
    (
        "numbers",
        "datastore id over 2^63-1",
        "f.json",
        _with_good_row(record(60, datastore_id=BIGINT_OVER)),
        "datastore_id must be at most",
    ),
    (
        "numbers",
        "negative datastore id",
        "f.json",
        _with_good_row(record(60, datastore_id=-3)),
        "datastore_id must be at least 0",
    ),
    (
        "numbers",
        "weight over 2^31-1",
        "f.json",
        _with_good_row(record(60, weight=2**31)),
        "weight must be at most 2,147,483,647",
    ),
    (
        "numbers",
        "check id over 2^63-1",
        "f.json",
        _with_good_row(record(60, failed_checks=[{**CHECKS[0], "check_id": BIGINT_OVER}])),
        "failed check 1 check_id must be at most",
    ),
    ("numbers", "id as a huge float", "f.json", _with_good_row(record(1e30)), "id must be at most"),
    (
        "numbers",
        "id of 5000 digits",
        "f.json",
        _with_good_row(record("9" * 5000)),
        "id must be a whole number, got '99999",
    ),
    (
        "numbers",
        "id in superscript digits",
        "f.json",
        _with_good_row(record("\u00b2")),
        "id must be a whole number",
    ),
    ("numbers", "csv weight over 2^31-1", "f.csv", _csv("99999999999"), "weight must be at most"),
    (
        "dates",
        "year 1 with an offset",
        "f.json",
        _with_good_row(record(60, detected_at="0001-01-01T00:00:00+05:00")),
        "detected_at '0001-01-01T00:00:00+05:00' is outside the dates that can be stored",
    ),
    (
        "dates",
        "year 9999 with an offset",
        "f.json",
        _with_good_row(record(60, detected_at="9999-12-31T23:59:59-05:00")),
        "detected_at '9999-12-31T23:59:59-05:00' is outside the dates",
    ),
    (
        "dates",
        "a comment in year 1",
        "f.json",
        _with_good_row(
            record(
                60,
                comments=[{"author": "a", "text": "t", "created_at": "0001-01-01T00:00:00+05:00"}],
            )
        ),
        "comment 1 created_at '0001-01-01T00:00:00+05:00' is outside",
    ),
    (
        "dates",
        "a history row in year 9999",
        "f.json",
        _with_good_row(
            record(
                60,
                history=[
                    {"changed_by": "a", "to": "Active", "changed_at": "9999-12-31T23:59:59-05:00"}
                ],
            )
        ),
        "history 1 changed_at '9999-12-31T23:59:59-05:00' is outside",
    ),
    (
        "nan",
        "NaN weight in JSON",
        "f.json",
        _raw_json(_row_text(weight="NaN")),
        "holds NaN, which is not a number",
    ),
    (
        "nan",
        "Infinity id in JSON",
        "f.json",
        _raw_json(_row_text(datastore_id="-Infinity")),
        "holds -Infinity, which is not a number",
    ),
    (
        "nan",
        "1e400 (infinite) id",
        "f.json",
        _raw_json(_row_text(id="1e400")),
        "id must be a whole number, got inf (not a number)",
    ),
    ("nan", "nan weight in CSV", "f.csv", _csv("nan"), "weight must be a whole number, got 'nan'"),
    (
        "nan",
        "NaN weight in Parquet",
        "f.parquet",
        _parquet(weight=float("nan")),
        "weight must be a whole number, got nan (not a number)",
    ),
    ("utf8", "Latin-1 CSV", "f.csv", _latin1_csv(), "is not UTF-8 text (byte 0xc9"),
    ("utf8", "a 0xff byte in JSON", "f.json", b"[\xff]", "is not UTF-8 text (byte 0xff"),
    (
        "utf8",
        "a lone surrogate in JSON text",
        "f.json",
        _raw_json(_row_text(container='"\\ud800"')),
        "container holds text that is not valid UTF-8",
    ),
    (
        "utf8",
        "a lone surrogate in a comment",
        "f.json",
        _raw_json(
            _row_text(comments='[{"author": "a", "text": "\\udfff", "created_at": "2026-01-01"}]')
        ),
        "comments 1 text holds text that is not valid UTF-8",
    ),
    ("shape", "a JSON object", "f.json", b'{"id": 1}', "must hold a list of anomaly objects"),
    ("shape", "a list of numbers", "f.json", b"[1, 2]", "must hold a list of anomaly objects"),
    ("shape", "a JSON string", "f.json", b'"anomalies"', "must hold a list of anomaly objects"),
    ("shape", "nested too deeply", "f.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (
        "shape",
        "a comment that is not an object",
        "f.json",
        _with_good_row(record(60, comments=[1])),
        "comment 1 is not an object",
    ),
    (
        "duplicates",
        "the same id twice",
        "f.json",
        _with_good_row(record(60), record(60)),
        "row 3 (id 60): id 60 already appears in row 2",
    ),
    (
        "duplicates",
        "the same id as text and number",
        "f.json",
        _with_good_row(record("61"), record(61.0)),
        "id 61 already appears in row 2",
    ),
    (
        "duplicates",
        "the first copy also bad",
        "f.json",
        _with_good_row(record(62, status="Closed"), record(62)),
        "id 62 already appears in row 2",
    ),
    (
        "duplicates",
        "the good row twice",
        "f.json",
        _with_good_row(record(SEEDED)),
        f"id {SEEDED} already appears in row 1",
    ),
]

IDS = [f"{c[0]}: {c[1]}" for c in CASES]
ONE_PER_CLASS = [c for i, c in enumerate(CASES) if c[0] not in {d[0] for d in CASES[:i]}]
