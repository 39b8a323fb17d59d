"""Auto-ticket rules (``ticket_rules``), what they did (``rule_applications``), their tickets.

Decisions, and why:

- A rule's conditions and ticket settings are stored as small JSON objects
  and read back into frozen records here; the checks of what a person typed
  live in the use case (``lib.tickets.rules``), so a new condition needs no
  migration.
- One application row per anomaly and connection: a run never handles an
  anomaly twice, and the rows are how a later anomaly finds the ticket of its
  group or of its fingerprint. A create Jira has not confirmed yet is found
  through its outbox row (``create_log_id``), whose key ``sync_log`` gets on
  confirmation, so a second anomaly waits for that ticket instead of making
  another one.
- Rules are ordered by ``position`` (1, 2, ...); moving one renumbers all in
  one transaction, so two rules never share a place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb

# The anomaly columns and row reader are the anomalies repository's own: one definition.
from lib.store.anomalies import _ANOMALY_COLUMNS, _row_to_anomaly
from lib.store.db import Database
from lib.store.models import Anomaly, FailedCheck

TICKETED = ("created", "linked", "seen_again", "reopened")  # outcomes that name a ticket
_RULE_COLUMNS = (
    "id, position, name, paused, action, conditions_json, ticket_json, group_by,"
    " window_minutes, reopen_days, created_at, updated_at"
)


@dataclass(frozen=True)
class RuleConditions:
    """What an anomaly must have for the rule to match; an empty part matches all."""

    datastore_ids: tuple[int, ...] = ()
    containers: tuple[str, ...] = ()  # tables
    anomaly_types: tuple[str, ...] = ()
    weight_min: int | None = None
    weight_max: int | None = None
    tags: tuple[str, ...] = ()  # any of them
    rule_types: tuple[str, ...] = ()  # any failed check's rule type


@dataclass(frozen=True)
class TicketTemplate:
    """What a ticket made by the rule gets; empty parts take the connection's defaults."""

    project: str | None = None
    issue_type: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    assignee: str | None = None  # Cloud: an account id; Data Center: a user name


@dataclass(frozen=True)
class RuleDraft:
    """A rule as a person gives it (no id, place or times)."""

    name: str
    action: str = "ticket"  # "ticket" or "skip" (do not ticket)
    conditions: RuleConditions = field(default_factory=RuleConditions)
    ticket: TicketTemplate = field(default_factory=TicketTemplate)
    group_by: str = "none"  # none | table | datastore | check
    window_minutes: int = 60
    reopen_days: int = 7
    paused: bool = True  # a new rule waits for its dry run


@dataclass(frozen=True)
class TicketRule:
    id: int
    position: int
    name: str
    paused: bool
    action: str
    conditions: RuleConditions
    ticket: TicketTemplate
    group_by: str
    window_minutes: int
    reopen_days: int
    created_at: datetime
    updated_at: datetime

    def as_draft(self) -> RuleDraft:
        return RuleDraft(
            self.name,
            self.action,
            self.conditions,
            self.ticket,
            self.group_by,
            self.window_minutes,
            self.reopen_days,
            self.paused,
        )


@dataclass(frozen=True)
class Application:
    """What a rule did to one anomaly."""

    anomaly_id: int
    connection_id: int
    rule_id: int
    outcome: str  # skipped | created | linked | seen_again | reopened | failed
    fingerprint: str
    group_key: str | None
    detected_at: datetime
    applied_at: datetime
    ticket_key: str | None = None
    create_log_id: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class KnownTicket:
    """A ticket rules made or used, as the planner needs it."""

    key: str | None  # None: its create is not confirmed yet
    started_at: datetime  # the detection time of the anomaly that opened it
    status_category: str | None  # Jira's: new | indeterminate | done (None: not read yet)
    last_synced_at: datetime | None
    closed_seen_at: datetime | None
    seen_count: int  # how often it was seen again

    @property
    def done(self) -> bool:
        return self.status_category == "done"


def _tuple(values, kind=str) -> tuple:
    return tuple(kind(v) for v in values or ())


def _rule(row: tuple) -> TicketRule:
    cond, ticket = json.loads(row[5]), json.loads(row[6])
    conditions = RuleConditions(
        _tuple(cond.get("datastore_ids"), int),
        _tuple(cond.get("containers")),
        _tuple(cond.get("anomaly_types")),
        cond.get("weight_min"),
        cond.get("weight_max"),
        _tuple(cond.get("tags")),
        _tuple(cond.get("rule_types")),
    )
    template = TicketTemplate(
        ticket.get("project"),
        ticket.get("issue_type"),
        ticket.get("priority"),
        _tuple(ticket.get("labels")),
        _tuple(ticket.get("components")),
        ticket.get("assignee"),
    )
    return TicketRule(row[0], row[1], row[2], row[3], row[4], conditions, template, *row[7:])


def _draft_values(draft: RuleDraft) -> list:
    return [
        draft.name,
        draft.paused,
        draft.action,
        json.dumps(asdict(draft.conditions), separators=(",", ":")),
        json.dumps(asdict(draft.ticket), separators=(",", ":")),
        draft.group_by,
        int(draft.window_minutes),
        int(draft.reopen_days),
    ]


class RuleStore:
    """The rules, in order, and what they did."""

    def __init__(self, db: Database):
        self._db = db

    # -- rules ---------------------------------------------------------------
    def all(self) -> list[TicketRule]:
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_RULE_COLUMNS} FROM ticket_rules ORDER BY position, id"
            ).fetchall()
        return [_rule(r) for r in rows]

    def get(self, rule_id: int) -> TicketRule | None:
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_RULE_COLUMNS} FROM ticket_rules WHERE id = ?", [int(rule_id)]
            ).fetchone()
        return _rule(row) if row else None

    def add(self, draft: RuleDraft, now: datetime) -> TicketRule:
        with self._db.transaction() as cur:
            last = cur.execute("SELECT coalesce(max(position), 0) FROM ticket_rules").fetchone()
            row = cur.execute(
                "INSERT INTO ticket_rules (position, name, paused, action, conditions_json,"
                " ticket_json, group_by, window_minutes, reopen_days, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [last[0] + 1, *_draft_values(draft), now, now],
            ).fetchone()
        return self.get(row[0])

    def update(self, rule_id: int, draft: RuleDraft, now: datetime) -> TicketRule | None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE ticket_rules SET name = ?, paused = ?, action = ?, conditions_json = ?,"
                " ticket_json = ?, group_by = ?, window_minutes = ?, reopen_days = ?,"
                " updated_at = ? WHERE id = ?",
                [*_draft_values(draft), now, int(rule_id)],
            )
        return self.get(rule_id)

    def set_paused(self, rule_id: int, paused: bool, now: datetime) -> TicketRule | None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE ticket_rules SET paused = ?, updated_at = ? WHERE id = ?",
                [bool(paused), now, int(rule_id)],
            )
        return self.get(rule_id)

    def move(self, rule_id: int, position: int) -> None:
        """Put a rule at ``position`` (1 = first); the others keep their order."""
        with self._db.transaction() as cur:
            rows = cur.execute("SELECT id FROM ticket_rules ORDER BY position, id").fetchall()
            ids = [r[0] for r in rows]
            if rule_id not in ids:
                return
            ids.remove(rule_id)
            ids.insert(max(0, min(len(ids), int(position) - 1)), rule_id)
            _renumber_in(cur, ids)

    def delete(self, rule_id: int) -> bool:
        """Remove a rule; what it did stays (its tickets must not be made again)."""
        with self._db.transaction() as cur:
            found = cur.execute(
                "DELETE FROM ticket_rules WHERE id = ? RETURNING id", [int(rule_id)]
            ).fetchall()
            rest = cur.execute("SELECT id FROM ticket_rules ORDER BY position, id").fetchall()
            _renumber_in(cur, [r[0] for r in rest])
        return bool(found)

    # -- the anomalies a run looks at -----------------------------------------
    def candidates(self, connection_id: int, limit: int) -> list[Anomaly]:
        """Active anomalies no rule handled and no ticket (or create) holds, oldest first."""
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_ANOMALY_COLUMNS} FROM anomalies a WHERE a.status = 'Active'"
                " AND NOT EXISTS (SELECT 1 FROM rule_applications r"
                "   WHERE r.anomaly_id = a.id AND r.connection_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM ticket_links l WHERE l.anomaly_id = a.id"
                "   AND l.connection_id = ? AND l.unlinked_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM sync_log s WHERE s.anomaly_id = a.id"
                "   AND s.action = 'create' AND s.connection_id = ?"
                "   AND s.status IN ('pending', 'sending', 'deferred'))"
                " ORDER BY a.detected_at, a.id LIMIT ?",
                [connection_id, connection_id, connection_id, int(limit)],
            ).fetchall()
            checks = _checks_in(cur, [r[0] for r in rows])
        return [_row_to_anomaly(r, checks.get(r[0], ())) for r in rows]

    # -- the tickets rules made -----------------------------------------------
    def group_ticket(self, connection_id: int, rule_id: int, group_key: str) -> KnownTicket | None:
        """The ticket the latest anomaly of this rule's group opened."""
        return self._known(
            "a.rule_id = ? AND a.group_key = ? AND a.outcome = 'created'",
            [connection_id, int(rule_id), group_key],
        )

    def fingerprint_ticket(self, connection_id: int, fingerprint: str) -> KnownTicket | None:
        """The latest ticket any rule gave an anomaly with this fingerprint."""
        return self._known(
            "a.fingerprint = ? AND a.outcome IN (SELECT unnest(?::VARCHAR[]))",
            [connection_id, fingerprint, list(TICKETED)],
        )

    def _known(self, where: str, params: list) -> KnownTicket | None:
        with self._db.read() as cur:
            row = cur.execute(
                "SELECT coalesce(a.ticket_key, s.ticket_key), a.detected_at, s.status"
                " FROM rule_applications a LEFT JOIN sync_log s ON s.id = a.create_log_id"
                f" WHERE a.connection_id = ? AND {where}"
                " ORDER BY a.applied_at DESC, a.detected_at DESC LIMIT 1",
                params,
            ).fetchone()
            if row is None:
                return None
            key, started, create_status = row
            if key is None:
                unfinished = create_status in ("pending", "sending", "deferred")
                return KnownTicket(None, started, None, None, None, 0) if unfinished else None
            return self._ticket_in(cur, params[0], key, started)

    @staticmethod
    def _ticket_in(cur, connection_id: int, key: str, started: datetime) -> KnownTicket:
        link = cur.execute(
            "SELECT status_category, last_synced_at FROM ticket_links WHERE connection_id = ?"
            " AND upper(issue_key) = upper(?) AND unlinked_at IS NULL"
            " ORDER BY last_synced_at DESC NULLS LAST, id DESC LIMIT 1",
            [connection_id, key],
        ).fetchone()
        closed = cur.execute(
            "SELECT closed_seen_at FROM rule_tickets WHERE connection_id = ? AND ticket_key = ?",
            [connection_id, key],
        ).fetchone()
        seen = cur.execute(
            "SELECT count(*) FROM rule_applications WHERE connection_id = ? AND ticket_key = ?"
            " AND outcome IN ('seen_again', 'reopened')",
            [connection_id, key],
        ).fetchone()[0]
        category, synced = link if link else (None, None)
        return KnownTicket(key, started, category, synced, closed[0] if closed else None, seen)

    @staticmethod
    def note_closed_in(cur, connection_id: int, key: str, closed_at: datetime | None) -> None:
        """Remember when a ticket was first seen closed (None: it is open again)."""
        cur.execute(
            "INSERT INTO rule_tickets (connection_id, ticket_key, closed_seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (connection_id, ticket_key) DO UPDATE SET closed_seen_at ="
            " CASE WHEN excluded.closed_seen_at IS NULL THEN NULL"
            " ELSE coalesce(rule_tickets.closed_seen_at, excluded.closed_seen_at) END",
            [connection_id, key, closed_at],
        )

    def observe_closures(self, connection_id: int) -> int:
        """Note when each ticket rules made or used was first seen closed (or open again).

        Jira's close time is not stored, so the first refresh that read a done
        status stands for it (within a refresh interval of the truth); asked on
        every scheduled run, so a ticket closed long ago stays long closed
        however often it is refreshed since. Returns how many rows changed.
        """
        with self._db.transaction() as cur:
            rows = cur.execute(
                "WITH keys AS (SELECT DISTINCT coalesce(a.ticket_key, s.ticket_key) AS key"
                "   FROM rule_applications a LEFT JOIN sync_log s ON s.id = a.create_log_id"
                "   WHERE a.connection_id = ?),"
                # the latest read of the ticket decides, as in group_ticket / fingerprint_ticket
                " state AS (SELECT k.key, coalesce(arg_max(l.status_category,"
                "   coalesce(l.last_synced_at, l.linked_at)) = 'done', false) AS done,"
                "   max(l.last_synced_at) AS synced FROM keys k JOIN ticket_links l"
                "   ON upper(l.issue_key) = upper(k.key) AND l.connection_id = ?"
                "   AND l.unlinked_at IS NULL GROUP BY k.key)"
                " SELECT st.key, st.done, st.synced, r.closed_seen_at FROM state st"
                " LEFT JOIN rule_tickets r ON r.connection_id = ? AND r.ticket_key = st.key",
                [connection_id, connection_id, connection_id],
            ).fetchall()
            changed = 0
            for key, done, synced, seen in rows:
                if done and seen is None:
                    self.note_closed_in(cur, connection_id, key, synced)
                    changed += 1
                elif not done and seen is not None:
                    self.note_closed_in(cur, connection_id, key, None)
                    changed += 1
        return changed

    @staticmethod
    def mark_status_in(
        cur, connection_id: int, key: str, status_name: str | None, category: str | None
    ) -> None:
        """A transition rules made: every link of the ticket shows its new status."""
        cur.execute(
            "UPDATE ticket_links SET status_name = ?, status_category = ?"
            " WHERE connection_id = ? AND upper(issue_key) = upper(?) AND unlinked_at IS NULL",
            [status_name, category, connection_id, key],
        )

    # -- what rules did --------------------------------------------------------
    @staticmethod
    def record_in(cur, application: Application) -> None:
        a = application
        cur.execute(
            "INSERT INTO rule_applications (anomaly_id, connection_id, rule_id, outcome,"
            " ticket_key, create_log_id, fingerprint, group_key, detected_at, applied_at, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                a.anomaly_id,
                a.connection_id,
                a.rule_id,
                a.outcome,
                a.ticket_key,
                a.create_log_id,
                a.fingerprint,
                a.group_key,
                a.detected_at,
                a.applied_at,
                a.note,
            ],
        )

    def record(self, application: Application) -> None:
        with self._db.transaction() as cur:
            self.record_in(cur, application)

    def applications(self, connection_id: int, limit: int = 200) -> list[Application]:
        """What rules did on a connection, latest first (the Rules page's table)."""
        with self._db.read() as cur:
            rows = cur.execute(
                "SELECT a.anomaly_id, a.connection_id, a.rule_id, a.outcome, a.fingerprint,"
                " a.group_key, a.detected_at, a.applied_at, coalesce(a.ticket_key, s.ticket_key),"
                " a.create_log_id, a.note FROM rule_applications a"
                " LEFT JOIN sync_log s ON s.id = a.create_log_id WHERE a.connection_id = ?"
                " ORDER BY a.applied_at DESC, a.anomaly_id DESC LIMIT ?",
                [connection_id, int(limit)],
            ).fetchall()
        return [Application(*r) for r in rows]


def _renumber_in(cur: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> None:
    for place, ident in enumerate(ids, start=1):
        cur.execute("UPDATE ticket_rules SET position = ? WHERE id = ?", [place, ident])


def _checks_in(cur: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, list]:
    if not ids:
        return {}
    out: dict[int, list] = {}
    rows = cur.execute(
        "SELECT anomaly_id, check_id, rule_type, message FROM failed_checks"
        " WHERE anomaly_id IN (SELECT unnest(?::BIGINT[])) ORDER BY anomaly_id, position",
        [list(ids)],
    ).fetchall()
    for anomaly_id, check_id, rule_type, message in rows:
        out.setdefault(anomaly_id, []).append(FailedCheck(check_id, rule_type, message))
    return out
