"""Input checks for Jira connections (pure: no I/O except the CA bundle's existence).

Everything the Connect form (or secrets.toml) gives is checked here before any
call, so bad input gets a message under its field and changes nothing. Limits
come from what the next layer would choke on: host names from DNS (253
characters, labels of 63), credentials from HTTP headers (``requests`` encodes
Basic credentials and header values as Latin-1; control characters would
split a header).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from lib.connections.models import (
    KIND_LABELS,
    Connection,
    ConnectionInput,
    InvalidConnectionInput,
    TicketMoves,
)
from lib.connections.secret_box import Secret
from lib.jira.demo_credentials import (
    DEMO_CLOUD_API_TOKEN,
    DEMO_CLOUD_EMAIL,
    DEMO_DC_PASSWORD,
    DEMO_DC_PAT,
    DEMO_DC_USERNAME,
)
from lib.store.connections import TicketMovesRecord, TransitionBy

MAX_URL = 2048  # browsers and proxies refuse longer addresses
MAX_HOST = 253  # DNS: a whole name
MAX_LABEL = 63  # DNS: one dot-separated part
MAX_CREDENTIALS = 4096  # Jira tokens are ~200 characters; servers cap headers at 8 KB
MAX_FIELD = 1024  # API prefix, CA bundle path

_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_PATH_SEGMENT = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._~-]+$")  # not . or ..: no climbing
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


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unprintable(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _check_text(raw: str, field_name: str, what: str) -> str:
    text = (raw or "").strip()  # a pasted newline or space at either end is harmless
    if not text:
        raise InvalidConnectionInput(
            field_name, f"Enter the {what}, e.g. https://your-site.atlassian.net."
        )
    if len(text) > MAX_URL:
        raise InvalidConnectionInput(
            field_name,
            f"The {what} is {len(text):,} characters long: an address has at most "
            f"{MAX_URL:,}. Paste only the site's address.",
        )
    if any(c.isspace() for c in text):
        raise InvalidConnectionInput(field_name, f"The {what} contains spaces: remove them.")
    if _unprintable(text) or not text.isprintable():
        raise InvalidConnectionInput(
            field_name, f"The {what} contains control characters: type it again."
        )
    return text


def _check_host_name(host: str, field_name: str, what: str) -> None:
    if not host or not (_HOST_NAME.match(host) or _is_ip(host)):
        raise InvalidConnectionInput(
            field_name, f"The {what} has no valid host name (e.g. https://jira.example.com)."
        )
    if len(host) > MAX_HOST or any(len(label) > MAX_LABEL for label in host.split(".")):
        raise InvalidConnectionInput(
            field_name,
            f"The host name in the {what} is too long: at most {MAX_HOST} characters, "
            f"and at most {MAX_LABEL} between two dots.",
        )


def _split_url(raw: str, field_name: str, what: str) -> SplitResult:
    text = _check_text(raw, field_name, what)
    if "://" not in text:
        raise InvalidConnectionInput(
            field_name, f"The {what} must start with https:// (e.g. https://{text[:80]})."
        )
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced [ in an IPv6 address
        raise InvalidConnectionInput(
            field_name, f"The {what} is not a valid address (e.g. https://jira.example.com)."
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidConnectionInput(
            field_name, f"The {what} must start with https:// (not {parts.scheme[:20] or '?'}://)."
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
    _check_host_name((parts.hostname or "").lower(), field_name, what)
    return parts


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
    scheme = "http" if parts.scheme.lower() == "http" else "https"
    if segments and kind == "cloud":
        raise InvalidConnectionInput(
            "host",
            f"A Jira Cloud address has no path: use {scheme}://{parts.netloc.lower()} "
            f"(remove {path}).",
        )
    if (
        any(s.lower() in _UI_SEGMENTS or not _PATH_SEGMENT.match(s) for s in segments)
        or len(segments) > 2
    ):
        raise InvalidConnectionInput(
            "host",
            f"Remove the path {path[:200]}: give Jira's base address (with a context path "
            "such as /jira only if your Jira lives under one), not a page or API address.",
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


def _check_credential_text(text: str) -> None:
    """What HTTP headers can carry: Latin-1, no control characters, a sane length."""
    if len(text) > MAX_CREDENTIALS:
        raise InvalidConnectionInput(
            "credentials",
            f"The credentials are {len(text):,} characters long (at most {MAX_CREDENTIALS:,}): "
            "paste the token or password alone.",
        )
    if _unprintable(text):
        raise InvalidConnectionInput(
            "credentials", "The credentials contain control characters: copy them again."
        )
    odd = sum(1 for c in text if ord(c) > 255)
    if odd:
        # The characters themselves are not shown: they are part of a secret.
        raise InvalidConnectionInput(
            "credentials",
            f"The credentials contain {odd} character(s) that cannot be sent to Jira "
            "(outside Latin-1, such as €, curly quotes or emoji): HTTP carries only Latin-1 "
            "in tokens and passwords. Check the token, or set a password without them.",
        )


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
    _check_credential_text(text)
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


def _api_prefix(raw: str) -> str | None:
    prefix = raw.strip().strip("/")
    if len(prefix) > MAX_FIELD or (
        prefix and not all(_PATH_SEGMENT.match(s) for s in prefix.split("/"))
    ):
        raise InvalidConnectionInput(
            "api_prefix", "The API prefix is a path like rest/api/2, without spaces."
        )
    return prefix or None


def _ca_bundle(raw: str) -> str | None:
    ca = raw.strip()
    if not ca:
        return None
    try:
        path = Path(ca).expanduser()
        found = len(ca) <= MAX_FIELD and path.is_file()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a too long name, ~nosuchuser
        found = False
    if not found:
        raise InvalidConnectionInput(
            "ca_bundle", f"No CA bundle file at {ca[:200]}: give the path of a PEM file."
        )
    return str(path)


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
    return Connection(
        None,
        "user",
        data.kind,
        flavour,
        host,
        auth_type,
        user,
        secret,
        api_prefix=_api_prefix(data.api_prefix),
        trust_env=bool(data.trust_env),
        ca_bundle=_ca_bundle(data.ca_bundle),
    )


_TRANSITION_ID = re.compile(r"^[0-9]{1,18}$")


def _transition_id(raw: str, field_name: str) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not _TRANSITION_ID.match(text):
        raise InvalidConnectionInput(
            field_name,
            f"'{text[:40]}' is not a transition id: Jira's ids are numbers (e.g. 31), "
            "shown in the workflow editor's Transitions list.",
        )
    return text


def validate_ticket_moves(moves: TicketMoves) -> TicketMovesRecord:
    """The move settings as stored. Raises: InvalidConnectionInput (``field`` names the input)."""
    try:
        by = TransitionBy(moves.by)
    except ValueError:
        raise InvalidConnectionInput(
            "transition_by", "Choose by status category or by transition id."
        ) from None
    done = _transition_id(moves.done_transition_id, "done_transition_id")
    reopen = _transition_id(moves.reopen_transition_id, "reopen_transition_id")
    if by is TransitionBy.ID and done is None:
        raise InvalidConnectionInput(
            "done_transition_id", "Give the id of the transition into Done, or move by category."
        )
    if by is TransitionBy.CATEGORY:
        done = reopen = None  # by category, stored ids would only mislead
    return TicketMovesRecord(bool(moves.enabled), by, done, reopen)


def sandbox_credentials(flavour: str, dc_auth: str = "pat") -> str:
    """The sandbox's public demo credentials, as typed into the credentials field."""
    if flavour == "cloud":
        return f"{DEMO_CLOUD_EMAIL}:{DEMO_CLOUD_API_TOKEN}"
    return f"{DEMO_DC_USERNAME}:{DEMO_DC_PASSWORD}" if dc_auth == "basic" else DEMO_DC_PAT


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
