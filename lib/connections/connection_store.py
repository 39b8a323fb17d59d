"""Stored connections plus the two virtual ones (the demo sandbox, secrets.toml).

Which connection is active, in order: the one from secrets.toml ``[jira]``
(deployments; read-only, its secret never stored), else the user's active
connection, else the demo sandbox mounted at ``settings.sandbox_url``.
Secrets are sealed by ``SecretBox`` before they reach the store. The public
dashboard URL for links back from Jira is kept per connection (falling back
to ``settings.public_url``), so a second Jira site can point at another address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime

import requests

from lib.connections import checks
from lib.connections.models import (
    DEMO_ID,
    SECRETS_ID,
    CheckResult,
    Connection,
    ConnectionCheckFailed,
    ConnectionInput,
    ConnectionNotFound,
    InvalidConnectionInput,
    TicketDefaults,
    TicketMoves,
    utc_now,
)
from lib.connections.secret_box import Secret, SecretBox, SecretUnreadable
from lib.connections.validation import (
    validate_input,
    validate_public_url,
    validate_ticket_moves,
)
from lib.jira.demo_credentials import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL
from lib.settings import Settings
from lib.store.connections import (
    CheckRecord,
    CheckStatus,
    ConnectionRepository,
    ConnectionRow,
    ConnectionValues,
    DefaultsRecord,
    Source,
)

# The sandbox's own project and issue type: demo mode works (the automation's
# CREATE included) before anyone chooses defaults.
DEMO_PROJECT_KEY = "DQ"
DEMO_ISSUE_TYPE = "Task"
_STORED_FIELDS = (
    "check_status",
    "checked_at",
    "check_message",
    "account_name",
    "project_key",
    "issue_type_id",
    "issue_type_name",
    "priority_name",
    "public_url",
    "done_comes_back",
    "move_tickets",
    "transition_by",
    "done_transition_id",
    "reopen_transition_id",
)


def _record(result: CheckResult) -> CheckRecord:
    status = CheckStatus.OK if result.ok else CheckStatus.FAILED
    return CheckRecord(status, result.checked_at, result.message, result.account_name)


class ConnectionStore:
    """Connections as the app sees them: stored rows opened, the demo and secrets.toml added."""

    def __init__(
        self,
        db,
        box: SecretBox,
        settings: Settings,
        *,
        deployed: ConnectionInput | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db, self._repo = db, ConnectionRepository(db)
        self._box, self._settings, self._clock = box, settings, clock
        self._active_key = ("active_connection", object())  # this store's own kept answer
        self.deployed_input = deployed
        self.deployed_error: str | None = None  # why secrets.toml [jira] is ignored
        self._deployed: Connection | None = None
        if deployed is not None:
            try:
                self._deployed = replace(validate_input(deployed), id=SECRETS_ID, source="secrets")
            except InvalidConnectionInput as exc:
                self.deployed_error = f"secrets.toml [jira] is not used: {exc}"
            else:
                # Kept as a row (without the secret) so links made through it name a connection.
                self._repo.upsert_deployed(self._values(self._deployed, ""), now=self._clock())

    def _values(self, conn: Connection, sealed: str) -> ConnectionValues:
        return ConnectionValues(
            conn.kind,
            conn.flavour,
            conn.host,
            conn.auth_type,
            conn.username,
            sealed,
            conn.api_prefix,
            conn.trust_env,
            conn.ca_bundle,
        )

    # -- reads -----------------------------------------------------------------
    def _from_row(self, row: ConnectionRow) -> Connection:
        values = asdict(row)
        values["done_comes_back"] = bool(values.get("done_comes_back"))
        stored = {k: values[k] for k in _STORED_FIELDS}
        if row.source == Source.DEMO:
            demo = self.demo_template()
            stored["project_key"] = stored["project_key"] or demo.project_key
            if not (stored["issue_type_id"] or stored["issue_type_name"]):
                stored["issue_type_name"] = demo.issue_type_name
            return replace(demo, **stored)
        if row.source == Source.SECRETS:
            return replace(self._deployed or self._unconfigured_deployed(row), **stored)
        try:
            secret = Secret(self._box.open(values.pop("secret_sealed")))
        except SecretUnreadable:
            secret = Secret.unreadable()
        return Connection(**values, secret=secret)

    def _unconfigured_deployed(self, row: ConnectionRow) -> Connection:
        # secrets.toml lost its [jira] section: the row stays readable as history.
        return Connection(
            SECRETS_ID,
            "secrets",
            row.kind,
            row.flavour,
            row.host or "",
            row.auth_type,
            row.username,
            Secret.unreadable(),
        )

    def demo_template(self) -> Connection:
        """The sandbox mounted in the dashboard, with its public demo credentials."""
        return Connection(
            DEMO_ID,
            "demo",
            "sandbox",
            "cloud",
            self._settings.sandbox_url,
            "basic",
            DEMO_CLOUD_EMAIL,
            Secret(DEMO_CLOUD_API_TOKEN),
            project_key=DEMO_PROJECT_KEY,
            issue_type_name=DEMO_ISSUE_TYPE,
        )

    def get(self, connection_id: int) -> Connection:
        """Any connection by id, deleted ones included (history). Raises ConnectionNotFound."""
        row = self._repo.get(connection_id)
        if row is None:
            raise ConnectionNotFound(connection_id)
        return self._from_row(row)

    def list(self, *, include_deleted: bool = False) -> list[Connection]:
        """The user's stored connections, oldest first."""
        return [self._from_row(r) for r in self._repo.list_user(include_deleted=include_deleted)]

    def active(self) -> Connection:
        """secrets.toml's connection, else the active stored one, else the demo sandbox.

        Kept until the next write: every page's sidebar asks on every rerun, and
        the answer comes from stored rows and this store's start-up settings
        only (two queries and opening the sealed secret, ~2 ms a click).
        """
        return self._db.kept(self._active_key, self._read_active)

    def _read_active(self) -> Connection:
        if self._deployed is not None:
            wanted = SECRETS_ID
        else:
            wanted = self._repo.active_user_id()
            wanted = DEMO_ID if wanted is None else wanted
        return replace(self.get(wanted), active=True)

    def public_url(self, connection: Connection) -> str:
        """Where links from Jira lead: the connection's own address, else the settings'."""
        return connection.public_url or self._settings.public_url

    # -- writes ----------------------------------------------------------------
    def create(
        self,
        data: ConnectionInput,
        *,
        session: requests.Session | None = None,
        activate: bool = True,
    ) -> tuple[Connection, CheckResult]:
        """Validate, check with Jira's /myself, then store (sealed secret) and activate.

        Raises:
            InvalidConnectionInput: bad host or credentials (``.field`` names the input).
            ConnectionCheckFailed: Jira refused; nothing was stored.
        """
        candidate = validate_input(data)
        result = _check_or_raise(candidate, session)
        new_id = self._repo.insert_user(
            self._values(candidate, self._box.seal(candidate.secret.reveal())),
            _record(result),
            activate=activate,
            now=self._clock(),
        )
        return self.get(new_id), result

    def update(
        self, connection_id: int, data: ConnectionInput, *, session: requests.Session | None = None
    ) -> tuple[Connection, CheckResult]:
        """Change host, credentials and advanced settings; blank credentials keep the stored ones.

        The kind stays. Checked with /myself first, like ``create``.

        Raises:
            InvalidConnectionInput, ConnectionCheckFailed, ConnectionNotFound.
        """
        old = self._user_row(connection_id)
        keep = data.credentials.strip() == ""
        if keep and not old.secret.readable:
            raise InvalidConnectionInput("credentials", str(SecretUnreadable()))
        candidate = validate_input(
            replace(data, kind=old.kind, flavour=old.flavour),
            keep_credentials=old if keep else None,
        )
        result = _check_or_raise(candidate, session)
        self._repo.update_user(
            connection_id,
            self._values(candidate, self._box.seal(candidate.secret.reveal())),
            _record(result),
            now=self._clock(),
        )
        return self.get(connection_id), result

    def _user_row(self, connection_id: int) -> Connection:
        found = self.get(connection_id)
        if found.source != "user" or found.deleted_at is not None:
            raise ConnectionNotFound(connection_id)
        return found

    def activate(self, connection_id: int) -> None:
        """Make this stored connection the only active one. Raises ConnectionNotFound."""
        self._user_row(connection_id)
        self._repo.activate(connection_id)

    def use_demo(self) -> None:
        """Deactivate every stored connection: the demo sandbox becomes active."""
        self._repo.deactivate_all()

    def delete(self, connection_id: int) -> None:
        """Soft delete: the row stays so links made through it keep their history."""
        self._user_row(connection_id)
        self._repo.soft_delete(connection_id, now=self._clock())

    def record_check(self, connection_id: int, result: CheckResult) -> None:
        self._repo.record_check(connection_id, _record(result))

    def set_done_comes_back(self, connection_id: int, on: bool) -> Connection:
        """Jira's Done comes back (archives the anomaly) for this connection, or not."""
        self.get(connection_id)  # ConnectionNotFound for an unknown id
        self._repo.save_done_comes_back(connection_id, on, now=self._clock())
        return self.get(connection_id)

    def save_defaults(self, connection_id: int, defaults: TicketDefaults) -> Connection:
        """Store the defaults for new tickets. Raises InvalidConnectionInput (public_url)."""
        url = validate_public_url(defaults.public_url) if defaults.public_url else None
        self.get(connection_id)
        self._repo.save_defaults(
            connection_id,
            DefaultsRecord(
                defaults.project_key,
                defaults.issue_type_id,
                defaults.issue_type_name,
                defaults.priority_name,
                url,
            ),
            now=self._clock(),
        )
        return self.get(connection_id)

    def save_ticket_moves(self, connection_id: int, moves: TicketMoves) -> Connection:
        """Store whether archive/reopen moves linked tickets, and how.

        Raises:
            InvalidConnectionInput: a transition id that is not a number, or
                none given when moving by id; nothing is stored.
            ConnectionNotFound.
        """
        record = validate_ticket_moves(moves)
        self.get(connection_id)
        self._repo.save_ticket_moves(connection_id, record, now=self._clock())
        return self.get(connection_id)


def _check_or_raise(connection: Connection, session: requests.Session | None) -> CheckResult:
    result = checks.check(connection, session)
    if not result.ok:
        raise ConnectionCheckFailed(result.message)
    return result


def test_connection(
    store: ConnectionStore, connection_id: int, *, session: requests.Session | None = None
) -> CheckResult:
    """Check a stored (or the demo / secrets.toml) connection now and record the outcome."""
    result = checks.check(store.get(connection_id), session)
    store.record_check(connection_id, result)
    return result


test_connection.__test__ = False  # pytest: a library function, not a test
