"""The statistics rollup's writes: one slot gets +1 in the transaction that finishes a row.

Decisions, and why:

- Written by the sync log's named transitions (``insert_in`` of a finished
  row, ``finish_ok_in``, ``fail_in``, ``release_in``, ``defer_in``) inside
  their own transaction, so a count exists exactly when its row's outcome
  does, and the log's cleanup (which deletes rows) never changes a count.
- Outcomes are events: a failed create that a person retries and that then
  succeeds counts one ``failed`` and one ``ok``; an attempt released for a
  later try (429, timeout, 5xx) counts one ``retried``; a row held back by the
  update limit counts one ``deferred`` (re-planning a deferred row does not).
- The slot is the row's ``created_at`` cut to 15 minutes (see migration 009):
  the time the Log page shows, and exact for every time zone's day.
- Each write appends a row (~1 ms in the finishing transaction); an upsert on
  a key would cost 10-25 ms in DuckDB, on every Jira call. Readers sum rows
  anyway, and ``compact_in`` (run by the log's cleanup) merges each key's rows
  into one, so the table stays near one row per slot and key.
"""

from __future__ import annotations

import math

import duckdb

SLOT_SQL = "time_bucket(INTERVAL 15 MINUTE, created_at)"
NO_KIND = ""  # ok and deferred have no error kind
UNKNOWN_KIND = "other"  # a failure without a classified kind (old rows, a failed create's waiters)
MAX_BIN = 99

COUNTER_COLUMNS = (
    "slot, action, mode, outcome, error_kind, calls, latency_calls, latency_ms_sum, waited_s,"
    " latency_bin"
)
_ONE_ROW = (
    f"INSERT INTO sync_stats ({COUNTER_COLUMNS}) SELECT {SLOT_SQL}, action, mode, ?, ?, 1, ?, ?,"
    " {waited}, ? FROM sync_log WHERE id = ?"
)
# The wait before the next try: from when the attempt was sent to when it is
# planned again, less the call itself (release_in is given no clock).
_WAITED = "greatest(epoch(?::TIMESTAMP) - epoch(coalesce(sent_at, ?::TIMESTAMP)) - ? / 1000.0, 0)"


def latency_bin(latency_ms: float) -> int:
    """The histogram bin of a latency: bin b holds [2^(b/4), 2^((b+1)/4)) ms."""
    return min(max(math.floor(4 * math.log2(max(latency_ms, 1.0))), 0), MAX_BIN)


def bin_lower_ms(position: float) -> float:
    """The latency at a (fractional) bin position: the inverse of ``latency_bin``."""
    return 2.0 ** (position / 4)


def record_in(
    cur: duckdb.DuckDBPyConnection,
    log_id: int,
    outcome: str,
    *,
    error_kind: str | None = None,
    latency_ms: float | None = None,
) -> None:
    """Count one outcome of row ``log_id`` (its slot, action and mode come from the row)."""
    kind = NO_KIND if outcome in ("ok", "deferred") else str(error_kind or UNKNOWN_KIND)
    measured = latency_ms is not None
    cur.execute(
        _ONE_ROW.format(waited="0"),
        [outcome, kind, int(measured), float(latency_ms or 0.0), _bin(latency_ms), log_id],
    )


def record_retry_in(
    cur: duckdb.DuckDBPyConnection,
    log_id: int,
    *,
    error_kind: str | None,
    latency_ms: float | None,
    next_attempt_at,
) -> None:
    """Count one attempt Jira refused for now (a classified error), with its wait until the next.

    A release without an error kind is no Jira error (waiting for a lost
    create's confirmation, a look-up that will be repeated): not a retry.
    """
    if error_kind is None:
        return
    measured = latency_ms is not None
    cur.execute(
        _ONE_ROW.format(waited=_WAITED),
        [
            "retried",
            str(error_kind),
            int(measured),
            float(latency_ms or 0.0),
            next_attempt_at,
            next_attempt_at,
            float(latency_ms or 0.0),
            _bin(latency_ms),
            log_id,
        ],
    )


def record_waiters_failed_in(cur: duckdb.DuckDBPyConnection, create_id: int, statuses) -> None:
    """Count the unfinished rows that wait on a create which just failed (they fail with it)."""
    marks = ", ".join("?" for _ in statuses)
    cur.execute(
        f"INSERT INTO sync_stats ({COUNTER_COLUMNS}) SELECT {SLOT_SQL} AS s, action, mode,"
        f" 'failed', ?, count(*), 0, 0, 0, NULL FROM sync_log WHERE waits_on = ? AND status IN ({marks})"
        " GROUP BY s, action, mode",
        [UNKNOWN_KIND, create_id, *map(str, statuses)],
    )


def record_deferred_in(cur: duckdb.DuckDBPyConnection, log_id: int) -> None:
    """Count a row held back by the update limit the first time (pending -> deferred)."""
    cur.execute(
        f"INSERT INTO sync_stats ({COUNTER_COLUMNS}) SELECT {SLOT_SQL}, action, mode,"
        " 'deferred', ?, 1, 0, 0, 0, NULL FROM sync_log WHERE id = ? AND status = 'pending'",
        [NO_KIND, log_id],
    )


def _bin(latency_ms: float | None) -> int | None:
    return None if latency_ms is None else latency_bin(latency_ms)


_MERGES = (  # (table, key columns, summed columns)
    (
        "sync_stats",
        "slot, action, mode, outcome, error_kind, latency_bin",
        "calls, latency_calls, latency_ms_sum, waited_s",
    ),
    ("sync_latency_stats", "slot, bin", "calls"),
)


def compact_in(cur: duckdb.DuckDBPyConnection) -> None:
    """Merge each key's appended rows into one, in time order (every sum stays the same)."""
    for table, keys, summed in _MERGES:
        sums = ", ".join(f"sum({column})" for column in summed.split(", "))
        cur.execute(
            f"CREATE TEMP TABLE merged_rollup AS SELECT {keys}, {sums} FROM {table}"
            f" GROUP BY {keys} ORDER BY slot"
        )
        cur.execute(f"DELETE FROM {table}")
        cur.execute(f"INSERT INTO {table} ({keys}, {summed}) SELECT * FROM merged_rollup")
        cur.execute("DROP TABLE merged_rollup")


def rebuild_from_log_in(cur: duckdb.DuckDBPyConnection) -> None:
    """Count every finished row of the log as it is (what migration 009 does once).

    For tests and benchmarks that write log rows directly: the product's rows
    are counted as they finish, never by this.
    """
    cur.execute("DELETE FROM sync_stats")
    cur.execute("DELETE FROM sync_latency_stats")  # counted before migration 016 only
    cur.execute(
        f"INSERT INTO sync_stats ({COUNTER_COLUMNS}) SELECT {SLOT_SQL} AS s, action, mode, status,"
        " CASE WHEN status = 'failed' THEN coalesce(error_kind, 'other') ELSE '' END AS k,"
        " count(*), count(latency_ms), coalesce(sum(latency_ms), 0), 0,"
        f" least(greatest(floor(4 * log2(greatest(latency_ms, 1))), 0), {MAX_BIN})::INTEGER AS b"
        " FROM sync_log WHERE status IN ('ok', 'failed') GROUP BY s, action, mode, status, k, b"
        " ORDER BY s"  # in time order, as the product appends them: ranges skip row groups
    )
