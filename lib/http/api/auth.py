"""Who may call the API: ``Authorization: Bearer <token>``.

Two kinds of token are taken: the one the dashboard keeps beside the database
(mode 0600, ``lib/connections/api_token.py``, the command line's), and the named
tokens made on the API page (``lib/http/api/tokens.py``), which can be revoked
one by one. The file token is compared in constant time; a named token is
found by its hash. A missing, wrong, revoked or malformed header is a 401 with
a JSON body, and the header's value is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lib.connections.api_token import token_matches
from lib.http.api.errors import ApiError
from lib.http.api.tokens import ApiTokens

# auto_error=False: our own 401 body, not FastAPI's 403.
bearer = HTTPBearer(
    auto_error=False, description="The token file's token, or a named token from the API page."
)


def require_token(
    get_token: Callable[[], str], get_named: Callable[[], ApiTokens | None] = lambda: None
) -> Callable:
    """A dependency that refuses callers without a valid Bearer token."""

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        presented = credentials.credentials if credentials is not None else ""
        if presented and token_matches(get_token(), f"Bearer {presented}"):
            return
        named = get_named() if presented else None
        if named is not None and named.verify(presented):
            return
        raise ApiError(
            401, "Missing, wrong or revoked API token: send Authorization: Bearer <token>."
        )

    return check
