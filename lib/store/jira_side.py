"""What Jira says about linked tickets (migration 010): state, comments, poll bookkeeping, drift.

The inbound poll (``lib.tickets.inbound``) writes here; the linked-tickets
panel and the Reconciliation page read here, never Jira. Decisions, and why:

- A comment is stored once per (connection, issue, comment id): the poll's
  one-minute overlap and a ticket linked to two anomalies both read it again,
  and the primary key makes "appears once" a property of the table.
- ``ours`` is decided when the comment is first stored (by the poll, which
  knows the connection's account and the ids we recorded when we sent), so a
  read never has to guess; nothing in these tables is ever sent to Jira.
- A link's key and status stay in ``ticket_links`` (every page reads them
  there); what only the poll knows (resolution, assignee, colour, Jira's
  "updated", moves, deletions) is in ``jira_ticket_state`` beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from lib.jira.records import Comment, Issue, PolledIssue
from lib.store.db import Database
from lib.store.links import LinkRepository

GONE_NOT_FOUND = "not_found"  # 404: deleted, or never visible to this account
GONE_FORBIDDEN = "forbidden"  # 403: the account lost the permission to see it


@dataclass(frozen=True)
class PollTarget:
    """One active link the poll asks Jira about."""

    link_id: int
    anomaly_id: int
    issue_id: str
    issue_key: str
    jira_updated: datetime | None  # None: never polled
    gone: bool
    status_category: str | None = None  # as last read ("done": already in Jira's Done)


@dataclass(frozen=True)
class PollState:
    connection_id: int
    last_started_at: datetime | None
    last_swept_at: datetime | None
    account_id: str | None
    time_zone: str | None


@dataclass(frozen=True)
class TicketState:
    """What the linked-tickets panel shows beside a link's status."""

    link_id: int
    resolution: str | None
    assignee: str | None
    status_color: str | None
    jira_updated: datetime | None
    polled_at: datetime
    moved_from: str | None
    moved_at: datetime | None
    gone_at: datetime | None
    gone_reason: str | None


@dataclass(frozen=True)
class JiraComment:
    """A comment made in Jira (never one of ours), as the "Jira activity" list shows it."""

    issue_id: str
    comment_id: str
    author: str | None
    created_at: datetime | None
    body_text: str


@dataclass(frozen=True)
class OurComments:
    """What we sent to some issues: comment ids Jira gave back, and the texts."""

    ids: frozenset[str]
    texts: frozenset[tuple[str, str]]  # (issue id, normalised text)


def normalised(text: str) -> str:
    return " ".join((text or "").split())


def naive_utc(moment: datetime | None) -> datetime | None:
    """The store keeps naive UTC; Jira's times carry their offset."""
    if moment is None or moment.tzinfo is None:
        return moment
    return (moment - moment.utcoffset()).replace(tzinfo=None)


class JiraSideRepository:
    def __init__(self, db: Database):
        self._db = db

    # -- the poll's reads ----------------------------------------------------
    def targets(self, connection_id: int) -> list[PollTarget]:
        """Active links of a connection, with what the last poll saw."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT l.id, l.anomaly_id, l.issue_id, l.issue_key, s.jira_updated,"
                " s.gone_at IS NOT NULL, l.status_category FROM ticket_links l"
                " LEFT JOIN jira_ticket_state s ON s.link_id = l.id"
                " WHERE l.unlinked_at IS NULL AND l.connection_id = ? ORDER BY l.id",
                [connection_id],
            ).fetchall()
        return [PollTarget(*r) for r in rows]

    def poll_state(self, connection_id: int) -> PollState:
        with self._db.read() as cur:
            row = cur.execute(
                "SELECT connection_id, last_started_at, last_swept_at, account_id, time_zone"
                " FROM jira_poll_state WHERE connection_id = ?",
                [connection_id],
            ).fetchone()
        return PollState(*row) if row else PollState(connection_id, None, None, None, None)

    def our_comments(self, connection_id: int, issue_ids: Sequence[str]) -> OurComments:
        """Comment rows we queued for these issues (any status: a lost answer may have landed)."""
        if not issue_ids:
            return OurComments(frozenset(), frozenset())
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT ticket_id, json_extract_string(response_json, '$.id'), body_text"
                " FROM sync_log WHERE action = 'comment' AND connection_id = ?"
                " AND ticket_id IN (SELECT unnest(?::VARCHAR[]))",
                [connection_id, list(issue_ids)],
            ).fetchall()
        ids = frozenset(r[1] for r in rows if r[1])
        texts = frozenset((r[0], normalised(r[2])) for r in rows if r[2])
        return OurComments(ids, texts)

    # -- the poll's writes ---------------------------------------------------
    @staticmethod
    def save_poll_state_in(cur: duckdb.DuckDBPyConnection, state: PollState) -> None:
        cur.execute(
            "INSERT INTO jira_poll_state (connection_id, last_started_at, last_swept_at,"
            " account_id, time_zone) VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE"
            " SET last_started_at = excluded.last_started_at,"
            " last_swept_at = excluded.last_swept_at, account_id = excluded.account_id,"
            " time_zone = excluded.time_zone",
            [
                state.connection_id,
                state.last_started_at,
                state.last_swept_at,
                state.account_id,
                state.time_zone,
            ],
        )

    @staticmethod
    def record_issue_in(
        cur: duckdb.DuckDBPyConnection, target: PollTarget, polled: PolledIssue, now: datetime
    ) -> bool:
        """Store what Jira said of one link's issue; True when its key changed (a move)."""
        issue: Issue = polled.issue
        moved = issue.key.upper() != target.issue_key.upper()
        LinkRepository.update_from_issue_in(cur, target.link_id, issue, now)
        cur.execute(
            "INSERT INTO jira_ticket_state (link_id, resolution, assignee, status_color,"
            " jira_updated, polled_at, moved_from, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (link_id) DO UPDATE SET resolution = excluded.resolution,"
            " assignee = excluded.assignee, status_color = excluded.status_color,"
            " jira_updated = excluded.jira_updated, polled_at = excluded.polled_at,"
            " gone_at = NULL, gone_reason = NULL,"
            " moved_from = coalesce(excluded.moved_from, jira_ticket_state.moved_from),"
            " moved_at = coalesce(excluded.moved_at, jira_ticket_state.moved_at),"
            " moved_noted = CASE WHEN excluded.moved_at IS NULL"
            "   THEN jira_ticket_state.moved_noted ELSE FALSE END",
            [
                target.link_id,
                polled.resolution,
                polled.assignee,
                polled.status_color,
                naive_utc(issue.updated),
                now,
                target.issue_key if moved else None,
                now if moved else None,
            ],
        )
        return moved

    @staticmethod
    def mark_gone_in(
        cur: duckdb.DuckDBPyConnection, link_id: int, reason: str, now: datetime
    ) -> None:
        """Jira answered 404 or 403 for the issue's id: keep the link, say so."""
        LinkRepository.mark_missing_in(cur, link_id, now)
        cur.execute(
            "INSERT INTO jira_ticket_state (link_id, polled_at, gone_at, gone_reason)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (link_id) DO UPDATE SET polled_at = excluded.polled_at,"
            " gone_at = coalesce(jira_ticket_state.gone_at, excluded.gone_at),"
            " gone_reason = excluded.gone_reason",
            [link_id, now, now, reason],
        )

    @staticmethod
    def add_comments_in(
        cur: duckdb.DuckDBPyConnection,
        connection_id: int,
        issue_id: str,
        comments: Iterable[tuple[Comment, bool]],
        now: datetime,
    ) -> int:
        """Store comments not seen before; returns how many new ones are Jira's (not ours)."""
        new = 0
        for comment, ours in comments:
            inserted = cur.execute(
                "INSERT INTO jira_comments (connection_id, issue_id, comment_id, author,"
                " author_id, created_at, body_text, ours, seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                [
                    connection_id,
                    issue_id,
                    comment.id,
                    comment.author,
                    comment.author_id,
                    naive_utc(comment.created),
                    comment.body_text,
                    ours,
                    now,
                ],
            ).fetchall()
            new += bool(inserted) and not ours
        return new

    def known_comment_ids(self, connection_id: int, issue_id: str) -> set[str]:
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT comment_id FROM jira_comments WHERE connection_id = ? AND issue_id = ?",
                [connection_id, issue_id],
            ).fetchall()
        return {r[0] for r in rows}

    def note_moves(self, link_ids: Sequence[int]) -> None:
        """A person saw these moves (Resync now): they leave the Reconciliation page."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_ticket_state SET moved_noted = TRUE"
                " WHERE link_id IN (SELECT unnest(?::BIGINT[]))",
                [list(link_ids)],
            )

    # -- the pages' reads ----------------------------------------------------
    def states(self, link_ids: Sequence[int]) -> dict[int, TicketState]:
        if not link_ids:
            return {}
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT link_id, resolution, assignee, status_color, jira_updated, polled_at,"
                " moved_from, moved_at, gone_at, gone_reason FROM jira_ticket_state"
                " WHERE link_id IN (SELECT unnest(?::BIGINT[]))",
                [list(link_ids)],
            ).fetchall()
        return {r[0]: TicketState(*r) for r in rows}

    def activity(self, link_ids: Sequence[int], limit: int = 20) -> dict[int, list[JiraComment]]:
        """Per link, its issue's newest comments made in Jira (never ours), newest first."""
        if not link_ids:
            return {}
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT l.id, c.issue_id, c.comment_id, c.author, c.created_at, c.body_text"
                " FROM ticket_links l JOIN jira_comments c ON c.connection_id = l.connection_id"
                " AND c.issue_id = l.issue_id WHERE l.id IN (SELECT unnest(?::BIGINT[]))"
                " AND NOT c.ours QUALIFY row_number() OVER (PARTITION BY l.id"
                " ORDER BY c.created_at DESC, c.comment_id DESC) <= ?"
                " ORDER BY l.id, c.created_at DESC, c.comment_id DESC",
                [list(link_ids), int(limit)],
            ).fetchall()
        found: dict[int, list[JiraComment]] = {}
        for link_id, *rest in rows:
            found.setdefault(link_id, []).append(JiraComment(*rest))
        return found

    # -- drift per day -------------------------------------------------------
    @staticmethod
    def record_drift_in(
        cur: duckdb.DuckDBPyConnection, day: date, connection_id: int, counts: dict[str, int]
    ) -> None:
        """The day's counts per reason (a later poll the same day overwrites them)."""
        cur.execute(
            "DELETE FROM drift_daily WHERE day = ? AND connection_id = ?", [day, connection_id]
        )
        for reason, count in sorted(counts.items()):
            cur.execute(
                "INSERT INTO drift_daily (day, connection_id, reason, anomalies) VALUES (?, ?, ?, ?)",
                [day, connection_id, reason, int(count)],
            )

    def drift_history(self, connection_id: int, since: date) -> list[tuple[date, str, int]]:
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT day, reason, anomalies FROM drift_daily WHERE connection_id = ?"
                " AND day >= ? ORDER BY day, reason",
                [connection_id, since],
            ).fetchall()
        return [tuple(r) for r in rows]
