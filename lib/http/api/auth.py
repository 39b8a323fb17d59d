"""Who may call the API: ``Authorization: Bearer <token>``.

The token is the one the dashboard keeps beside the database (mode 0600,
``lib/http/api_token.py``), the same one the command line presents. The check
is constant-time; a missing, wrong or malformed header is a 401 with a JSON
body, and the header's value is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lib.http.api.errors import ApiError
from lib.http.api_token import token_matches

# auto_error=False: our own 401 body, not FastAPI's 403.
bearer = HTTPBearer(
    auto_error=False, description="The API token (Settings page, or the token file)."
)


def require_token(get_token: Callable[[], str]) -> Callable:
    """A dependency that refuses callers without the right Bearer token."""

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None or not token_matches(
            get_token(), f"Bearer {credentials.credentials}"
        ):
            raise ApiError(401, "Missing or wrong API token: send Authorization: Bearer <token>.")

    return check
