"""The Settings page's use cases: the automatic update limit, the refresh interval, the endpoint.

The update limit is stored in ``app_settings`` (the store validates its own
rule); saving it wakes the outbox so deferred rows are planned again against
the new limit at once. The automation token is never returned, only whether
it exists and how long it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lib.connections.api_token import read_token
from lib.outbox.policy import UpdateLimit, load_update_limit, save_update_limit
from lib.settings import Settings
from lib.store.db import Database

ADVANCED_PATH = "/api/v1/advanced"


@dataclass(frozen=True)
class AutomationEndpoint:
    url: str
    token_path: Path
    token_length: int | None  # None: not created yet (the dashboard writes it at start)


class OperatorSettings:
    def __init__(self, db: Database, settings: Settings, notify: Callable[[], object]) -> None:
        self._db, self._settings, self._notify = db, settings, notify

    def update_limit(self) -> UpdateLimit:
        return load_update_limit(self._db)

    def save_update_limit(self, max_updates: object, per_seconds: object) -> UpdateLimit:
        """Store the limit and re-plan deferred rows; the stored limit comes back.

        Raises:
            ValueError: not numbers, negative, or a zero interval; nothing is stored.
        """
        try:
            limit = UpdateLimit(int(max_updates), float(per_seconds))
        except (TypeError, ValueError):
            raise ValueError(
                "The update limit needs a whole number of updates and a number of seconds."
            ) from None
        save_update_limit(self._db, limit)
        self._notify()
        return self.update_limit()

    @staticmethod
    def describe(limit: UpdateLimit) -> str:
        if not limit.enabled:
            return "Off: automatic updates go out as soon as they are due."
        return (
            f"At most {limit.max_updates} automatic update(s) per {limit.per_seconds:g} s; "
            "later ones wait as Deferred with their planned time."
        )

    @property
    def refresh_minutes(self) -> int:
        return self._settings.refresh_minutes

    def automation_endpoint(self) -> AutomationEndpoint:
        path = self._settings.api_token_path
        token = read_token(path)
        return AutomationEndpoint(
            f"{self._settings.dashboard_url}{ADVANCED_PATH}", path, len(token) if token else None
        )
