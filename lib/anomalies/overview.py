"""What the Anomalies page shows: the list with each anomaly's Jira side, and one anomaly's tickets.

Decisions, and why:
- The list's ticket keys and queued/failed counts come from one query for the
  page's rows (``AnomalyTicketRepository.ticket_overview``), never one per row: a
  page of 50 would otherwise cost 50 round trips on every rerun.
- A link whose issue we updated (Tickets page) after its last read is refreshed
  from Jira when its anomaly is opened, so the panel shows the issue as it is
  now; it costs one GET per updated issue, once.
- A failed create, link or refresh that a later success replaced is
  "superseded": shown apart from live failures, and the user may dismiss it.
- Ids from a link are parsed here, at the boundary: ASCII digits only ("²"
  passes ``str.isdigit`` but ``int`` refuses it; ``int`` takes Arabic-Indic
  digits, which no link of ours carries) and no larger than the store's BIGINT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lib.jira import JiraError
from lib.store.anomalies import AnomalyRepository
from lib.store.anomaly_tickets import AnomalyTicketRepository, TicketOverview
from lib.store.links import TicketLink
from lib.store.models import AnomalyFilter, AnomalyPage
from lib.store.sync_log import UNFINISHED, LogRow, SyncLog
from lib.tickets.service import TicketRefused, TicketService

MAX_ID = 2**63 - 1  # DuckDB BIGINT
_ASCII_ID = re.compile(r"[0-9]+")


class BadAnomalyId(ValueError):
    """Text that is not an anomaly id; the message says why, in a user's words."""


def parse_anomaly_id(raw: str) -> int:
    """The anomaly id in ``raw`` (surrounding spaces allowed).

    Raises:
        BadAnomalyId: not ASCII digits, negative, or beyond the largest id.
    """
    text = (raw or "").strip()
    shown = text if len(text) <= 40 else text[:40] + "…"
    if not _ASCII_ID.fullmatch(text):
        raise BadAnomalyId(
            f"'{shown}' is not an anomaly id: ids are whole numbers written with the digits 0-9."
        )
    if len(text) > 19 or int(text) > MAX_ID:
        raise BadAnomalyId(f"'{shown}' is not an anomaly id: it is larger than any id can be.")
    return int(text)


@dataclass(frozen=True)
class ListPage:
    """One page of the list plus each row's Jira side (by anomaly id)."""

    page: AnomalyPage
    tickets: dict[int, TicketOverview]


@dataclass(frozen=True)
class TicketPanel:
    """One anomaly's tickets, as current as the panel can make them."""

    links: list[TicketLink]
    waiting: int
    failures: list[LogRow]  # live: shown with Retry
    superseded: list[tuple[LogRow, str]]  # (row, the key of what replaced it)
    refresh_problem: str | None = None


class AnomalyOverview:
    def __init__(
        self,
        anomalies: AnomalyRepository,
        jira_side: AnomalyTicketRepository,
        log: SyncLog,
        tickets: TicketService,
    ):
        self._anomalies = anomalies
        self._jira_side = jira_side
        self._log = log
        self._tickets = tickets

    @classmethod
    def of(cls, services: Any) -> AnomalyOverview:
        """Built from the shared services (typed loosely: lib.services imports this package)."""
        return cls(
            services.anomalies,
            AnomalyTicketRepository(services.db),
            services.sync.log,
            services.tickets,
        )

    def list_page(
        self, flt: AnomalyFilter, *, sort: str, descending: bool, limit: int, offset: int
    ) -> ListPage:
        page = self._anomalies.page(
            flt, sort=sort, descending=descending, limit=limit, offset=offset
        )
        return ListPage(page, self._jira_side.ticket_overview([r["id"] for r in page.rows]))

    def ticket_panel(self, anomaly_id: int) -> TicketPanel:
        problem = self._refresh_stale(anomaly_id)
        rows = self._log.for_anomaly(anomaly_id)
        replaced = self._jira_side.superseded_failures(anomaly_id)
        failed = [r for r in rows if r.status == "failed"]
        return TicketPanel(
            links=self._tickets.links_for(anomaly_id),
            waiting=sum(1 for r in rows if r.status in UNFINISHED),
            failures=[r for r in failed if r.id not in replaced],
            superseded=[(r, replaced[r.id]) for r in failed if r.id in replaced],
            refresh_problem=problem,
        )

    def _refresh_stale(self, anomaly_id: int) -> str | None:
        """Re-read issues changed since their link last read them; a failure is reported."""
        for link_id in self._jira_side.stale_links(anomaly_id):
            try:
                self._tickets.refresh(link_id, mode="automatic")
            except TicketRefused:
                continue  # no connection, or the link's is not the active one: nothing to read
            except JiraError as exc:
                return f"Could not re-read a changed ticket from Jira: {exc}"
        return None
