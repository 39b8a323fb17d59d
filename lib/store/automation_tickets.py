"""Tickets made for automation GUIDs (``automation_tickets``): GUID -> the ticket its CREATE made.

Written when the engine confirms a create that carries a GUID (in the same
transaction as the create's log row), so a known GUID answers its ticket
without sending and an UPDATE finds its CREATE's ticket. Kept apart from the
log because log retention removes old rows, and this mapping must outlive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from lib.store.db import Database

_COLUMNS = (
    "guid, connection_id, ticket_id, ticket_key, ticket_url, created_at, attempted_at, request_id"
)


@dataclass(frozen=True)
class AutomationTicket:
    guid: str
    connection_id: int
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    created_at: datetime | None
    attempted_at: datetime
    request_id: str


class AutomationTickets:
    def __init__(self, db: Database):
        self._db = db

    def get(self, guid: str) -> AutomationTicket | None:
        with self._db.read() as cur:
            return self.get_in(cur, guid)

    @staticmethod
    def get_in(cur: duckdb.DuckDBPyConnection, guid: str) -> AutomationTicket | None:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM automation_tickets WHERE guid = ?", [guid]
        ).fetchone()
        return AutomationTicket(*row) if row else None

    @staticmethod
    def record_in(
        cur: duckdb.DuckDBPyConnection,
        *,
        guid: str,
        connection_id: int,
        ticket_id: str,
        ticket_key: str,
        ticket_url: str,
        request_id: str,
        now: datetime,
    ) -> None:
        """The GUID's ticket, confirmed by Jira (a first confirmation wins)."""
        # A plain INSERT or UPDATE: DuckDB's ON CONFLICT costs ~3x more per create.
        known = cur.execute(
            "SELECT ticket_key FROM automation_tickets WHERE guid = ?", [guid]
        ).fetchone()
        if known is None:
            cur.execute(
                "INSERT INTO automation_tickets (guid, connection_id, ticket_id, ticket_key,"
                " ticket_url, created_at, attempted_at, request_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [guid, connection_id, ticket_id, ticket_key, ticket_url, now, now, request_id],
            )
        elif known[0] is None:
            cur.execute(
                "UPDATE automation_tickets SET ticket_id = ?, ticket_key = ?, ticket_url = ?,"
                " created_at = ?, connection_id = ?, request_id = ? WHERE guid = ?",
                [ticket_id, ticket_key, ticket_url, now, connection_id, request_id, guid],
            )
