"""What the Jira page shows: the active site and its linked tickets, refreshed on demand."""

from __future__ import annotations

from dataclasses import dataclass

from lib.connections.jira_provider import ActiveJiraProvider
from lib.connections.models import Connection
from lib.jira import JiraError
from lib.jira.wording import explain
from lib.store.links import LinkRepository, TicketLink
from lib.tickets.service import TicketRefused, TicketService


@dataclass(frozen=True)
class RefreshOutcome:
    tried: int
    failures: tuple[str, ...]  # "DQ-1: what went wrong", in words

    @property
    def refreshed(self) -> int:
        return self.tried - len(self.failures)


class JiraSite:
    def __init__(
        self, provider: ActiveJiraProvider, links: LinkRepository, tickets: TicketService
    ) -> None:
        self._provider, self._links, self._tickets = provider, links, tickets

    def connection(self) -> Connection:
        return self._provider.connection()

    def recent_links(self, limit: int) -> list[TicketLink]:
        """The active connection's most recently linked tickets."""
        return self._links.recent_active(self.connection().id, limit)

    def refresh(self, links: list[TicketLink]) -> RefreshOutcome:
        """Re-read each ticket from Jira; failures are collected, not raised."""
        connection = self.connection()
        failed: list[str] = []
        for link in links:
            try:
                self._tickets.refresh(link.id)
            except (TicketRefused, JiraError) as exc:
                words = explain(exc, connection) if isinstance(exc, JiraError) else str(exc)
                failed.append(f"{link.issue_key}: {words}")
        return RefreshOutcome(len(links), tuple(failed))
