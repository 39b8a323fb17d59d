"""Jira connections: the public names of ``lib.connections``, and the wording of failed checks.

The parts live in their own modules: ``models`` (records and errors),
``validation`` (input checks), ``checks`` (calls to Jira), ``connection_store``
(stored connections over ``lib.store.connections``) and ``service`` (what the
Connect page calls). The names below stay importable from here for callers
that predate the split. ``explain`` (error wording) still lives here.
"""

from __future__ import annotations

from lib.connections.checks import check, detect, detect_kind, make_client
from lib.connections.connection_store import ConnectionStore, test_connection
from lib.connections.models import (
    CHECK_TIMEOUT,
    DEMO_ID,
    KIND_LABELS,
    SECRETS_ID,
    CheckResult,
    Connection,
    ConnectionCheckFailed,
    ConnectionInput,
    ConnectionNotFound,
    InvalidConnectionInput,
    TicketDefaults,
)
from lib.connections.secret_box import SecretUnreadable
from lib.connections.validation import (
    deployed_input_from_secrets,
    normalise_host,
    parse_credentials,
    sandbox_credentials,
    validate_input,
    validate_public_url,
)
from lib.jira import (
    BadCredentials,
    CaptchaRequired,
    Forbidden,
    JiraConnectionError,
    JiraDnsError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    ServerError,
)

__all__ = [
    "CHECK_TIMEOUT",
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
    "detect",
    "detect_kind",
    "explain",
    "make_client",
    "normalise_host",
    "parse_credentials",
    "sandbox_credentials",
    "test_connection",
    "validate_input",
    "validate_public_url",
]


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
