"""Links between anomalies and Jira issues (``ticket_links``).

An anomaly may have several links. Unlinking only stamps ``unlinked_at``: the
row stays as history and the Jira issue is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from lib.jira.records import Issue
from lib.store.db import Database

NOT_FOUND_STATUS = "not found or no permission"

_COLUMNS = (
    "id, anomaly_id, connection_id, issue_id, issue_key, url, summary, status_name,"
    " status_category, priority, created_by_us, linked_at, linked_by, last_synced_at,"
    " unlinked_at, unlinked_by"
)
# An anomaly's active link to one issue (by key, any case, or by id).
_ACTIVE_SQL = (
    "SELECT {columns} FROM ticket_links WHERE anomaly_id = ? AND connection_id = ?"
    " AND unlinked_at IS NULL AND (upper(issue_key) = upper(?) OR issue_id = ?)"
)


@dataclass(frozen=True)
class TicketLink:
    id: int
    anomaly_id: int
    connection_id: int
    issue_id: str
    issue_key: str
    url: str
    summary: str | None
    status_name: str | None
    status_category: str | None
    priority: str | None
    created_by_us: bool
    linked_at: datetime
    linked_by: str
    last_synced_at: datetime | None
    unlinked_at: datetime | None
    unlinked_by: str | None

    @property
    def active(self) -> bool:
        return self.unlinked_at is None


class DuplicateLink(ValueError):
    """The issue is already linked to this anomaly (the message says which)."""


class LinkRepository:
    def __init__(self, db: Database):
        self._db = db

    # -- reads ---------------------------------------------------------------
    def get(self, link_id: int) -> TicketLink | None:
        with self._db.read() as cur:
            return self.get_in(cur, link_id)

    @staticmethod
    def get_in(cur: duckdb.DuckDBPyConnection, link_id: int) -> TicketLink | None:
        row = cur.execute(f"SELECT {_COLUMNS} FROM ticket_links WHERE id = ?", [link_id]).fetchone()
        return TicketLink(*row) if row else None

    def for_anomaly(self, anomaly_id: int, *, include_unlinked: bool = False) -> list[TicketLink]:
        with self._db.read() as cur:
            return self.for_anomaly_in(cur, anomaly_id, include_unlinked=include_unlinked)

    @staticmethod
    def for_anomaly_in(
        cur: duckdb.DuckDBPyConnection,
        anomaly_id: int,
        *,
        include_unlinked: bool = False,
        connection_id: int | None = None,
    ) -> list[TicketLink]:
        sql = f"SELECT {_COLUMNS} FROM ticket_links WHERE anomaly_id = ?"
        params: list = [anomaly_id]
        if not include_unlinked:
            sql += " AND unlinked_at IS NULL"
        if connection_id is not None:
            sql += " AND connection_id = ?"
            params.append(connection_id)
        rows = cur.execute(sql + " ORDER BY linked_at, id", params).fetchall()
        return [TicketLink(*r) for r in rows]

    @staticmethod
    def anomalies_with_links_in(
        cur: duckdb.DuckDBPyConnection,
        anomaly_ids: Sequence[int],
        *,
        connection_id: int | None = None,
    ) -> set[int]:
        """Which of ``anomaly_ids`` have an active link (of one connection if given)."""
        sql = (
            "SELECT DISTINCT anomaly_id FROM ticket_links WHERE unlinked_at IS NULL"
            " AND anomaly_id IN (SELECT unnest(?::BIGINT[]))"
        )
        params: list = [list(anomaly_ids)]
        if connection_id is not None:
            sql += " AND connection_id = ?"
            params.append(connection_id)
        return {r[0] for r in cur.execute(sql, params).fetchall()}

    def due_for_refresh(
        self, connection_id: int, synced_before: datetime, limit: int
    ) -> list[TicketLink]:
        """Active links of a connection not synced since ``synced_before``, stalest first.

        A link whose status was never read (a ticket we just created: the create
        answer has no status) is due at once, first, so its status shows within
        a refresh pass instead of a whole interval later.
        """
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM ticket_links WHERE unlinked_at IS NULL"
                " AND connection_id = ?"
                " AND (status_name IS NULL OR coalesce(last_synced_at, linked_at) < ?)"
                " ORDER BY status_name IS NOT NULL, coalesce(last_synced_at, linked_at), id"
                " LIMIT ?",
                [connection_id, synced_before, int(limit)],
            ).fetchall()
        return [TicketLink(*r) for r in rows]

    def recent_active(self, connection_id: int, limit: int = 50) -> list[TicketLink]:
        """Active links of a connection, most recently linked first (the Jira page's list)."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM ticket_links WHERE unlinked_at IS NULL"
                " AND connection_id = ? ORDER BY linked_at DESC, id DESC LIMIT ?",
                [connection_id, int(limit)],
            ).fetchall()
        return [TicketLink(*r) for r in rows]

    # -- writes (inside the caller's transaction) ----------------------------
    @staticmethod
    def find_active_in(
        cur: duckdb.DuckDBPyConnection,
        anomaly_id: int,
        connection_id: int,
        key: str,
        issue_id: str | None = None,
    ) -> TicketLink | None:
        row = cur.execute(
            _ACTIVE_SQL.format(columns=_COLUMNS), [anomaly_id, connection_id, key, issue_id or ""]
        ).fetchone()
        return TicketLink(*row) if row else None

    def add_in(
        self,
        cur: duckdb.DuckDBPyConnection,
        *,
        anomaly_id: int,
        connection_id: int,
        issue: Issue,
        created_by_us: bool,
        actor: str,
        now: datetime,
    ) -> TicketLink:
        """Store an active link.

        Raises:
            DuplicateLink: the issue is already actively linked to the anomaly.
        """
        # One statement (the check, the insert and the stored row back): each
        # DuckDB statement costs ~1 ms, and a create confirms its link on every call.
        row = cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " summary, status_name, status_category, priority, created_by_us, linked_at,"
            " linked_by, last_synced_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
            f" WHERE NOT EXISTS ({_ACTIVE_SQL.format(columns='1')}) RETURNING {_COLUMNS}",
            [
                anomaly_id,
                connection_id,
                issue.id,
                issue.key,
                issue.browse_url,
                issue.summary,
                issue.status_name,
                issue.status_category,
                issue.priority_name,
                created_by_us,
                now,
                actor,
                now,
                anomaly_id,
                connection_id,
                issue.key,
                issue.id or "",
            ],
        ).fetchone()
        if row is None:
            raise DuplicateLink(
                f"{issue.key} is already linked to anomaly {anomaly_id}: nothing was changed."
            )
        return TicketLink(*row)

    @staticmethod
    def add_many_in(
        cur: duckdb.DuckDBPyConnection,
        items: list[tuple[int, Issue, str]],
        *,
        connection_id: int,
        created_by_us: bool,
        now: datetime,
    ) -> dict[int, int]:
        """``add_in`` for many (anomaly_id, issue, actor) in one statement; anomaly -> link id.

        An issue already actively linked to its anomaly keeps its link (no second one).
        """
        if not items:
            return {}
        linked = {
            (anomaly_id, issue_id): link_id
            for anomaly_id, issue_id, link_id in cur.execute(
                "SELECT anomaly_id, issue_id, min(id) FROM ticket_links WHERE connection_id = ?"
                " AND unlinked_at IS NULL AND issue_id IN (SELECT unnest(?::VARCHAR[]))"
                " GROUP BY anomaly_id, issue_id",
                [connection_id, [issue.id for _, issue, _ in items]],
            ).fetchall()
        }
        known = {a: linked[(a, i.id)] for a, i, _ in items if (a, i.id) in linked}
        fresh = [item for item in items if (item[0], item[1].id) not in linked]
        if fresh:
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(fresh))
            params = [
                value
                for anomaly_id, i, actor in fresh
                for value in (
                    anomaly_id, connection_id, i.id, i.key, i.browse_url, i.summary,
                    i.status_name, i.status_category, i.priority_name, created_by_us, now, actor,
                    now,
                )
            ]  # fmt: skip
            rows = cur.execute(
                "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
                " summary, status_name, status_category, priority, created_by_us, linked_at,"
                f" linked_by, last_synced_at) VALUES {marks} RETURNING anomaly_id, id",
                params,
            ).fetchall()
            known.update(dict(rows))
        return known

    @staticmethod
    def update_from_issue_in(
        cur: duckdb.DuckDBPyConnection, link_id: int, issue: Issue, now: datetime
    ) -> None:
        # A moved issue comes back under its new key: follow it.
        cur.execute(
            "UPDATE ticket_links SET issue_key = ?, url = ?, summary = ?, status_name = ?,"
            " status_category = ?, priority = ?, last_synced_at = ? WHERE id = ?",
            [
                issue.key,
                issue.browse_url,
                issue.summary,
                issue.status_name,
                issue.status_category,
                issue.priority_name,
                now,
                link_id,
            ],
        )

    @staticmethod
    def mark_missing_in(cur: duckdb.DuckDBPyConnection, link_id: int, now: datetime) -> None:
        """Jira answered 404: keep the link, say so (it may be a permission change)."""
        cur.execute(
            "UPDATE ticket_links SET status_name = ?, status_category = NULL,"
            " last_synced_at = ? WHERE id = ?",
            [NOT_FOUND_STATUS, now, link_id],
        )

    @staticmethod
    def unlink_in(cur: duckdb.DuckDBPyConnection, link_id: int, actor: str, now: datetime) -> None:
        cur.execute(
            "UPDATE ticket_links SET unlinked_at = ?, unlinked_by = ? WHERE id = ?",
            [now, actor, link_id],
        )
