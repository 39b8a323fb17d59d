"""The import's fast path in SQL: a JSON file checked in columns, then written set-wise.

Decisions, and why:

- DuckDB reads the file itself (``read_json_objects``, in C, on every core)
  into a temporary stage table of typed columns, one row per anomaly, with an
  ``ok`` flag computed by vectorised expressions. Checking a million rows in
  Python cost ~35 us each, decoding them ~15 us more, and a long file was
  parsed twice; here the file is parsed once.
- The checks are *narrower* than the row validator's (``lib.anomalies.importing``):
  a row is ``ok`` only in the plain form the product itself writes (whole
  numbers as JSON numbers, the exact status and reason names, text without
  white space at its ends and ASCII where it is searched, ISO date-times
  with ``Z`` or an offset, lists as JSON lists, no comments or history, no
  unknown or repeated keys). Whatever is not plainly good sends the whole file
  back to the row validator, which decides and words every problem. So the
  fast path needs the row validator's *decision* only where it accepts, and
  writes exactly what the row validator's parse would write
  (``tests/unit/test_import_fast.py`` checks both over generated files).
- The writes are the row path's, set-wise: the status moves (compared before
  the upsert), ``INSERT OR REPLACE`` of the anomalies, their checks replaced.
  Queuing Jira comments for moved anomalies with links stays with the caller
  (the one change path), for the few moves that have a link.
- Every statement runs in the caller's transaction: a refusal rolls the stage
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
_AT = {key: i + 1 for i, key in enumerate(KNOWN_KEYS)}  # DuckDB lists count from 1
_WHEN = (
    r"^(\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?)"
    r"(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)


def _t(key: str) -> str:
    """The JSON type of a top-level value (NULL when the key is missing, 'NULL' for null)."""
    return f"t[{_AT[key]}]"


def _s(key: str) -> str:
    """A top-level value as text (a list or object as its JSON text)."""
    return f"s[{_AT[key]}]"


def _edge(s: str) -> str:
    """The first character of ``s`` is neither white space nor a control (no str.strip() eats it).

    Python's white space is all in Unicode's Z categories and Cc:
    U+0000-0020, U+007F-00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F,
    U+205F, U+3000. Compared as code points: a regular expression per text
    cost most of the check's time.
    """
    u = f"unicode({s})"
    return (
        f"({u} > 32 AND {u} NOT BETWEEN 127 AND 160 AND {u} NOT BETWEEN 8192 AND 8202"
        f" AND {u} NOT IN (5760, 8232, 8233, 8239, 8287, 12288))"
    )


def _stripped(s: str) -> str:
    """Text with no white space at either end (so str.strip() keeps it as it is)."""
    return f"({_edge(s)} AND {_edge(f'right({s}, 1)')})"


def _clean(key: str) -> str:
    return f"({_t(key)} = 'VARCHAR' AND {_stripped(_s(key))})"


def _whole(key: str, low: int, high: int) -> str:
    return (
        f"({_t(key)} IN ('UBIGINT', 'BIGINT')"
        f" AND TRY_CAST({_s(key)} AS BIGINT) BETWEEN {low} AND {high})"
    )


def _absent(key: str) -> str:
    return f"coalesce({_t(key)}, 'NULL') = 'NULL'"


def _array(key: str) -> str:
    """The value as JSON when it is a list (NULL otherwise: other text is not parsed)."""
    return f"CASE WHEN {_t(key)} = 'ARRAY' THEN {_s(key)}::JSON END"


def _all(items: str, test: str) -> str:
    """``test`` (of x) holds for every item (a NULL counts as false)."""
    return (
        f"coalesce(list_bool_and(list_transform({items}, lambda x: coalesce({test}, false))), true)"
    )


def _texts(prefix: str, key: str) -> list[str]:
    """A list of text: its element types and values, as two stage columns."""
    return [
        f"json_type({_array(key)}, '$[*]') AS {prefix}_types",
        f"json_extract_string({_array(key)}, '$[*]') AS {prefix}",
    ]


def _texts_ok(prefix: str) -> str:
    types_ok = _all(f"{prefix}_types", "x = 'VARCHAR'")
    return f"({types_ok} AND {_all(prefix, _stripped('x'))})"


_CHECK_SHAPE = '[{"check_id": "JSON", "rule_type": "JSON", "message": "JSON"}]'
# The list parsed once into its three values per check (a value is NULL when
# its key is missing, or the item is not an object); the keys are counted
# over all checks, so an unknown or repeated key (Python reads the last) shows.
_CHECKS = f"""
  json_array_length({_array("failed_checks")}) AS check_count,
  len(json_type({_array("failed_checks")}, '$[*].*')) AS check_key_count,
  from_json({_array("failed_checks")}, '{_CHECK_SHAPE}') AS checks"""

_CHECKS_OK = " AND ".join(
    [
        "check_count >= 1",
        "check_key_count = 3 * check_count",
        _all("checks", "json_type(x.check_id) IN ('UBIGINT', 'BIGINT')"),
        _all("check_ids", f"x BETWEEN 0 AND {BIGINT_MAX}"),
        _all("checks", "json_type(x.rule_type) = 'VARCHAR'"),
        _all("rule_types", _stripped("x")),
        _all("checks", "json_type(x.message) = 'VARCHAR'"),
        _all("messages", _stripped("x")),
    ]
)

_PATHS = ", ".join(f"'$.{k}'" for k in KNOWN_KEYS)

_PARSED = f"""
SELECT j_type, keys, t, s,
  CASE WHEN {_absent("archive_reason")} THEN NULL
       WHEN {_t("archive_reason")} = 'VARCHAR' THEN {_s("archive_reason")}
       ELSE '?' END AS reason_text,
  regexp_extract({_s("detected_at")}, '{_WHEN}', 1) AS local_time,
  regexp_extract({_s("detected_at")}, '{_WHEN}', 2) AS zone,
  {", ".join(_texts("fields", "fields"))},
  {", ".join(_texts("tags", "tags"))},
  {_CHECKS}
FROM (
  SELECT json_type(json) AS j_type, json_keys(json) AS keys,
    json_type(json, [{_PATHS}]) AS t, json_extract_string(json, [{_PATHS}]) AS s
  FROM read_json_objects(?, format = 'array')
)
"""

_OK = " AND ".join(
    [
        "j_type = 'OBJECT'",
        f"list_has_all([{', '.join(repr(k) for k in KNOWN_KEYS)}], keys)",
        "len(keys) = len(list_distinct(keys))",
        _whole("id", 1, BIGINT_MAX),
        _whole("datastore_id", 0, BIGINT_MAX),
        _clean("datastore_name"),
        _clean("container"),
        f"{_t('fields')} = 'ARRAY'",
        _texts_ok("fields"),
        f"{_t('type')} = 'VARCHAR' AND {_s('type')} IN ('shape', 'record')",
        f"{_t('status')} = 'VARCHAR'",
        f"{_s('status')} IN ('Active', 'Acknowledged', 'Archived')",
        f"(CASE WHEN {_s('status')} = 'Archived'"
        " THEN reason_text IN ('Resolved', 'Invalid', 'Duplicate', 'Discarded')"
        " ELSE coalesce(reason_text, '') = '' END)",
        f"{_t('detected_at')} = 'VARCHAR'",
        "local_time <> '' AND TRY_CAST(local_time[1:4] AS INTEGER) BETWEEN 1000 AND 9998",
        f"{_t('failed_checks')} = 'ARRAY'",
        _CHECKS_OK,
        f"({_absent('description')} OR ({_t('description')} = 'VARCHAR'"
        f" AND {_s('description')} = '') OR {_clean('description')})",
        f"({_absent('weight')} OR {_whole('weight', 0, INTEGER_MAX)})",
        f"({_absent('tags')} OR ({_t('tags')} = 'ARRAY' AND {_texts_ok('tags')}))",
        *(
            f"({_absent(key)} OR ({_t(key)} = 'ARRAY' AND {_s(key)} = '[]'))"  # DuckDB's own text
            for key in ("comments", "history")
        ),
    ]
)

_OFFSET_MINUTES = (
    "CASE WHEN zone IN ('', 'Z') THEN 0"
    " ELSE (CASE WHEN zone[1] = '-' THEN -1 ELSE 1 END)"
    " * (TRY_CAST(zone[2:3] AS INTEGER) * 60 + TRY_CAST(zone[5:6] AS INTEGER)) END"
)

_STAGE = f"""
CREATE TEMP TABLE import_stage AS
SELECT ok, id, datastore_id, datastore_name, container, fields, anomaly_type,
  status, archive_reason, detected_at, description, weight, tags,
  check_ids, rule_types, messages,
  lower(array_to_string([container] || fields || messages, ' ')) AS search_text
FROM (
  SELECT coalesce({_OK}, false) AS ok,
    TRY_CAST({_s("id")} AS BIGINT) AS id,
    TRY_CAST({_s("datastore_id")} AS BIGINT) AS datastore_id,
    {_s("datastore_name")} AS datastore_name,
    {_s("container")} AS container,
    coalesce(fields, []) AS fields,
    {_s("type")} AS anomaly_type,
    {_s("status")} AS status,
    CASE WHEN {_s("status")} = 'Archived' THEN reason_text END AS archive_reason,
    TRY_CAST(replace(local_time, 'T', ' ') AS TIMESTAMP) - to_minutes({_OFFSET_MINUTES})
      AS detected_at,
    coalesce({_s("description")}, '') AS description,
    coalesce(TRY_CAST({_s("weight")} AS INTEGER), 1) AS weight,
    coalesce(tags, []) AS tags,
    check_ids, rule_types, messages
  FROM (
    SELECT *,
      list_transform(checks, lambda c: TRY_CAST(c.check_id ->> '$' AS BIGINT)) AS check_ids,
      list_transform(checks, lambda c: c.rule_type ->> '$') AS rule_types,
      list_transform(checks, lambda c: c.message ->> '$') AS messages
    FROM ({_PARSED})
  )
)
"""

# Searched text must lower-case the same in DuckDB as in Python: ASCII only.
_VERDICT = """
SELECT count(*), count(*) FILTER (WHERE NOT ok OR detected_at IS NULL
  OR strlen(search_text) <> length(search_text)), count(DISTINCT id)
FROM import_stage
"""


def stage_json_in(cur: duckdb.DuckDBPyConnection, path: str, max_rows: int) -> int | None:
    """Read and check a JSON file into ``import_stage``; its row count if every row is plainly good.

    None when the fast path cannot decide: DuckDB cannot read the file, a row
    is not in the plain form, ids repeat, or the row count is 0 or above
    ``max_rows``. The stage is then dropped; the caller checks row by row.
    """
    try:
        cur.execute(_STAGE, [path])
    except duckdb.Error:
        return None  # not JSON DuckDB reads as a list of objects: the row path words why
    rows, bad, distinct = cur.execute(_VERDICT).fetchone()
    if bad or distinct != rows or not 0 < rows <= max_rows:
        drop_stage_in(cur)
        return None
    return rows


def drop_stage_in(cur: duckdb.DuckDBPyConnection) -> None:
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
