"""Credentials for Jira, as ``requests`` auth objects that never show their secret."""

from __future__ import annotations

import base64

import requests


class BasicAuth(requests.auth.AuthBase):
    """Basic auth: Cloud ``email`` + API token, Data Center ``username`` + password."""

    def __init__(self, user: str, secret: str) -> None:
        self.user = user
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Basic " + self._encoded()
        return request

    def _encoded(self) -> str:
        return base64.b64encode(f"{self.user}:{self._secret}".encode()).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a message or log."""
        return (self._secret, self._encoded(), f"{self.user}:{self._secret}")

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, secret='***')"

    __str__ = __repr__


class BearerAuth(requests.auth.AuthBase):
    """Bearer personal access token (Jira Data Center >= 8.14)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self._token
        return request

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"

    __str__ = __repr__
