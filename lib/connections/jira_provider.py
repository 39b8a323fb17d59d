"""The Jira the app talks to now: the active connection's client, built once and reused.

The client keeps a pooled session, so one is built per connection value and
rebuilt only when the connection changes (edited, re-tested, another one
activated). It makes a single attempt per call: the outbox schedules retries
itself, and a client sleeping on Retry-After would keep the worker from
stopping promptly.
"""

from __future__ import annotations

import threading

from lib.connections.checks import make_client
from lib.connections.connection_store import ConnectionStore
from lib.connections.models import Connection
from lib.connections.secret_box import SecretUnreadable
from lib.jira import RetryPolicy
from lib.outbox.policy import ActiveJira


class ActiveJiraProvider:
    def __init__(self, store: ConnectionStore):
        self._store = store
        self._lock = threading.Lock()
        self._cached: tuple[Connection, ActiveJira] | None = None

    def connection(self) -> Connection:
        return self._store.active()

    def __call__(self) -> ActiveJira | None:
        """The active Jira, or None when its secret cannot be read (entered again on Connect)."""
        connection = self._store.active()
        with self._lock:
            if self._cached is not None and self._cached[0] == connection:
                return self._cached[1]
            try:
                client = make_client(connection, retry_policy=RetryPolicy(max_attempts=1))
            except SecretUnreadable:
                self._cached = None
                return None
            active = ActiveJira(
                connection.id,
                client,
                connection.project_key,
                connection.issue_type_id or connection.issue_type_name,
                connection.priority_name,
                in_process=connection.is_demo,
            )
            self._cached = (connection, active)
            return active
