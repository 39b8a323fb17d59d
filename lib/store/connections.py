"""The ``jira_connections`` table: stored connections, the two fixed rows, checks and defaults.

Secrets arrive here already sealed (Fernet, ``lib/connections/secret_box.py``):
the store never sees a plaintext token. Rows are soft-deleted (``deleted_at``)
and never removed, so links made through a connection keep naming it. At most
one user row is active; every change of the active row is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from lib.store.db import Database

DEMO_ID = 0  # the demo sandbox's fixed row (migration 002)
SECRETS_ID = -1  # the row of the connection from secrets.toml


class Source(StrEnum):
    USER = "user"  # stored by the user
    DEMO = "demo"  # the sandbox fallback
    SECRETS = "secrets"  # secrets.toml [jira]


class CheckStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class ConnectionRow:
    """One row as stored (``secret_sealed`` is ciphertext or None)."""

    id: int
    source: str
    kind: str  # 'cloud' | 'dc' | 'sandbox'
    flavour: str  # 'cloud' | 'dc'
    host: str | None
    auth_type: str  # 'basic' | 'bearer'
    username: str | None
    secret_sealed: str | None
    api_prefix: str | None
    trust_env: bool
    ca_bundle: str | None
    active: bool
    check_status: str | None
    checked_at: datetime | None
    check_message: str | None
    account_name: str | None
    project_key: str | None
    issue_type_id: str | None
    issue_type_name: str | None
    priority_name: str | None
    public_url: str | None
    deleted_at: datetime | None
    done_comes_back: bool | None = None  # 010: archive when every ticket is Done in Jira
    move_tickets: bool = False  # 012: archive/reopen moves linked tickets in Jira
    transition_by: str = "category"  # 012: 'category' | 'id'
    done_transition_id: str | None = None  # 012
    reopen_transition_id: str | None = None  # 012


@dataclass(frozen=True)
class ConnectionValues:
    """What a create or an edit writes: where and how to connect (secret sealed)."""

    kind: str
    flavour: str
    host: str
    auth_type: str
    username: str | None
    secret_sealed: str
    api_prefix: str | None
    trust_env: bool
    ca_bundle: str | None


@dataclass(frozen=True)
class CheckRecord:
    status: CheckStatus
    checked_at: datetime
    message: str
    account_name: str | None = None


@dataclass(frozen=True)
class DefaultsRecord:
    project_key: str | None
    issue_type_id: str | None
    issue_type_name: str | None
    priority_name: str | None
    public_url: str | None


class TransitionBy(StrEnum):
    """How a ticket move finds its transition: never by a (localised) name."""

    CATEGORY = "category"  # the target status's category (done / indeterminate / new)
    ID = "id"  # the transition ids the connection names


@dataclass(frozen=True)
class TicketMovesRecord:
    """Whether archiving or reopening an anomaly moves its tickets, and by which transition."""

    enabled: bool = False
    by: TransitionBy = TransitionBy.CATEGORY
    done_transition_id: str | None = None
    reopen_transition_id: str | None = None


_COLUMNS = ", ".join(f.name for f in fields(ConnectionRow))
_VALUE_COLUMNS = [f.name for f in fields(ConnectionValues)]


class ConnectionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reads -----------------------------------------------------------------
    def get(self, connection_id: int) -> ConnectionRow | None:
        """Any row by id, deleted ones included (history)."""
        with self._db.read() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM jira_connections WHERE id = ?", [int(connection_id)]
            ).fetchone()
        return ConnectionRow(*row) if row else None

    def list_user(self, *, include_deleted: bool = False) -> list[ConnectionRow]:
        """The user's stored connections, oldest first."""
        deleted = "" if include_deleted else " AND deleted_at IS NULL"
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM jira_connections WHERE source = ?{deleted} ORDER BY id",
                [Source.USER.value],
            ).fetchall()
        return [ConnectionRow(*r) for r in rows]

    def active_user_id(self) -> int | None:
        """The active stored connection's id, or None (then the demo is active)."""
        with self._db.read() as cur:
            hit = cur.execute(
                "SELECT id FROM jira_connections WHERE source = ? AND active"
                " AND deleted_at IS NULL ORDER BY id LIMIT 1",
                [Source.USER.value],
            ).fetchone()
        return hit[0] if hit else None

    # -- writes ----------------------------------------------------------------
    def insert_user(
        self, values: ConnectionValues, check: CheckRecord, *, activate: bool, now: datetime
    ) -> int:
        """A new user row (made the only active one when ``activate``); its id."""
        names = ", ".join(_VALUE_COLUMNS)
        marks = ", ".join("?" for _ in _VALUE_COLUMNS)
        with self._db.transaction() as cur:
            if activate:
                cur.execute("UPDATE jira_connections SET active = FALSE WHERE active")
            return cur.execute(
                f"INSERT INTO jira_connections (source, {names}, active, check_status,"
                " checked_at, check_message, account_name, created_at, updated_at)"
                f" VALUES (?, {marks}, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [
                    Source.USER.value,
                    *(getattr(values, n) for n in _VALUE_COLUMNS),
                    activate,
                    check.status.value,
                    check.checked_at,
                    check.message,
                    check.account_name,
                    now,
                    now,
                ],
            ).fetchone()[0]

    def update_user(
        self, connection_id: int, values: ConnectionValues, check: CheckRecord, *, now: datetime
    ) -> None:
        """New connection settings and the check that accepted them (the kind stays)."""
        sets = ", ".join(f"{n} = ?" for n in _VALUE_COLUMNS if n != "kind")
        with self._db.transaction() as cur:
            cur.execute(
                f"UPDATE jira_connections SET {sets}, check_status = ?, checked_at = ?,"
                " check_message = ?, account_name = ?, updated_at = ? WHERE id = ?",
                [
                    *(getattr(values, n) for n in _VALUE_COLUMNS if n != "kind"),
                    check.status.value,
                    check.checked_at,
                    check.message,
                    check.account_name,
                    now,
                    int(connection_id),
                ],
            )

    def upsert_deployed(self, values: ConnectionValues, *, now: datetime) -> None:
        """The secrets.toml row, without its secret, so links made through it name a row."""
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO jira_connections (id, source, kind, flavour, host, auth_type,"
                " username, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
                " flavour = excluded.flavour, host = excluded.host,"
                " auth_type = excluded.auth_type, username = excluded.username",
                [
                    SECRETS_ID,
                    Source.SECRETS.value,
                    values.kind,
                    values.flavour,
                    values.host,
                    values.auth_type,
                    values.username,
                    now,
                    now,
                ],
            )

    def activate(self, connection_id: int) -> None:
        """Make this row the only active one."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET active = (id = ?) WHERE active OR id = ?",
                [int(connection_id), int(connection_id)],
            )

    def deactivate_all(self) -> None:
        with self._db.transaction() as cur:
            cur.execute("UPDATE jira_connections SET active = FALSE WHERE active")

    def soft_delete(self, connection_id: int, *, now: datetime) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET deleted_at = ?, active = FALSE WHERE id = ?",
                [now, int(connection_id)],
            )

    def record_check(self, connection_id: int, check: CheckRecord) -> None:
        """The outcome of a check; a failed one keeps the last known account name."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET check_status = ?, checked_at = ?,"
                " check_message = ?, account_name = coalesce(?, account_name) WHERE id = ?",
                [
                    check.status.value,
                    check.checked_at,
                    check.message,
                    check.account_name,
                    int(connection_id),
                ],
            )

    def save_done_comes_back(self, connection_id: int, on: bool, *, now: datetime) -> None:
        """The per-connection choice "Jira's Done comes back" (any row: demo and secrets too)."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET done_comes_back = ?, updated_at = ? WHERE id = ?",
                [bool(on), now, int(connection_id)],
            )

    def save_defaults(self, connection_id: int, defaults: DefaultsRecord, *, now: datetime) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET project_key = ?, issue_type_id = ?,"
                " issue_type_name = ?, priority_name = ?, public_url = ?, updated_at = ?"
                " WHERE id = ?",
                [
                    defaults.project_key,
                    defaults.issue_type_id,
                    defaults.issue_type_name,
                    defaults.priority_name,
                    defaults.public_url,
                    now,
                    int(connection_id),
                ],
            )

    def save_ticket_moves(
        self, connection_id: int, moves: TicketMovesRecord, *, now: datetime
    ) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET move_tickets = ?, transition_by = ?,"
                " done_transition_id = ?, reopen_transition_id = ?, updated_at = ? WHERE id = ?",
                [
                    moves.enabled,
                    str(moves.by),
                    moves.done_transition_id,
                    moves.reopen_transition_id,
                    now,
                    int(connection_id),
                ],
            )

    @staticmethod
    def ticket_moves_in(cur, connection_ids=None) -> dict[int, TicketMovesRecord]:
        """The move settings of the connections that have moves on, of these ids only
        when given (in the caller's transaction, so a change and its queued moves agree).
        """
        sql = (
            "SELECT id, transition_by, done_transition_id, reopen_transition_id"
            " FROM jira_connections WHERE move_tickets"
        )
        params: list = []
        if connection_ids is not None:
            ids = sorted({int(i) for i in connection_ids})
            if not ids:
                return {}
            sql += f" AND id IN ({', '.join('?' for _ in ids)})"
            params = ids
        rows = cur.execute(sql, params).fetchall()
        return {r[0]: TicketMovesRecord(True, TransitionBy(r[1]), r[2], r[3]) for r in rows}
