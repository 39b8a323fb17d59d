"""Copy-as-cURL for a log row: the request the engine sends, with the secret left out.

Decisions, and why:

- The secret never enters the command: the Authorization header is replaced
  by shell variables the person sets themselves (``-u
  "$JIRA_EMAIL:$JIRA_API_TOKEN"`` for Cloud, ``-u
  "$JIRA_USERNAME:$JIRA_PASSWORD"`` for Data Center basic auth, ``-H
  "Authorization: Bearer $JIRA_TOKEN"`` for a personal access token), in
  double quotes so the shell expands them. The account's name is not a
  secret, but it is left to a variable too, so the command can be shared.
- Everything else is single-quoted with ``shlex.quote`` (a summary with an
  apostrophe, ``$`` or a backtick cannot break out or expand), one option per
  line, the body pretty-printed: the command is read before it is run.
- The headers are the client's: ``Accept: application/json``, and
  ``Content-Type: application/json`` when there is a body (as ``requests``
  sends with ``json=``).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from lib.outbox.wire import WireRequest


@dataclass(frozen=True)
class CurlCommand:
    command: str
    variables: tuple[str, ...]  # the shell variables it expects, e.g. ("JIRA_EMAIL", ...)


def auth_option(auth_type: str | None, flavour: str | None) -> tuple[str, tuple[str, ...]]:
    """The placeholder for the connection's credentials and the variables it names."""
    if auth_type == "bearer":
        return '-H "Authorization: Bearer $JIRA_TOKEN"', ("JIRA_TOKEN",)
    if flavour == "cloud":
        return '-u "$JIRA_EMAIL:$JIRA_API_TOKEN"', ("JIRA_EMAIL", "JIRA_API_TOKEN")
    return '-u "$JIRA_USERNAME:$JIRA_PASSWORD"', ("JIRA_USERNAME", "JIRA_PASSWORD")


def curl_command(
    request: WireRequest, *, auth_type: str | None, flavour: str | None
) -> CurlCommand:
    """``request`` as a shell command; the credentials are variables, never values."""
    auth, variables = auth_option(auth_type, flavour)
    parts = [
        f"curl --request {shlex.quote(request.method)}",
        f"--url {shlex.quote(request.url)}",
        auth,
        "--header 'Accept: application/json'",
    ]
    if request.body is not None:
        parts.append("--header 'Content-Type: application/json'")
        body = json.dumps(request.body, indent=2, ensure_ascii=False)
        parts.append(f"--data-raw {shlex.quote(body)}")
    return CurlCommand(" \\\n  ".join(parts), variables)
