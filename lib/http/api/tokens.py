"""Named API tokens: made and revoked on the API page, checked on every API call.

A token is shown once, when it is made; only its SHA-256 is stored (a token
is 32 random bytes, so the hash cannot be searched back). The token file
beside the database keeps working for the command line. ``last_used_at`` is
written at most once a minute per token, so reads do not become writes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from lib.services import Services, utc_now
from lib.store.api_tokens import ApiToken, ApiTokenRepository
from lib.store.db import Database

PREFIX = "adk_"
NAME_LIMIT = 60
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokens:
    def __init__(self, db: Database, clock: Callable[[], datetime]):
        self._repo = ApiTokenRepository(db)
        self._clock = clock

    def make(self, name: str) -> tuple[ApiToken, str]:
        """A new token called ``name``: the record, and the token (shown once, never stored).

        Raises:
            ValueError: an empty or too long name, or one an active token already has.
        """
        name = (name or "").strip()
        if not name or len(name) > NAME_LIMIT:
            raise ValueError(f"Give the token a name of 1 to {NAME_LIMIT} characters.")
        if any(t.active and t.name == name for t in self._repo.all()):
            raise ValueError(f"An active token is already called {name!r}: choose another name.")
        token = PREFIX + secrets.token_urlsafe(32)
        return self._repo.add(name, token_hash(token), token[:8], self._clock()), token

    def list(self) -> list[ApiToken]:
        return self._repo.all()

    def revoke(self, token_id: int) -> None:
        """Raises: ValueError when there is no such active token."""
        if not self._repo.revoke(int(token_id), self._clock()):
            raise ValueError(f"Token {token_id} does not exist or is already revoked.")

    def verify(self, presented: str) -> bool:
        """Whether ``presented`` is an active named token (and note its use)."""
        if not presented.startswith(PREFIX):
            return False
        found = self._repo.active_by_hash(token_hash(presented))
        if found is None:
            return False
        now = self._clock()
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            self._repo.touch(found.id, now)
        return True


def tokens_for(services: Services) -> ApiTokens:
    """The named tokens of a running app's database (the page and the API take them here)."""
    return ApiTokens(services.db, utc_now)
