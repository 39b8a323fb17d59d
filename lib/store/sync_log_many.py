"""Set-wise transitions of ``sync_log`` rows, for a bulk call's rows (up to 50 at once).

The same transitions as ``lib.store.sync_log``'s (``insert``, ``claim``, ``finish_ok``),
in one statement for many rows: a bulk create confirmed row by row cost ~5
statements per row, which was most of a 500-ticket job's time. Kept beside,
not inside, ``SyncLog``; each names the single transition it mirrors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lib.store import stats_rollup
from lib.store.sync_log import (
    _COLUMNS,
    _WRITABLE,
    CLAIMABLE,
    LogRow,
    SyncAction,
    SyncMode,
    SyncStatus,
    _mark_waited_on_in,
)


def claim_many_in(
    cur, log_ids: list[int], *, connection_id: int, token: str, now: datetime
) -> list[LogRow]:
    """``claim`` for many rows in one statement (a bulk call's): those of ``log_ids``
    that are pending/deferred, not waiting and of ``connection_id``; the claimed rows."""
    claimed = cur.execute(
        "UPDATE sync_log SET status = ?, claimed_by = ?, attempts = attempts + 1, sent_at = ?"
        " WHERE id IN (SELECT unnest(?::BIGINT[])) AND status IN (?, ?)"
        " AND waits_on IS NULL AND connection_id = ? RETURNING id",
        [
            str(SyncStatus.SENDING),
            token,
            now,
            list(log_ids),
            *map(str, CLAIMABLE),
            connection_id,
        ],
    ).fetchall()
    ids = [r[0] for r in claimed]
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM sync_log WHERE id IN (SELECT unnest(?::BIGINT[])) ORDER BY id",
        [ids],
    ).fetchall()
    return [LogRow(*r) for r in rows]


def finish_ok_many_in(cur, done: list[dict[str, Any]], *, now: datetime) -> None:
    """``finish_ok_in`` for many rows in one statement (a bulk call's confirmed creates).

    ``done``: dicts of id, response_json, latency_ms, link_id, ticket_id, ticket_key,
    ticket_url. Sets what ``finish_ok_in`` sets: keep the two alike.
    """
    if not done:
        return
    names = ("id", "response_json", "latency_ms", "link_id", "ticket_id", "ticket_key",
             "ticket_url")  # fmt: skip
    marks = ", ".join(["(?::BIGINT, ?, ?::DOUBLE, ?::BIGINT, ?, ?, ?)"] * len(done))
    cur.execute(
        "UPDATE sync_log SET status = ?, claimed_by = NULL, finished_at = ?,"
        " needs_reconcile = FALSE, permanent = FALSE, error = NULL, error_kind = NULL,"
        " response_json = v.response_json, latency_ms = v.latency_ms, link_id = v.link_id,"
        " ticket_id = v.ticket_id, ticket_key = v.ticket_key, ticket_url = v.ticket_url"
        f" FROM (VALUES {marks}) AS v({', '.join(names)}) WHERE sync_log.id = v.id",
        [str(SyncStatus.OK), now, *(item[name] for item in done for name in names)],
    )
    for item in done:  # counted as finish_ok_in counts one (the statistics' rollup)
        stats_rollup.record_in(cur, item["id"], str(SyncStatus.OK), latency_ms=item["latency_ms"])


def waited_on_in(cur, create_ids: list[int]) -> set[int]:
    """Which of these creates have rows waiting on them (changes made meanwhile)."""
    rows = cur.execute(
        "SELECT DISTINCT waits_on FROM sync_log WHERE waits_on IN (SELECT unnest(?::BIGINT[]))",
        [list(create_ids)],
    ).fetchall()
    return {r[0] for r in rows}


def insert_many_in(cur, rows: list[dict[str, Any]], *, key: str) -> dict[Any, int]:
    """``SyncLog.insert_in`` for many rows of the same columns in one statement.

    Returns each row's id under its value of ``key``, a column unique per row
    (a create's ``request_id``), so no order of ids is assumed.
    """
    if not rows:
        return {}
    values = [
        {
            **row,
            "action": str(SyncAction(row["action"])),
            "mode": str(SyncMode(row["mode"])),
            "status": str(SyncStatus(row["status"])),
        }
        for row in rows
    ]
    names = ["created_at" if n == "now" else n for n in values[0]]
    if set(names) - _WRITABLE or key not in names:  # column names come from our code only
        raise ValueError(f"unknown sync_log columns {sorted(set(names) - _WRITABLE)} or {key}")
    marks = ", ".join(["(" + ", ".join("?" for _ in names) + ")"] * len(values))
    params = [value for row in values for value in row.values()]
    found = cur.execute(
        f"INSERT INTO sync_log ({', '.join(names)}) VALUES {marks} RETURNING {key}, id", params
    ).fetchall()
    _mark_waited_on_in(cur, *(row.get("waits_on") for row in rows))
    return dict(found)
