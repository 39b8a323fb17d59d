"""What a Jira connection is: the records and errors the rest of the app sees.

A ``Connection`` holds its secret in memory only (``Secret`` never prints
itself); the store keeps it sealed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from lib.connections.secret_box import Secret
from lib.store.connections import DEMO_ID, SECRETS_ID

CHECK_TIMEOUT = 10.0  # a person waits for the answer: fail fast, no retries
KIND_LABELS = {"cloud": "Jira Cloud", "dc": "Jira Data Center", "sandbox": "Sandbox"}

__all__ = [
    "CHECK_TIMEOUT",
    "DEMO_ID",
    "KIND_LABELS",
    "SECRETS_ID",
    "CheckResult",
    "Connection",
    "ConnectionCheckFailed",
    "ConnectionInput",
    "ConnectionNotFound",
    "InvalidConnectionInput",
    "TicketDefaults",
    "TicketMoves",
    "utc_now",
]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Connection:
    id: int | None
    source: str  # 'user' (stored), 'demo' (sandbox fallback), 'secrets' (secrets.toml)
    kind: str  # 'cloud' | 'dc' | 'sandbox'
    flavour: str  # 'cloud' | 'dc': the API the client speaks
    host: str
    auth_type: str  # 'basic' | 'bearer'
    username: str | None
    secret: Secret = field(repr=False)
    api_prefix: str | None = None
    trust_env: bool = True
    ca_bundle: str | None = None
    active: bool = False
    check_status: str | None = None  # 'ok' | 'failed' | None (never checked)
    checked_at: datetime | None = None
    check_message: str | None = None
    account_name: str | None = None
    project_key: str | None = None
    issue_type_id: str | None = None
    issue_type_name: str | None = None
    priority_name: str | None = None
    public_url: str | None = None
    deleted_at: datetime | None = None
    done_comes_back: bool = False  # when every linked ticket is Done in Jira, archive here
    # Moving linked tickets on archive/reopen (migration 012), off by default.
    move_tickets: bool = False
    transition_by: str = "category"  # 'category' | 'id'
    done_transition_id: str | None = None
    reopen_transition_id: str | None = None

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"

    @property
    def read_only(self) -> bool:
        return self.source != "user"

    @property
    def label(self) -> str:
        who = f" as {self.username}" if self.username else " with a personal access token"
        return f"{KIND_LABELS[self.kind]} · {self.host}{who}"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    checked_at: datetime
    account_name: str | None = None


@dataclass(frozen=True)
class TicketDefaults:
    project_key: str | None = None
    issue_type_id: str | None = None
    issue_type_name: str | None = None
    priority_name: str | None = None
    public_url: str | None = None


@dataclass(frozen=True)
class TicketMoves:
    """What the Connect page gives: move linked tickets on archive/reopen, and how.

    ``by`` is 'category' (the target status's category, never a localised
    name) or 'id' (``done_transition_id`` required; an empty
    ``reopen_transition_id`` moves out of Done by category).
    """

    enabled: bool = False
    by: str = "category"
    done_transition_id: str = ""
    reopen_transition_id: str = ""


@dataclass(frozen=True)
class ConnectionInput:
    """What the form (or secrets.toml) gives, before any check."""

    kind: str  # 'cloud' | 'dc' | 'sandbox'
    host: str
    credentials: str = field(repr=False)  # email:api_token, a PAT, or username:password
    dc_auth: str = "pat"  # Data Center (and DC-flavoured sandbox): 'pat' | 'basic'
    flavour: str = "cloud"  # sandbox only: which API the sandbox client speaks
    api_prefix: str = ""
    trust_env: bool = True
    ca_bundle: str = ""


class ConnectionNotFound(LookupError):
    def __init__(self, connection_id: int):
        super().__init__(f"There is no Jira connection with id {connection_id}.")
        self.connection_id = connection_id


class ConnectionCheckFailed(Exception):
    """Jira refused the new settings (the message says what to do); nothing was saved."""


class InvalidConnectionInput(ValueError):
    """Input refused before any call; ``field`` names the input the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
