"""Talking to Jira about a connection: the client factory, the /myself check, detection, lists.

A person waits for every call here, so each makes one attempt with a short
timeout (``CHECK_TIMEOUT``) and a failure comes back in words (``explain``).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from lib.connections import models
from lib.connections.models import CheckResult, Connection, utc_now
from lib.connections.secret_box import SecretUnreadable
from lib.connections.validation import normalise_host
from lib.jira import BasicAuth, BearerAuth, Flavour, JiraClient, JiraError, RetryPolicy
from lib.jira import detect_flavour as _detect_flavour
from lib.jira.records import IssueType, Project
from lib.jira.wording import explain

_CHECK_RETRIES = RetryPolicy(max_attempts=1)


def _explain(error: Exception, connection: Connection) -> str:
    return explain(error, connection)


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


def _quick_client(connection: Connection, session: requests.Session | None) -> JiraClient:
    return make_client(
        connection, session=session, timeout=models.CHECK_TIMEOUT, retry_policy=_CHECK_RETRIES
    )


def check(connection: Connection, session: requests.Session | None = None) -> CheckResult:
    """Call /myself once; the outcome in words a user can act on."""
    now = utc_now()
    try:
        me = _quick_client(connection, session).myself()
    except (JiraError, SecretUnreadable) as exc:
        return CheckResult(False, _explain(exc, connection), now)
    name = me.display_name or me.name or me.email or "(no display name)"
    return CheckResult(True, f"Connected as {name}", now, name)


@dataclass(frozen=True)
class Detected:
    kind: str  # 'cloud' | 'dc' | 'sandbox'
    flavour: str  # 'cloud' | 'dc'


def detect(
    host: str,
    *,
    sandbox_url: str,
    chosen_kind: str | None = None,
    ca_bundle: str | None = None,
    session: requests.Session | None = None,
) -> Detected:
    """Which kind and flavour Create should be given for ``host``.

    The built-in sandbox speaks both flavours under a path (``/sandbox``), which a
    real Jira Cloud never has: its address is recognised as the sandbox (and a
    sandbox the user chose stays one: only its flavour is detected). For any
    other address the answer is checked by the same rules as Create, so a
    detection is never followed by a refusal of the same address.

    Raises:
        InvalidConnectionInput: the host is not acceptable (for the detected kind).
        JiraError: /serverInfo could not be read.
    """
    url = normalise_host("dc", host)  # the loosest rules: a context path is fine here
    flavour = _detect_flavour(url, session, timeout=models.CHECK_TIMEOUT, verify=ca_bundle or True)
    found = "cloud" if flavour is Flavour.CLOUD else "dc"
    if chosen_kind == "sandbox" or url == normalise_host("sandbox", sandbox_url):
        return Detected("sandbox", found)
    normalise_host(found, host)
    return Detected(found, found)


def detect_kind(
    host: str, *, ca_bundle: str | None = None, session: requests.Session | None = None
) -> str:
    """'cloud' or 'dc' for a host, from its name or its anonymous /serverInfo.

    Raises:
        InvalidConnectionInput: the host is not acceptable.
        JiraError: /serverInfo could not be read.
    """
    url = normalise_host("dc", host)
    flavour = _detect_flavour(url, session, timeout=models.CHECK_TIMEOUT, verify=ca_bundle or True)
    return "cloud" if flavour is Flavour.CLOUD else "dc"


def projects(connection: Connection, session: requests.Session | None = None) -> list[Project]:
    """Projects the connection's account can see, by key. Raises JiraError, SecretUnreadable."""
    client = make_client(connection, session=session, timeout=models.CHECK_TIMEOUT)
    return sorted(client.projects(), key=lambda p: p.key)


def issue_types(
    connection: Connection, project_key: str, session: requests.Session | None = None
) -> list[IssueType]:
    """Issue types a new ticket may have in the project (no sub-tasks)."""
    client = make_client(connection, session=session, timeout=models.CHECK_TIMEOUT)
    return [t for t in client.issue_types(project_key) if not t.subtask]


def priorities(
    connection: Connection,
    project_key: str,
    issue_type_id: str,
    session: requests.Session | None = None,
) -> list[str]:
    """Priority names allowed for the project and issue type ([]: priority cannot be set)."""
    client = make_client(connection, session=session, timeout=models.CHECK_TIMEOUT)
    return client.priorities(project_key, issue_type_id)
