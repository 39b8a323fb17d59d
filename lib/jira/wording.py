"""Jira failures in words people can act on: the one place that words them.

Two forms, both from an error's stable ``code`` (see ``lib.jira.errors``):
``hint`` is the short advice every ``JiraError`` message ends with (logs,
the Log page); ``explain`` is the full sentence a page shows for a failed
call of a connection, naming its host and its kind of credentials.

Decisions, and why:
- Keyed by ``code``, not by class, so ``lib.jira.errors`` can import this
  module (for the hints) without a cycle.
- A timeout is worded with the timeout that applied: the client puts it on
  the error (``error.timeout``: 10 s for a connection check, 30 s for the
  worker), or the caller passes ``timeout``. With neither, no number is
  named rather than a wrong one.
- ``connection`` is read by attribute (``host``, ``flavour``, ``auth_type``,
  ``kind``) so this module needs nothing from ``lib.connections``; any other
  error (an unreadable stored secret) is shown as its own message.
- Failure kinds (``lib.jira.errors.ErrorKind``) are worded here too, by their
  string value (this module cannot import ``errors``): ``kind_label`` for the
  Log's column and filter, ``paused_because`` for the banner shown on every
  page while the integration is failing. A 401 after the connection had worked
  says the token may have expired or been revoked: Atlassian's API tokens now
  expire, so that is the likely cause, not a typo.
"""

from __future__ import annotations

from typing import Any

HINTS = {
    "bad_request": "Jira rejected the values: fix the fields named above and send again.",
    "captcha_required": (
        "Jira locked the account behind a CAPTCHA after failed logins: log in once "
        "in a browser, then fix the stored password or use a personal access token."
    ),
    "forbidden": (
        "The account signed in but may not do this: ask a Jira admin for the "
        "project permission (Browse / Create / Edit issues). If basic auth is "
        "blocked on your site, use an API token or personal access token."
    ),
    "not_found": (
        "Not found, or no permission to see it (Jira answers 404 for both): check "
        "the key or project and that the account can browse it."
    ),
    "conflict": "Someone else changed it at the same time: reload it and apply the change again.",
    "gone": (
        "Jira removed this API (for example the old Cloud /search): update "
        "Anomaly Desk or check the flavour and REST prefix settings."
    ),
    "too_large": (
        "Jira refused the size (for example the issue's comment limit): shorten "
        "the text or add to a new issue."
    ),
    "rate_limited": "Jira's rate limit was hit: wait and try again later; send fewer requests.",
    "server_error": (
        "Jira (or a proxy before it) failed: try again later; if it persists, tell the Jira admin."
    ),
    "connection_error": (
        "Could not reach Jira: check the base URL, the network and the proxy "
        "setting. If this was a create or comment it may have been applied."
    ),
    "dns_failure": (
        "The Jira host name does not resolve (DNS failure): check the spelling of the base URL."
    ),
    "tls_error": (
        "The TLS/SSL certificate check failed: if Jira uses an internal certificate "
        "authority, set its CA bundle path (verification is never switched off)."
    ),
    "unexpected_answer": (
        "Check the base URL and REST prefix: something other than Jira's API answered."
    ),
}
DEFAULT_HINT = "Check the Jira connection settings and try again."


def within(timeout: float | None) -> str:
    """``within 30 seconds`` for a known timeout, else ``in time``."""
    if timeout is None:
        return "in time"
    shown = f"{timeout:.0f}" if float(timeout).is_integer() else f"{timeout:g}"
    return f"within {shown} second{'' if shown == '1' else 's'}"


def hint(code: str, *, flavour: Any = None, timeout: float | None = None) -> str:
    """The advice a ``JiraError`` message ends with, for its ``code``."""
    if code == "bad_credentials":
        if getattr(flavour, "value", flavour) in ("data_center", "dc"):
            return (
                "Check the username and password, or the personal access token "
                "(tokens can expire or be revoked)."
            )
        return (
            "Check the email:api_token pair; API tokens expire within a year: "
            "create a new one at id.atlassian.com if needed."
        )
    if code == "timeout":
        return (
            f"Jira did not answer {within(timeout)}: try again later or raise the timeout. If "
            "this was a create or comment it may have been applied: look before resending."
        )
    return HINTS.get(code, DEFAULT_HINT)


def explain(error: Exception, connection: Any, *, timeout: float | None = None) -> str:
    """A failed call of ``connection`` in words: what happened and what to do next.

    ``timeout`` overrides the one the error carries (``error.timeout``).
    """
    code = getattr(error, "code", None)
    if not isinstance(code, str) or not hasattr(error, "status"):
        return str(error)  # not a Jira error (e.g. a stored secret that cannot be read)
    host = getattr(connection, "host", None) or "Jira"
    if code == "captcha_required":
        return (
            f"Jira locked the account behind a CAPTCHA after failed logins: log in once in a "
            f"browser at {host} to clear the CAPTCHA, then test again."
        )
    if code == "bad_credentials":
        return _bad_credentials(connection)
    if code == "forbidden":
        return (
            "Jira knows the account but refused access (HTTP 403): the account lacks permission "
            "to use Jira, or basic authentication is blocked on this site (use an API token or a "
            "personal access token)."
        )
    if code == "timeout":
        wait = timeout if timeout is not None else getattr(error, "timeout", None)
        return (
            f"Jira at {host} did not answer {within(wait)} (timeout): check the address, the "
            "network and the proxy setting, then try again."
        )
    return _unreachable(code, host) or _odd_answer(error, code, connection)


def _bad_credentials(connection: Any) -> str:
    if getattr(connection, "flavour", None) == "cloud":
        return (
            "Jira refused the credentials (HTTP 401): check the email and API token, pasted as "
            "email:api_token. API tokens expire within a year and can be revoked: create a new "
            "one at id.atlassian.com > Security > API tokens."
        )
    if getattr(connection, "auth_type", None) == "bearer":
        return (
            "Jira refused the personal access token (HTTP 401): it may be mistyped, expired or "
            "revoked. Create a new one in Jira under Profile > Personal Access Tokens."
        )
    return "Jira refused the username or password (HTTP 401): check both and test again."


def _unreachable(code: str, host: str) -> str | None:
    if code == "dns_failure":
        return f"The host name in {host} was not found (DNS): check the spelling of the address."
    if code == "tls_error":
        return (
            f"The TLS certificate of {host} is not trusted: if Jira uses an internal "
            "certificate authority, set its CA bundle path under Advanced (verification is "
            "never switched off)."
        )
    if code == "connection_error":
        return (
            f"Could not connect to {host}: the connection was refused or dropped. "
            "Check the address and port, that Jira is running, and the proxy setting."
        )
    return None


def _odd_answer(error: Exception, code: str, connection: Any) -> str:
    if code == "not_found":
        flavour, kind = getattr(connection, "flavour", None), getattr(connection, "kind", None)
        extra = (
            " If this is a Data Center server, choose Jira Data Center."
            if flavour == "cloud" and kind != "cloud"
            else ""
        )
        return (
            f"No Jira REST API was found at {getattr(connection, 'host', 'this address')} "
            f"(HTTP 404): check the address, the context path and the API prefix.{extra}"
        )
    if code == "rate_limited":
        return "Jira is limiting the request rate (HTTP 429): wait a minute and test again."
    if code == "server_error":
        status = getattr(error, "status", None)
        return f"Jira failed with a server error (HTTP {status}): try again later."
    return str(error)


KIND_LABELS = {
    "authentication": "Authentication",
    "permission": "Permission",
    "validation": "Validation",
    "not_found": "Not found",
    "rate_limited": "Rate limited",
    "network": "Network",
    "server": "Jira server error",
    "other": "Other",
}


def kind_label(kind: str | None) -> str:
    """A failure kind in one or two words ("" for no kind)."""
    if not kind:
        return ""
    return KIND_LABELS.get(str(kind), str(kind).replace("_", " ").capitalize())


_PAUSED = {
    "permission": (
        "Jira refused permission (HTTP 403) on every call: ask a Jira admin for the "
        "project permissions, then Resume."
    ),
    "rate_limited": (
        "Jira kept answering that its rate limit was reached (HTTP 429): automation "
        "would only spend the limit further. Resume once the load has dropped."
    ),
    "network": (
        "Jira could not be reached (timeouts, refused or dropped connections): check the "
        "address, the network and the proxy, then Resume."
    ),
    "server": (
        "Jira (or a proxy before it) failed with server errors (HTTP 5xx) on every call: "
        "Resume once Jira answers again; if it persists, tell the Jira admin."
    ),
}


def paused_because(
    kind: str | None,
    *,
    worked_before: bool,
    flavour: str | None = None,
    auth_type: str | None = None,
) -> str:
    """Why automation is paused, in words a person can act on (the failing banner)."""
    if str(kind) == "authentication":
        return _credentials_refused(worked_before, flavour, auth_type)
    return _PAUSED.get(
        str(kind),
        "Calls to Jira kept failing: look at the failed rows on the Log page, then Resume.",
    )


def _credentials_refused(worked_before: bool, flavour: str | None, auth_type: str | None) -> str:
    if auth_type == "bearer":
        secret, where = "personal access token", "Jira under Profile > Personal Access Tokens"
    elif flavour == "cloud":
        secret, where = "API token", "id.atlassian.com > Security > API tokens"
    else:
        secret, where = "password", "Jira"
    if worked_before:
        return (
            f"Jira stopped accepting the connection's credentials (HTTP 401) after they had "
            f"worked: the {secret} may have expired or been revoked (Atlassian API tokens now "
            f"expire). Create a new one in {where}, enter it on Connect to Jira, then Resume."
        )
    return (
        f"Jira refused the connection's credentials (HTTP 401): check the user and the "
        f"{secret} on Connect to Jira, then Resume."
    )
