"""What the Connect page calls: connections, their checks, detection, and ticket defaults.

Every Jira failure comes back as ``ConnectionCheckFailed`` with the words of
``explain``, so the page needs neither the Jira client nor its errors.
"""

from __future__ import annotations

from collections.abc import Callable

from lib.connections import checks
from lib.connections.checks import Detected
from lib.connections.connection_store import ConnectionStore, test_connection
from lib.connections.models import (
    CHECK_TIMEOUT,
    CheckResult,
    Connection,
    ConnectionCheckFailed,
    ConnectionInput,
    InvalidConnectionInput,
    TicketDefaults,
    TicketMoves,
)
from lib.connections.secret_box import SecretUnreadable
from lib.connections.validation import sandbox_credentials
from lib.jira import JiraError, NotFound
from lib.jira.jql import looks_like_issue_key
from lib.jira.records import IssueType, Project, Transition
from lib.jira.wording import explain


class ConnectionService:
    def __init__(self, store: ConnectionStore, sandbox_url: str) -> None:
        self._store = store
        self.sandbox_url = sandbox_url

    # -- reads -----------------------------------------------------------------
    def active(self) -> Connection:
        return self._store.active()

    def list(self) -> list[Connection]:
        return self._store.list()

    @property
    def deployed_error(self) -> str | None:
        return self._store.deployed_error

    def public_url(self, connection: Connection) -> str:
        return self._store.public_url(connection)

    @staticmethod
    def sandbox_credentials(flavour: str, dc_auth: str = "pat") -> str:
        return sandbox_credentials(flavour, dc_auth)

    # -- changes (each raises the store's errors: InvalidConnectionInput, ...) ---------
    def create(self, data: ConnectionInput) -> tuple[Connection, CheckResult]:
        return self._store.create(data)

    def update(self, connection_id: int, data: ConnectionInput) -> tuple[Connection, CheckResult]:
        return self._store.update(connection_id, data)

    def activate(self, connection_id: int) -> None:
        self._store.activate(connection_id)

    def use_demo(self) -> None:
        self._store.use_demo()

    def delete(self, connection_id: int) -> None:
        self._store.delete(connection_id)

    def save_defaults(self, connection_id: int, defaults: TicketDefaults) -> Connection:
        return self._store.save_defaults(connection_id, defaults)

    def set_done_comes_back(self, connection_id: int, on: bool) -> Connection:
        """Raises ConnectionNotFound."""
        return self._store.set_done_comes_back(connection_id, on)

    def save_ticket_moves(self, connection_id: int, moves: TicketMoves) -> Connection:
        """Move linked tickets on archive/reopen (or not). Raises InvalidConnectionInput."""
        return self._store.save_ticket_moves(connection_id, moves)

    def test(self, connection_id: int) -> CheckResult:
        """Check now and record it. Raises ConnectionNotFound."""
        return test_connection(self._store, connection_id)

    # -- asking Jira -------------------------------------------------------------
    def detect(
        self, host: str, *, chosen_kind: str | None = None, ca_bundle: str | None = None
    ) -> Detected:
        """Kind and flavour for ``host``, as Create will accept them.

        Raises:
            InvalidConnectionInput: the host is not acceptable.
            ConnectionCheckFailed: Jira's /serverInfo could not be read (in words).
        """
        try:
            return checks.detect(
                host, sandbox_url=self.sandbox_url, chosen_kind=chosen_kind, ca_bundle=ca_bundle
            )
        except JiraError as exc:
            raise ConnectionCheckFailed(f"Could not detect the flavour: {exc}") from None

    def projects(self, connection: Connection) -> list[Project]:
        """Raises ConnectionCheckFailed (in words)."""
        return self._ask(connection, lambda: checks.projects(connection))

    def issue_types(self, connection: Connection, project_key: str) -> list[IssueType]:
        """Raises ConnectionCheckFailed (in words)."""
        return self._ask(connection, lambda: checks.issue_types(connection, project_key))

    def priorities(self, connection: Connection, project_key: str, issue_type_id: str) -> list[str]:
        """Raises ConnectionCheckFailed (in words)."""
        return self._ask(
            connection, lambda: checks.priorities(connection, project_key, issue_type_id)
        )

    def transitions_of(self, connection: Connection, key: str) -> list[Transition]:
        """What one ticket offers now (id, target status and category): where to find an id.

        Raises:
            InvalidConnectionInput: ``key`` is not an issue key (``transitions_key``).
            ConnectionCheckFailed: Jira could not answer (in words).
        """
        key = (key or "").strip().upper()
        if not looks_like_issue_key(key):
            raise InvalidConnectionInput("transitions_key", "Give a ticket's key, like DQ-12.")
        try:
            return checks.make_client(connection, timeout=CHECK_TIMEOUT).get_transitions(key)
        except NotFound as exc:  # the issue, not the API: explain() would blame the address
            raise ConnectionCheckFailed(f"{key}: {exc.hint}") from None
        except (JiraError, SecretUnreadable) as exc:
            raise ConnectionCheckFailed(explain(exc, connection)) from None

    @staticmethod
    def _ask(connection: Connection, call: Callable):
        try:
            return call()
        except (JiraError, SecretUnreadable) as exc:
            raise ConnectionCheckFailed(explain(exc, connection)) from None
