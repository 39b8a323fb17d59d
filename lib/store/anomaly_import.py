"""The import's fast path in SQL: a JSON file checked in columns, then written set-wise.

Decisions, and why:

- DuckDB reads the file itself, once (``read_json`` with every column named
  and typed, in C) into a scratch table, then checks it into a stage table
  of typed columns, one row per anomaly, with an ``ok`` flag computed by
  vectorised expressions. Checking a million rows in Python cost ~35 us
  each, decoding them ~15 us more. Reading raw objects
  (``read_json_objects``) and taking each value out with JSON functions
  parsed every object about ten times over: 19 s of a million rows' 22 s.
  The typed read takes 1.6 s on one core (DuckDB reads a JSON list in one
  pass); it is committed before the import's transaction begins (a scratch
  temp table, the cursor's own), so the checks, which read it, run on every
  core: 1.6 s instead of 2.9 s (``Database.transaction``'s ``prepare``). The
  stage is built there too (it reads only the scratch table), so the writes
  that read it run on every core as well, and the transaction does not carry
  it: a million rows' writes and commit 3.0 s before, 2.4 s so.
- The checks are *narrower* than the row validator's (``lib.anomalies.importing``):
  a row is ``ok`` only in the plain form the product itself writes (whole
  numbers in plain digits, the exact status and reason names, text without
  white space at its ends and ASCII where it is searched, ISO date-times
  with ``Z`` or an offset, lists as JSON lists, no comments or history, no
  repeated keys). Whatever is not plainly good sends the whole file
  back to the row validator, which decides and words every problem. So the
  fast path needs the row validator's *decision* only where it accepts, and
  writes exactly what the row validator's parse would write
  (``tests/unit/test_import_fast.py`` checks both over generated files).
- The writes are the row path's, set-wise: the status moves (compared before
  the upsert), ``INSERT OR REPLACE`` of the anomalies, their checks replaced.
  Queuing Jira comments for moved anomalies with links stays with the caller
  (the one change path), for the few moves that have a link.
- Every statement but the scratch read and stage (which write nothing of
  the database's) runs in the caller's transaction: a refusal rolls the stage
  back with everything else, so a bad file leaves the database unchanged.
  Only our own constants are formatted into the SQL; the path is a parameter.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from lib.store.models import StatusChange

# DuckDB's memory for the fast path's transaction (the stage and the writes):
# at the row path's 256 MB a million rows spilled to disk and took 40 s; past
# this they spill still, so the process stays under 1 GB whatever the file.
FAST_IMPORT_MEMORY = "640MB"
BIGINT_MAX = 2**63 - 1
INTEGER_MAX = 2**31 - 1
KNOWN_KEYS = (
    "id",
    "datastore_id",
    "datastore_name",
    "container",
    "fields",
    "type",
    "status",
    "archive_reason",
    "detected_at",
    "failed_checks",
    "description",
    "weight",
    "tags",
    "comments",
    "history",
)
# The file is read once, by DuckDB's JSON reader with every column named and
# typed (as fast as its own ``read_json``), so nothing is parsed twice. Texts
# (and whole numbers) are read as VARCHAR: DuckDB then gives a string's text,
# and any other value's JSON text (5.5, true, [1], NaN), which is valid JSON,
# where hardly any text is: a text that is valid JSON is not plain (see
# _plain_text). A file DuckDB cannot read so (a row that is not an object, a
# list where a value was expected, a repeated key, a lone surrogate) is not
# plain either. Keys are matched exactly (case too); others are ignored, as
# the row path ignores them.
_COLUMNS = {
    **{key: "VARCHAR" for key in KNOWN_KEYS},
    "fields": "VARCHAR[]",
    "tags": "VARCHAR[]",
    "failed_checks": "STRUCT(check_id VARCHAR, rule_type VARCHAR, message VARCHAR)[]",
    "comments": "JSON",
    "history": "JSON",
}
_READ = (
    "read_json(?, format = 'array', records = true, columns = {"
    + ", ".join(f"{key!r}: {kind!r}" for key, kind in _COLUMNS.items())
    + "})"
)
_WHEN = (
    r"^(\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?)"
    r"(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)


def _edge(s: str) -> str:
    """The first character of ``s`` is neither white space nor a control (no str.strip() eats it).

    Python's white space is all in Unicode's Z categories and Cc:
    U+0000-0020, U+007F-00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F,
    U+205F, U+3000. Compared as code points: a regular expression per text
    cost most of the check's time, and so did comparing every code point with
    all of these (1 s a million rows): printable ASCII is decided first.
    """
    u = f"unicode({s})"
    return (
        f"(CASE WHEN {u} BETWEEN 33 AND 126 THEN true"
        f" ELSE {u} > 32 AND {u} NOT BETWEEN 127 AND 160 AND {u} NOT BETWEEN 8192 AND 8202"
        f" AND {u} <> 5760 AND {u} NOT BETWEEN 8232 AND 8233 AND {u} <> 8239 AND {u} <> 8287"
        f" AND {u} <> 12288 END)"
    )


def _plain_text(s: str) -> str:
    """A JSON string, not empty, that str.strip() keeps as it is.

    Read as VARCHAR, 5 and "5" are both '5': a value that is valid JSON may
    not have been a string, and the row validator decides it.
    """
    # ``s[-1]``, the last code point, cost a third of ``right(s, 1)``.
    return f"({_edge(s)} AND {_edge(f'({s})[-1]')} AND NOT json_valid({s}))"


def _whole(s: str, low: int, high: int) -> str:
    """A whole number from ``low`` to ``high``, written in plain digits (5 or "5").

    The row validator reads both alike; 5.0, "+5", " 5" or "05" do not round
    trip through BIGINT, and it decides those.
    """
    n = f"TRY_CAST({s} AS BIGINT)"
    return f"({n} BETWEEN {low} AND {high} AND {n}::VARCHAR = {s})"


def _all(items: str, test: str) -> str:
    """``test`` (of x) holds for every item (a NULL counts as false)."""
    return (
        f"coalesce(list_bool_and(list_transform({items}, lambda x: coalesce({test}, false))), true)"
    )


_OK = " AND ".join(
    [
        _whole("id", 1, BIGINT_MAX),
        _whole("datastore_id", 0, BIGINT_MAX),
        _plain_text("datastore_name"),
        _plain_text("container"),
        f"fields IS NOT NULL AND {_all('fields', _plain_text('x'))}",
        "\"type\" IN ('shape', 'record')",
        "status IN ('Active', 'Acknowledged', 'Archived')",
        "(CASE WHEN status = 'Archived'"
        " THEN archive_reason IN ('Resolved', 'Invalid', 'Duplicate', 'Discarded')"
        " ELSE coalesce(archive_reason, '') = '' END)",
        "moment.local_time <> ''",
        "TRY_CAST(moment.local_time[1:4] AS INTEGER) BETWEEN 1000 AND 9998",
        # A check that is not an object has no check_id, so no whole number.
        "len(failed_checks) >= 1",
        _all("check_id_texts", _whole("x", 0, BIGINT_MAX)),
        _all("rule_types", _plain_text("x")),
        _all("messages", _plain_text("x")),
        f"(coalesce(description, '') = '' OR {_plain_text('description')})",
        f"(weight IS NULL OR {_whole('weight', 0, INTEGER_MAX)})",
        f"(tags IS NULL OR {_all('tags', _plain_text('x'))})",
        "coalesce(comments::VARCHAR, '[]') = '[]'",  # DuckDB's own text of an empty list
        "coalesce(history::VARCHAR, '[]') = '[]'",
    ]
)

# The file as read, before the transaction (``read_json_in``); one row past
# the most an import takes is enough to refuse a longer file.
_RAW = f"CREATE TEMP TABLE import_raw AS SELECT * FROM {_READ} LIMIT ?"

_OFFSET_MINUTES = (
    "CASE WHEN moment.zone IN ('', 'Z') THEN 0"
    " ELSE (CASE WHEN moment.zone[1] = '-' THEN -1 ELSE 1 END)"
    " * (TRY_CAST(moment.zone[2:3] AS INTEGER) * 60 + TRY_CAST(moment.zone[5:6] AS INTEGER)) END"
)

_STAGE = f"""
CREATE TEMP TABLE import_stage AS
SELECT ok, id, datastore_id, datastore_name, container, fields, anomaly_type,
  status, archive_reason, detected_at, description, weight, tags,
  check_ids, rule_types, messages,
  -- " ".join([container, *fields, *messages]).lower(): no text is empty, nor messages
  lower(concat_ws(' ', container, nullif(array_to_string(fields, ' '), ''),
    array_to_string(messages, ' '))) AS search_text
FROM (
  SELECT coalesce({_OK}, false) AS ok,
    TRY_CAST(id AS BIGINT) AS id,
    TRY_CAST(datastore_id AS BIGINT) AS datastore_id,
    datastore_name, container, coalesce(fields, []) AS fields,
    "type" AS anomaly_type, status,
    CASE WHEN status = 'Archived' THEN archive_reason END AS archive_reason,
    TRY_CAST(replace(moment.local_time, 'T', ' ') AS TIMESTAMP) - to_minutes({_OFFSET_MINUTES})
      AS detected_at,
    coalesce(description, '') AS description,
    coalesce(TRY_CAST(weight AS INTEGER), 1) AS weight,
    coalesce(tags, []) AS tags,
    list_transform(check_id_texts, lambda x: TRY_CAST(x AS BIGINT)) AS check_ids,
    rule_types, messages
  FROM (
    SELECT *, regexp_extract(detected_at, '{_WHEN}', ['local_time', 'zone']) AS moment,
      list_transform(failed_checks, lambda c: c.check_id) AS check_id_texts,
      list_transform(failed_checks, lambda c: c.rule_type) AS rule_types,
      list_transform(failed_checks, lambda c: c.message) AS messages
    FROM import_raw
  )
)
"""

# Searched text must lower-case the same in DuckDB as in Python: ASCII only.
_VERDICT = """
SELECT count(*), count(*) FILTER (WHERE NOT ok OR detected_at IS NULL
  OR strlen(search_text) <> length(search_text)), count(DISTINCT id)
FROM import_stage
"""


def read_json_in(cur: duckdb.DuckDBPyConnection, path: str, max_rows: int) -> bool:
    """Read a JSON file and check it into the scratch table ``import_stage``, outside any transaction.

    The read is one core's work whatever is done with it (DuckDB reads a JSON
    list in one pass); the checks over the committed copy (``import_raw``)
    then use every core, and so do the writes that read the committed stage
    (see ``Database.transaction``). False when DuckDB cannot read the file so:
    the row path words why.
    """
    try:
        cur.execute(_RAW, [path, max_rows + 1])
        cur.execute(_STAGE)
    except duckdb.Error:
        return False
    finally:
        cur.execute("DROP TABLE IF EXISTS import_raw")  # in the stage now
    return True


def stage_json_in(cur: duckdb.DuckDBPyConnection, max_rows: int) -> int | None:
    """The row count of ``import_stage`` if every row is plainly good.

    None when the fast path cannot decide: DuckDB could not read the file, a
    row is not in the plain form, ids repeat, or the row count is 0 or above
    ``max_rows``. The stage is then dropped; the caller checks row by row.
    """
    try:
        rows, bad, distinct = cur.execute(_VERDICT).fetchone()
    except duckdb.Error:
        return None  # not read (read_json_in said why not): the row path words it
    if bad or distinct != rows or not 0 < rows <= max_rows:
        drop_stage_in(cur)
        return None
    return rows


def drop_stage_in(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("DROP TABLE IF EXISTS import_raw")
    cur.execute("DROP TABLE IF EXISTS import_stage")
    cur.execute("DROP TABLE IF EXISTS import_moves")


def write_stage_in(
    cur: duckdb.DuckDBPyConnection, who: str, now: datetime
) -> tuple[int, list[int]]:
    """Write the staged anomalies as the row path does; (known anomalies updated, moved ids).

    Moves are recorded in ``import_moves`` (read them with ``staged_moves_in``)
    until ``drop_stage_in``.
    """
    cur.execute(
        "CREATE TEMP TABLE import_moves AS SELECT s.rowid AS row_no, s.id, a.status AS from_status,"
        " a.archive_reason AS from_reason, s.status AS to_status, s.archive_reason AS to_reason"
        " FROM import_stage s JOIN anomalies a ON a.id = s.id"
        " WHERE a.status IS DISTINCT FROM s.status"
        " OR a.archive_reason IS DISTINCT FROM s.archive_reason"
    )
    updated = cur.execute(
        "SELECT count(*) FROM import_stage s JOIN anomalies a ON a.id = s.id"
    ).fetchone()[0]
    cur.execute(
        "INSERT INTO status_changes (anomaly_id, changed_by, changed_at, from_status,"
        " from_reason, to_status, to_reason)"
        " SELECT id, ?, ?, from_status, from_reason, to_status, to_reason"
        " FROM import_moves ORDER BY row_no",
        [who, now],
    )
    cur.execute("DELETE FROM failed_checks WHERE anomaly_id IN (SELECT id FROM import_stage)")
    # New ids by a plain INSERT (the conflict check of OR REPLACE per row was
    # most of the write), known ones replaced; in the file's order, unsorted.
    columns = (
        "SELECT id, datastore_id, datastore_name, container, fields, anomaly_type, status,"
        " archive_reason, detected_at, description, weight, tags, search_text, ?::TIMESTAMP"
        " FROM import_stage"
    )
    if updated:
        cur.execute(
            f"INSERT OR REPLACE INTO anomalies {columns} WHERE id IN (SELECT id FROM anomalies)",
            [now],
        )
    cur.execute(
        f"INSERT INTO anomalies {columns} WHERE id NOT IN (SELECT id FROM anomalies)"
        if updated
        else f"INSERT INTO anomalies {columns}",
        [now],
    )
    cur.execute(
        "INSERT INTO failed_checks SELECT id, position - 1, check_id, rule_type, message"
        " FROM (SELECT id, unnest(check_ids) AS check_id, unnest(rule_types) AS rule_type,"
        " unnest(messages) AS message, generate_subscripts(check_ids, 1) AS position"
        " FROM import_stage)"
    )
    moved = [r[0] for r in cur.execute("SELECT id FROM import_moves ORDER BY row_no").fetchall()]
    return updated, moved


def staged_moves_in(
    cur: duckdb.DuckDBPyConnection, ids: set[int], who: str, now: datetime
) -> list[StatusChange]:
    """The recorded moves of the anomalies among ``ids``, in the file's order."""
    rows = cur.execute(
        "SELECT id, from_status, from_reason, to_status, to_reason FROM import_moves"
        " WHERE id IN (SELECT unnest(?::BIGINT[])) ORDER BY row_no",
        [sorted(ids)],
    ).fetchall()
    return [StatusChange(0, r[0], who, now, r[1], r[2], r[3], r[4]) for r in rows]
