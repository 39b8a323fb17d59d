"""Safe pieces of JQL built from user text."""

from __future__ import annotations

import re

_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]*$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def jql_quote(text: str) -> str:
    """``text`` as one double-quoted JQL string: quotes and backslashes escaped.

    Newlines and tabs use JQL's escapes; other control characters are dropped
    because JQL has no escape for them.
    """
    out = []
    for ch in str(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            continue
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def looks_like_issue_key(text: str) -> bool:
    """True for ``ABC-123`` (project key, dash, number), case-insensitively."""
    return bool(_ISSUE_KEY.match(text.strip().upper()))
