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
# First and last characters that Python's str.strip() never removes.
_EDGE = r"[!-~\p{L}\p{N}]"
_WHEN = (
    r"^(\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?)"
    r"(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)


def _v(key: str) -> str:
    return f"v[{_AT[key]}]"


def _text(x: str) -> str:
    return f"({x}) ->> '$'"


def _clean(x: str) -> str:
    """A JSON text with no white space at either end (so strip() keeps it as it is)."""
    s = _text(x)
    return (
        f"(json_type({x}) = 'VARCHAR' AND regexp_matches({s}, '^{_EDGE}')"
        f" AND regexp_matches({s}, '{_EDGE}$'))"
    )


def _whole(x: str, low: int, high: int) -> str:
    return (
        f"(json_type({x}) IN ('UBIGINT', 'BIGINT')"
        f" AND TRY_CAST({_text(x)} AS BIGINT) BETWEEN {low} AND {high})"
    )


def _absent(x: str) -> str:
    return f"coalesce(json_type({x}), 'NULL') = 'NULL'"


def _text_list(x: str) -> str:
    each = f"list_bool_and(list_transform(json_extract({x}, '$[*]'), lambda e: {_clean('e')}))"
    return f"(json_type({x}) = 'ARRAY' AND coalesce({each}, true))"


def _check_ok(e: str) -> str:
    keys = f"json_keys({e})"
    return (
        f"(json_type({e}) = 'OBJECT' AND list_has_all(['check_id', 'rule_type', 'message'], {keys})"
        f" AND len({keys}) = len(list_distinct({keys}))"
        f" AND {_whole(f'{e} -> {chr(39)}$.check_id{chr(39)}', 0, BIGINT_MAX)}"
        f" AND {_clean(f'{e} -> {chr(39)}$.rule_type{chr(39)}')}"
        f" AND {_clean(f'{e} -> {chr(39)}$.message{chr(39)}')})"
    )


def _checks_ok(x: str) -> str:
    each = f"list_bool_and(list_transform(json_extract({x}, '$[*]'), lambda e: {_check_ok('e')}))"
    return f"(json_type({x}) = 'ARRAY' AND json_array_length({x}) >= 1 AND coalesce({each}, false))"


def _none_or_empty(x: str) -> str:
    return f"({_absent(x)} OR (json_type({x}) = 'ARRAY' AND json_array_length({x}) = 0))"


_PARSED = f"""
SELECT row_no, j_type, keys, v,
  {_text(_v("status"))} AS status_text,
  CASE WHEN {_absent(_v("archive_reason"))} THEN NULL
       WHEN json_type({_v("archive_reason")}) = 'VARCHAR' THEN {_text(_v("archive_reason"))}
       ELSE '?' END AS reason_text,
  regexp_extract({_text(_v("detected_at"))}, '{_WHEN}', 1) AS local_time,
  regexp_extract({_text(_v("detected_at"))}, '{_WHEN}', 2) AS zone,
  list_transform(json_extract({_v("failed_checks")}, '$[*]'), lambda e: {{
    'check_id': TRY_CAST(e ->> '$.check_id' AS BIGINT),
    'rule_type': e ->> '$.rule_type', 'message': e ->> '$.message'}}) AS checks
FROM (
  SELECT row_number() OVER () AS row_no, json_type(json) AS j_type, json_keys(json) AS keys,
    json_extract(json, [{", ".join(f"'$.{k}'" for k in KNOWN_KEYS)}]) AS v
  FROM read_json_objects(?, format = 'array')
)
"""

_OK = " AND ".join(
    [
        "j_type = 'OBJECT'",
        f"list_has_all([{', '.join(repr(k) for k in KNOWN_KEYS)}], keys)",
        "len(keys) = len(list_distinct(keys))",
        _whole(_v("id"), 1, BIGINT_MAX),
        _whole(_v("datastore_id"), 0, BIGINT_MAX),
        _clean(_v("datastore_name")),
        _clean(_v("container")),
        _text_list(_v("fields")),
        f"json_type({_v('type')}) = 'VARCHAR'",
        f"{_text(_v('type'))} IN ('shape', 'record')",
        f"json_type({_v('status')}) = 'VARCHAR'",
        "status_text IN ('Active', 'Acknowledged', 'Archived')",
        "(CASE WHEN status_text = 'Archived'"
        " THEN reason_text IN ('Resolved', 'Invalid', 'Duplicate', 'Discarded')"
        " ELSE coalesce(reason_text, '') = '' END)",
        f"json_type({_v('detected_at')}) = 'VARCHAR'",
        "local_time <> '' AND TRY_CAST(local_time[1:4] AS INTEGER) BETWEEN 1000 AND 9998",
        _checks_ok(_v("failed_checks")),
        f"({_absent(_v('description'))} OR {_text(_v('description'))} = ''"
        f" OR {_clean(_v('description'))})",
        f"({_absent(_v('weight'))} OR {_whole(_v('weight'), 0, INTEGER_MAX)})",
        f"({_absent(_v('tags'))} OR {_text_list(_v('tags'))})",
        _none_or_empty(_v("comments")),
        _none_or_empty(_v("history")),
    ]
)

_OFFSET_MINUTES = (
    "CASE WHEN zone IN ('', 'Z') THEN 0"
    " ELSE (CASE WHEN zone[1] = '-' THEN -1 ELSE 1 END)"
    " * (TRY_CAST(zone[2:3] AS INTEGER) * 60 + TRY_CAST(zone[5:6] AS INTEGER)) END"
)

_STAGE = f"""
CREATE TEMP TABLE import_stage AS
SELECT row_no, ok, id, datastore_id, datastore_name, container, fields, anomaly_type,
  status, archive_reason, detected_at, description, weight, tags, checks,
  lower(array_to_string([container] || fields || list_transform(checks, lambda c: c.message), ' '))
    AS search_text
FROM (
  SELECT row_no, coalesce({_OK}, false) AS ok,
    TRY_CAST({_text(_v("id"))} AS BIGINT) AS id,
    TRY_CAST({_text(_v("datastore_id"))} AS BIGINT) AS datastore_id,
    {_text(_v("datastore_name"))} AS datastore_name,
    {_text(_v("container"))} AS container,
    coalesce(json_extract_string({_v("fields")}, '$[*]'), []) AS fields,
    {_text(_v("type"))} AS anomaly_type,
    status_text AS status,
    CASE WHEN status_text = 'Archived' THEN reason_text END AS archive_reason,
    TRY_CAST(replace(local_time, 'T', ' ') AS TIMESTAMP) - to_minutes({_OFFSET_MINUTES})
      AS detected_at,
    coalesce({_text(_v("description"))}, '') AS description,
    coalesce(TRY_CAST({_text(_v("weight"))} AS INTEGER), 1) AS weight,
    coalesce(json_extract_string({_v("tags")}, '$[*]'), []) AS tags,
    checks
  FROM ({_PARSED})
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
        "CREATE TEMP TABLE import_moves AS SELECT s.row_no, s.id, a.status AS from_status,"
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
    cur.execute(
        "INSERT OR REPLACE INTO anomalies SELECT id, datastore_id, datastore_name, container,"
        " fields, anomaly_type, status, archive_reason, detected_at, description, weight, tags,"
        " search_text, ?::TIMESTAMP FROM import_stage ORDER BY row_no",
        [now],
    )
    cur.execute(
        "INSERT INTO failed_checks SELECT id, position - 1, c.check_id, c.rule_type, c.message"
        " FROM (SELECT row_no, id, unnest(checks) AS c,"
        " generate_subscripts(checks, 1) AS position FROM import_stage)"
        " ORDER BY row_no, position"
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
