"""Jira connections: input checks, the repository, the client factory, the /myself check.

Which connection is active, in order: the one from secrets.toml ``[jira]``
(deployments; read-only, its secret never stored), else the user's active
connection, else the demo sandbox mounted at ``settings.sandbox_url``.
Secrets are stored only sealed by ``SecretBox``. The public dashboard URL for
links back from Jira is kept per connection (falling back to
``settings.public_url``), so a second Jira site can point at another address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import duckdb
import requests

from lib.connections.secret_box import Secret, SecretBox, SecretUnreadable
from lib.jira import (
    BadCredentials,
    BasicAuth,
    BearerAuth,
    CaptchaRequired,
    Flavour,
    Forbidden,
    JiraClient,
    JiraConnectionError,
    JiraDnsError,
    JiraError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    detect_flavour,
)
from lib.jira.demo_credentials import (
    DEMO_CLOUD_API_TOKEN,
    DEMO_CLOUD_EMAIL,
    DEMO_DC_PASSWORD,
    DEMO_DC_PAT,
    DEMO_DC_USERNAME,
)
from lib.jira.records import IssueType, Project
from lib.settings import Settings
from lib.store.db import Database

DEMO_ID = 0
SECRETS_ID = -1
CHECK_TIMEOUT = 10.0  # a person waits for the answer: fail fast, no retries
_CHECK_RETRIES = RetryPolicy(max_attempts=1)

__all__ = [
    "CheckResult",
    "Connection",
    "ConnectionCheckFailed",
    "ConnectionInput",
    "ConnectionNotFound",
    "ConnectionStore",
    "DEMO_ID",
    "InvalidConnectionInput",
    "KIND_LABELS",
    "SECRETS_ID",
    "TicketDefaults",
    "check",
    "deployed_input_from_secrets",
    "detect_kind",
    "explain",
    "list_issue_types",
    "list_priorities",
    "list_projects",
    "make_client",
    "normalise_host",
    "parse_credentials",
    "sandbox_credentials",
    "test_connection",
    "validate_input",
    "validate_public_url",
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


class ConnectionNotFound(LookupError):
    def __init__(self, connection_id: int):
        super().__init__(f"There is no Jira connection with id {connection_id}.")
        self.connection_id = connection_id


class ConnectionCheckFailed(Exception):
    """Jira refused the new settings (the message says what to do); nothing was saved."""


# -- input checks (pure: no I/O except the CA bundle's existence) ------------

KIND_LABELS = {"cloud": "Jira Cloud", "dc": "Jira Data Center", "sandbox": "Sandbox"}
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")
# Pasted page addresses (a board, an issue, the REST API) are not context paths.
_UI_SEGMENTS = {
    "browse",
    "rest",
    "secure",
    "projects",
    "plugins",
    "issues",
    "servicedesk",
    "wiki",
    "software",
    "jira-software",
    "login.jsp",
    "dashboard.jspa",
}


class InvalidConnectionInput(ValueError):
    """Input refused before any call; ``field`` names the input the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_url(raw: str, field_name: str, what: str) -> SplitResult:
    text = (raw or "").strip()  # a pasted newline or space at either end is harmless
    if not text:
        raise InvalidConnectionInput(
            field_name, f"Enter the {what}, e.g. https://your-site.atlassian.net."
        )
    if any(c.isspace() for c in text):
        raise InvalidConnectionInput(field_name, f"The {what} contains spaces: remove them.")
    if "://" not in text:
        raise InvalidConnectionInput(
            field_name, f"The {what} must start with https:// (e.g. https://{text})."
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidConnectionInput(
            field_name, f"The {what} must start with https:// (not {parts.scheme or '?'}://)."
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidConnectionInput(
            field_name, f"Remove the user name from the {what}: credentials go in their own field."
        )
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidConnectionInput(field_name, f"Remove the ?query or #fragment from the {what}.")
    try:
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        raise InvalidConnectionInput(
            field_name, f"The port in the {what} must be a number from 1 to 65535."
        ) from None
    host = (parts.hostname or "").lower()
    if not host or not (_HOST_NAME.match(host) or _is_ip(host)):
        raise InvalidConnectionInput(
            field_name, f"The {what} has no valid host name (e.g. https://jira.example.com)."
        )
    return parts


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalise_host(kind: str, raw: str) -> str:
    """The base URL for ``kind``: scheme and host lower-cased, no trailing slash.

    https is required; http only for this machine (loopback). Jira Cloud takes no
    path; Data Center (and the sandbox) may sit under a context path such as
    ``/jira``, but a pasted page address (``/browse/X-1``, ``/rest/api/2``) is refused.

    Raises:
        InvalidConnectionInput: field ``host``.
    """
    parts = _split_url(raw, "host", "Jira address")
    host = parts.hostname.lower()
    if parts.scheme.lower() == "http" and not _is_loopback(host):
        raise InvalidConnectionInput(
            "host",
            "Use https://: plain http:// is only allowed for this machine "
            "(localhost, 127.0.0.1, ::1), because credentials would travel unencrypted.",
        )
    path = parts.path.rstrip("/")
    segments = [s for s in path.split("/") if s]
    if segments and kind == "cloud":
        raise InvalidConnectionInput(
            "host",
            f"A Jira Cloud address has no path: use https://{parts.netloc.lower()} "
            f"(remove {path}).",
        )
    if (
        any(s.lower() in _UI_SEGMENTS or not _PATH_SEGMENT.match(s) for s in segments)
        or len(segments) > 2
    ):
        raise InvalidConnectionInput(
            "host",
            f"Remove the path {path}: give Jira's base address (with a context path such "
            "as /jira only if your Jira lives under one), not a page or API address.",
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}" + (
        "/" + "/".join(segments) if segments else ""
    )


def validate_public_url(raw: str) -> str:
    """The dashboard's public address (http or https, any host), without trailing slash.

    Raises:
        InvalidConnectionInput: field ``public_url``.
    """
    parts = _split_url(raw, "public_url", "public address of the dashboard")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def parse_credentials(
    flavour: str, auth: str, raw: str, *, cloud_site: bool
) -> tuple[str, str | None, str]:
    """(auth_type, username, secret) from the one credentials field, split at the first colon.

    Raises:
        InvalidConnectionInput: field ``credentials``.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidConnectionInput("credentials", "Enter the credentials.")
    if flavour == "dc" and auth == "pat":
        if ":" in text:
            raise InvalidConnectionInput(
                "credentials",
                "A personal access token has no colon: this looks like "
                "username:password, so choose 'Username and password'.",
            )
        if any(c.isspace() for c in text):
            raise InvalidConnectionInput("credentials", "The token contains spaces: copy it again.")
        return "bearer", None, text
    what = "email:api_token" if flavour == "cloud" else "username:password"
    user, colon, secret = text.partition(":")
    if not colon:
        raise InvalidConnectionInput(
            "credentials", f"Enter {what}, with a colon between the two parts."
        )
    if not user.strip():
        raise InvalidConnectionInput(
            "credentials", f"The part before the colon is empty: enter {what}."
        )
    if not secret:
        raise InvalidConnectionInput(
            "credentials", f"The part after the colon is empty: enter {what}."
        )
    if flavour == "cloud" and cloud_site and "@" not in user:
        raise InvalidConnectionInput(
            "credentials", "Before the colon goes your Atlassian account email (email:api_token)."
        )
    if flavour == "cloud" and any(c.isspace() for c in secret):
        raise InvalidConnectionInput("credentials", "The API token contains spaces: copy it again.")
    return "basic", user.strip(), secret


def validate_input(
    data: ConnectionInput, *, keep_credentials: Connection | None = None
) -> Connection:
    """A checked, normalised connection (not stored: ``id`` None).

    ``keep_credentials``: an existing connection whose username and secret stay
    (an edit with the credentials field left empty).

    Raises:
        InvalidConnectionInput: ``field`` is kind, host, credentials, api_prefix or ca_bundle.
    """
    if data.kind not in KIND_LABELS:
        raise InvalidConnectionInput("kind", "Choose Jira Cloud, Jira Data Center or Sandbox.")
    flavour = data.flavour if data.kind == "sandbox" else data.kind
    if flavour not in ("cloud", "dc"):
        raise InvalidConnectionInput(
            "kind", "Choose whether the sandbox speaks Cloud or Data Center."
        )
    host = normalise_host(data.kind, data.host)
    if keep_credentials is not None:
        auth_type, user, secret = (
            keep_credentials.auth_type,
            keep_credentials.username,
            keep_credentials.secret,
        )
    else:
        auth_type, user, plain = parse_credentials(
            flavour, data.dc_auth, data.credentials, cloud_site=data.kind == "cloud"
        )
        secret = Secret(plain)
    prefix = data.api_prefix.strip().strip("/")
    if prefix and not all(_PATH_SEGMENT.match(s) for s in prefix.split("/")):
        raise InvalidConnectionInput(
            "api_prefix", "The API prefix is a path like rest/api/2, without spaces."
        )
    ca = data.ca_bundle.strip()
    if ca and not Path(ca).expanduser().is_file():
        raise InvalidConnectionInput(
            "ca_bundle", f"No CA bundle file at {ca}: give the path of a PEM file."
        )
    return Connection(
        None,
        "user",
        data.kind,
        flavour,
        host,
        auth_type,
        user,
        secret,
        api_prefix=prefix or None,
        trust_env=bool(data.trust_env),
        ca_bundle=str(Path(ca).expanduser()) if ca else None,
    )


def sandbox_credentials(flavour: str, dc_auth: str = "pat") -> str:
    """The sandbox's public demo credentials, as typed into the credentials field."""
    if flavour == "cloud":
        return f"{DEMO_CLOUD_EMAIL}:{DEMO_CLOUD_API_TOKEN}"
    return f"{DEMO_DC_USERNAME}:{DEMO_DC_PASSWORD}" if dc_auth == "basic" else DEMO_DC_PAT


# -- secrets.toml -------------------------------------------------------------


def deployed_input_from_secrets(secrets: Mapping) -> ConnectionInput | None:
    """The ``[jira]`` section of secrets.toml as input, or None when there is none.

    Keys: kind (cloud|dc|sandbox), host, flavour (sandbox: cloud|dc), email +
    api_token (Cloud), token (DC personal access token) or username + password
    (DC basic), and optional api_prefix, trust_env, ca_bundle.
    """
    section = dict((secrets or {}).get("jira") or {})
    if not section:
        return None
    kind = str(section.get("kind", "")).strip().lower()
    flavour = str(section.get("flavour") or ("dc" if kind == "dc" else "cloud")).strip().lower()
    if flavour == "cloud":
        dc_auth, credentials = "pat", f"{section.get('email', '')}:{section.get('api_token', '')}"
    elif section.get("username"):
        dc_auth, credentials = "basic", f"{section['username']}:{section.get('password', '')}"
    else:
        dc_auth, credentials = "pat", str(section.get("token", ""))
    return ConnectionInput(
        kind=kind,
        host=str(section.get("host", "")),
        credentials=credentials,
        dc_auth=dc_auth,
        flavour=flavour,
        api_prefix=str(section.get("api_prefix") or ""),
        trust_env=bool(section.get("trust_env", True)),
        ca_bundle=str(section.get("ca_bundle") or ""),
    )


# -- the repository -----------------------------------------------------------

_COLUMNS = (
    "id, source, kind, flavour, host, auth_type, username, secret_sealed, api_prefix, trust_env,"
    " ca_bundle, active, check_status, checked_at, check_message, account_name, project_key,"
    " issue_type_id, issue_type_name, priority_name, public_url, deleted_at"
)
_COLUMN_NAMES = tuple(c.strip() for c in _COLUMNS.split(","))
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
)


class ConnectionStore:
    """Stored connections plus the two virtual ones (demo, secrets.toml)."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        settings: Settings,
        *,
        deployed: ConnectionInput | None = None,
        clock=utc_now,
    ) -> None:
        self._db, self._box, self._settings, self._clock = db, box, settings, clock
        self.deployed_input = deployed
        self.deployed_error: str | None = None  # why secrets.toml [jira] is ignored
        self._deployed: Connection | None = None
        if deployed is not None:
            try:
                self._deployed = replace(validate_input(deployed), id=SECRETS_ID, source="secrets")
            except InvalidConnectionInput as exc:
                self.deployed_error = f"secrets.toml [jira] is not used: {exc}"
            else:
                self._record_deployed(self._deployed)

    def _record_deployed(self, conn: Connection) -> None:
        # Kept as a row (without the secret) so links made through it name a connection.
        now = self._clock()
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO jira_connections (id, source, kind, flavour, host, auth_type, username,"
                " created_at, updated_at) VALUES (?, 'secrets', ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, flavour = excluded.flavour,"
                " host = excluded.host, auth_type = excluded.auth_type, username = excluded.username",
                [
                    SECRETS_ID,
                    conn.kind,
                    conn.flavour,
                    conn.host,
                    conn.auth_type,
                    conn.username,
                    now,
                    now,
                ],
            )

    # -- reads -----------------------------------------------------------------
    def _row(self, cur: duckdb.DuckDBPyConnection, connection_id: int) -> Connection | None:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM jira_connections WHERE id = ?", [connection_id]
        ).fetchone()
        return self._from_row(row) if row else None

    def _from_row(self, row: tuple) -> Connection:
        values = dict(zip(_COLUMN_NAMES, row))
        stored = {k: values[k] for k in _STORED_FIELDS}
        if values["source"] == "demo":
            return replace(self.demo_template(), **stored)
        if values["source"] == "secrets":
            return replace(self._deployed or self._unconfigured_deployed(values), **stored)
        try:
            secret = Secret(self._box.open(values.pop("secret_sealed")))
        except SecretUnreadable:
            secret = Secret.unreadable()
        return Connection(**values, secret=secret)

    def _unconfigured_deployed(self, values: dict) -> Connection:
        # secrets.toml lost its [jira] section: the row stays readable as history.
        return Connection(
            SECRETS_ID,
            "secrets",
            values["kind"],
            values["flavour"],
            values["host"] or "",
            values["auth_type"],
            values["username"],
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
        )

    def get(self, connection_id: int) -> Connection:
        """Any connection by id, deleted ones included (history). Raises ConnectionNotFound."""
        with self._db.read() as cur:
            found = self._row(cur, connection_id)
        if found is None:
            raise ConnectionNotFound(connection_id)
        return found

    def list(self, *, include_deleted: bool = False) -> list[Connection]:
        """The user's stored connections, oldest first."""
        deleted = "" if include_deleted else " AND deleted_at IS NULL"
        with self._db.read() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM jira_connections WHERE source = 'user'"
                f"{deleted} ORDER BY id"
            ).fetchall()
        return [self._from_row(r) for r in rows]

    def active(self) -> Connection:
        """secrets.toml's connection, else the active stored one, else the demo sandbox."""
        wanted = SECRETS_ID if self._deployed is not None else None
        with self._db.read() as cur:
            if wanted is None:
                hit = cur.execute(
                    "SELECT id FROM jira_connections WHERE source = 'user' AND active"
                    " AND deleted_at IS NULL ORDER BY id LIMIT 1"
                ).fetchone()
                wanted = hit[0] if hit else DEMO_ID
            return replace(self._row(cur, wanted), active=True)

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
        now = self._clock()
        with self._db.transaction() as cur:
            if activate:
                cur.execute("UPDATE jira_connections SET active = FALSE WHERE active")
            new_id = cur.execute(
                "INSERT INTO jira_connections (source, kind, flavour, host, auth_type, username,"
                " secret_sealed, api_prefix, trust_env, ca_bundle, active, check_status, checked_at,"
                " check_message, account_name, created_at, updated_at)"
                " VALUES ('user', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?) RETURNING id",
                [
                    candidate.kind,
                    candidate.flavour,
                    candidate.host,
                    candidate.auth_type,
                    candidate.username,
                    self._box.seal(candidate.secret.reveal()),
                    candidate.api_prefix,
                    candidate.trust_env,
                    candidate.ca_bundle,
                    activate,
                    result.checked_at,
                    result.message,
                    result.account_name,
                    now,
                    now,
                ],
            ).fetchone()[0]
            return self._row(cur, new_id), result

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
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET host = ?, flavour = ?, auth_type = ?, username = ?,"
                " secret_sealed = ?, api_prefix = ?, trust_env = ?, ca_bundle = ?, check_status = 'ok',"
                " checked_at = ?, check_message = ?, account_name = ?, updated_at = ? WHERE id = ?",
                [
                    candidate.host,
                    candidate.flavour,
                    candidate.auth_type,
                    candidate.username,
                    self._box.seal(candidate.secret.reveal()),
                    candidate.api_prefix,
                    candidate.trust_env,
                    candidate.ca_bundle,
                    result.checked_at,
                    result.message,
                    result.account_name,
                    self._clock(),
                    connection_id,
                ],
            )
            return self._row(cur, connection_id), result

    def _user_row(self, connection_id: int) -> Connection:
        found = self.get(connection_id)
        if found.source != "user" or found.deleted_at is not None:
            raise ConnectionNotFound(connection_id)
        return found

    def activate(self, connection_id: int) -> None:
        """Make this stored connection the only active one. Raises ConnectionNotFound."""
        self._user_row(connection_id)
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET active = (id = ?) WHERE active OR id = ?",
                [connection_id, connection_id],
            )

    def use_demo(self) -> None:
        """Deactivate every stored connection: the demo sandbox becomes active."""
        with self._db.transaction() as cur:
            cur.execute("UPDATE jira_connections SET active = FALSE WHERE active")

    def delete(self, connection_id: int) -> None:
        """Soft delete: the row stays so links made through it keep their history."""
        self._user_row(connection_id)
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET deleted_at = ?, active = FALSE WHERE id = ?",
                [self._clock(), connection_id],
            )

    def record_check(self, connection_id: int, result: CheckResult) -> None:
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE jira_connections SET check_status = ?, checked_at = ?,"
                " check_message = ?, account_name = coalesce(?, account_name) WHERE id = ?",
                [
                    "ok" if result.ok else "failed",
                    result.checked_at,
                    result.message,
                    result.account_name,
                    connection_id,
                ],
            )

    def save_defaults(self, connection_id: int, defaults: TicketDefaults) -> Connection:
        """Store the defaults for new tickets. Raises InvalidConnectionInput (public_url)."""
        url = validate_public_url(defaults.public_url) if defaults.public_url else None
        self.get(connection_id)
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
                    url,
                    self._clock(),
                    connection_id,
                ],
            )
            return self._row(cur, connection_id)


# -- talking to Jira ----------------------------------------------------------


def make_client(
    connection: Connection,
    *,
    session: requests.Session | None = None,
    timeout: float = 30.0,
    retry_policy: RetryPolicy = RetryPolicy(),
) -> JiraClient:
    """A client for the connection's flavour, credentials, proxy and CA settings.

    Raises:
        SecretUnreadable: the stored secret cannot be decrypted with the current key.
    """
    secret = connection.secret.reveal()
    auth = (
        BasicAuth(connection.username or "", secret)
        if connection.auth_type == "basic"
        else BearerAuth(secret)
    )
    flavour = Flavour.CLOUD if connection.flavour == "cloud" else Flavour.DATA_CENTER
    return JiraClient(
        connection.host,
        auth,
        flavour=flavour,
        session=session,
        timeout=timeout,
        api_prefix=connection.api_prefix or None,
        verify=connection.ca_bundle or True,
        trust_env=connection.trust_env,
        retry_policy=retry_policy,
    )


def check(connection: Connection, session: requests.Session | None = None) -> CheckResult:
    """Call /myself once; the outcome in words a user can act on."""
    now = utc_now()
    try:
        me = make_client(
            connection, session=session, timeout=CHECK_TIMEOUT, retry_policy=_CHECK_RETRIES
        ).myself()
    except (JiraError, SecretUnreadable) as exc:
        return CheckResult(False, explain(exc, connection), now)
    name = me.display_name or me.name or me.email or "(no display name)"
    return CheckResult(True, f"Connected as {name}", now, name)


def _check_or_raise(connection: Connection, session: requests.Session | None) -> CheckResult:
    result = check(connection, session)
    if not result.ok:
        raise ConnectionCheckFailed(result.message)
    return result


def test_connection(
    store: ConnectionStore, connection_id: int, *, session: requests.Session | None = None
) -> CheckResult:
    """Check a stored (or the demo / secrets.toml) connection now and record the outcome."""
    result = check(store.get(connection_id), session)
    store.record_check(connection_id, result)
    return result


test_connection.__test__ = False  # pytest: a library function, not a test


def explain(error: Exception, connection: Connection) -> str:
    """A failed check in words: what happened and what to do next."""
    host = connection.host
    if isinstance(error, SecretUnreadable):
        return str(error)
    if isinstance(error, CaptchaRequired):
        return (
            f"Jira locked the account behind a CAPTCHA after failed logins: log in once in a "
            f"browser at {host} to clear the CAPTCHA, then test again."
        )
    if isinstance(error, BadCredentials):
        return _bad_credentials(connection)
    if isinstance(error, Forbidden):
        return (
            "Jira knows the account but refused access (HTTP 403): the account lacks permission "
            "to use Jira, or basic authentication is blocked on this site (use an API token or a "
            "personal access token)."
        )
    if isinstance(error, JiraTimeout):
        return (
            f"Jira at {host} did not answer within {CHECK_TIMEOUT:.0f} seconds (timeout): check the "
            "address, the network and the proxy setting, then test again."
        )
    return _unreachable(error, connection) or _odd_answer(error, connection)


def _bad_credentials(connection: Connection) -> str:
    if connection.flavour == "cloud":
        return (
            "Jira refused the credentials (HTTP 401): check the email and API token, pasted as "
            "email:api_token. API tokens expire within a year and can be revoked: create a new "
            "one at id.atlassian.com > Security > API tokens."
        )
    if connection.auth_type == "bearer":
        return (
            "Jira refused the personal access token (HTTP 401): it may be mistyped, expired or "
            "revoked. Create a new one in Jira under Profile > Personal Access Tokens."
        )
    return "Jira refused the username or password (HTTP 401): check both and test again."


def _unreachable(error: Exception, connection: Connection) -> str | None:
    if isinstance(error, JiraDnsError):
        return (
            f"The host name in {connection.host} was not found (DNS): check the spelling of the "
            "address."
        )
    if isinstance(error, JiraTLSError):
        return (
            f"The TLS certificate of {connection.host} is not trusted: if Jira uses an internal "
            "certificate authority, set its CA bundle path under Advanced (verification is "
            "never switched off)."
        )
    if isinstance(error, JiraConnectionError):
        return (
            f"Could not connect to {connection.host}: the connection was refused or dropped. "
            "Check the address and port, that Jira is running, and the proxy setting."
        )
    return None


def _odd_answer(error: Exception, connection: Connection) -> str:
    if isinstance(error, NotFound):
        hint = (
            " If this is a Data Center server, choose Jira Data Center."
            if connection.flavour == "cloud" and connection.kind != "cloud"
            else ""
        )
        return (
            f"No Jira REST API was found at {connection.host} (HTTP 404): check the address, "
            f"the context path and the API prefix.{hint}"
        )
    if isinstance(error, RateLimited):
        return "Jira is limiting the request rate (HTTP 429): wait a minute and test again."
    if isinstance(error, ServerError):
        return f"Jira failed with a server error (HTTP {error.status}): try again later."
    return str(error)


def detect_kind(
    host: str, *, ca_bundle: str | None = None, session: requests.Session | None = None
) -> str:
    """'cloud' or 'dc' for a host, from its name or its anonymous /serverInfo.

    Raises:
        InvalidConnectionInput: the host is not acceptable.
        JiraError: /serverInfo could not be read.
    """
    url = normalise_host("dc", host)  # the loosest rules: a context path is fine here
    flavour = detect_flavour(url, session, timeout=CHECK_TIMEOUT, verify=ca_bundle or True)
    return "cloud" if flavour is Flavour.CLOUD else "dc"


def list_projects(
    store: ConnectionStore, connection_id: int, session: requests.Session | None = None
) -> list[Project]:
    """Projects the connection's account can see, by key. Raises JiraError, SecretUnreadable."""
    client = make_client(store.get(connection_id), session=session, timeout=CHECK_TIMEOUT)
    return sorted(client.projects(), key=lambda p: p.key)


def list_issue_types(
    store: ConnectionStore,
    connection_id: int,
    project_key: str,
    session: requests.Session | None = None,
) -> list[IssueType]:
    """Issue types a new ticket may have in the project (no sub-tasks)."""
    client = make_client(store.get(connection_id), session=session, timeout=CHECK_TIMEOUT)
    return [t for t in client.issue_types(project_key) if not t.subtask]


def list_priorities(
    store: ConnectionStore,
    connection_id: int,
    project_key: str,
    issue_type_id: str,
    session: requests.Session | None = None,
) -> list[str]:
    """Priority names allowed for the project and issue type ([]: priority cannot be set)."""
    client = make_client(store.get(connection_id), session=session, timeout=CHECK_TIMEOUT)
    return client.priorities(project_key, issue_type_id)
