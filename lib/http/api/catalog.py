"""The API's endpoints as the API page and the README show them: one ready curl each.

Pure data and formatting (no streamlit here): the page reads the token file
path and the dashboard's address from settings and shows these examples with
the token masked, so a user copies a command and pastes their token in.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

TOKEN_PLACEHOLDER = "$ANOMALY_DESK_TOKEN"
TICKETS = "/integrations/ticketing"


@dataclass(frozen=True)
class Endpoint:
    group: str
    method: str
    path: str  # under /api, with an example id filled in
    summary: str
    body: dict | None = None
    open: bool = False  # no token needed


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("Ticketing", "GET", f"{TICKETS}/form-specification?project=DQ&issue_type=Task",
             "The create form from Jira's create metadata"),
    Endpoint("Ticketing", "GET", f"{TICKETS}/tickets/search?query=orders&page=1&size=50",
             "Search tickets by key or words of the summary"),
    Endpoint("Ticketing", "GET", f"{TICKETS}/tickets/DQ-12", "One ticket, by id or key"),
    Endpoint("Ticketing", "POST", f"{TICKETS}/anomalies/1/tickets",
             "Create a ticket for an anomaly and link it (send Idempotency-Key to retry safely)",
             {"title": "Nulls in orders.amount", "description": "Please look.", "priority": "Medium"}),
    Endpoint("Ticketing", "GET", "/anomalies/1/ticket-links", "An anomaly's linked tickets"),
    Endpoint("Ticketing", "POST", "/anomalies/1/ticket-links", "Link an existing ticket",
             {"ticket_id": "DQ-12"}),
    Endpoint("Ticketing", "DELETE", "/anomalies/1/ticket-links/3", "Unlink (Jira is not touched)"),
    Endpoint("Anomalies", "GET", "/anomalies?status=Active&sort=detected&order=desc&page=1&size=50",
             "Anomalies with the page's filters, sort and paging"),
    Endpoint("Anomalies", "GET", "/anomalies/1", "One anomaly with its checks and history"),
    Endpoint("Anomalies", "PATCH", "/anomalies/1", "Acknowledge, archive (with a reason) or reopen",
             {"status": "Archived", "archive_reason": "Resolved"}),
    Endpoint("Anomalies", "GET", "/anomalies/1/comments", "An anomaly's comments"),
    Endpoint("Anomalies", "POST", "/anomalies/1/comments",
             "Comment (sent to every linked ticket)", {"text": "Fixed upstream."}),
    Endpoint("Bulk", "POST", "/anomalies/bulk",
             "One action on many anomalies (ids or a filter): 202 with a job",
             {"anomaly_ids": [1, 2, 3], "action": "ticket_each"}),
    Endpoint("Bulk", "GET", "/jobs/1", "A bulk job's progress and a result per anomaly"),
    Endpoint("Bulk", "POST", "/jobs/1/cancel", "Cancel what the job has not sent yet"),
    Endpoint("Bulk", "POST", "/jobs/1/retry", "Send the job's failed items again"),
    Endpoint("Operations", "GET", "/sync-log?status=Failed&page=1&size=50",
             "The sync log with the Log page's filters"),
    Endpoint("Operations", "GET", "/statistics?tz=UTC", "The Statistics page's counters"),
    Endpoint("Operations", "POST", "/sync-log/cleanup",
             "Run the log's retention cleanup with the saved settings"),
    Endpoint("Operations", "GET", "/health", "Status, anomalies, outbox depth (no token)",
             open=True),
    Endpoint("Rules", "GET", "/rules", "Auto-ticket rules in order, and why they are paused"),
    Endpoint("Rules", "POST", "/rules", "A new rule (paused until you enable it)",
             {"name": "orders", "conditions": {"containers": ["ORDERS"]}, "group_by": "table",
              "window_minutes": 60, "ticket": {"priority": "High", "labels": ["dq"]}}),
    Endpoint("Rules", "GET", "/rules/1", "One rule"),
    Endpoint("Rules", "PUT", "/rules/1", "Replace a rule (\"paused\": false enables it)",
             {"name": "orders", "paused": False, "group_by": "table"}),
    Endpoint("Rules", "DELETE", "/rules/1", "Delete a rule (its tickets stay)"),
    Endpoint("Rules", "POST", "/rules/1/dry-run",
             "What the rule would do now: which tickets, which comments (sends nothing)"),
)  # fmt: skip


def curl(endpoint: Endpoint, api_url: str) -> str:
    """A ready command; the token stays a shell variable, never the value itself."""
    parts = ["curl", "-sS"]
    if endpoint.method != "GET":
        parts += ["-X", endpoint.method]
    command = " ".join(shlex.quote(p) for p in parts)
    if not endpoint.open:
        command += f' -H "Authorization: Bearer {TOKEN_PLACEHOLDER}"'
    if endpoint.body is not None:
        command += " -H 'Content-Type: application/json' -d " + shlex.quote(
            json.dumps(endpoint.body)
        )
    return f"{command} {shlex.quote(api_url.rstrip('/') + endpoint.path)}"


def masked(token: str | None) -> str:
    """Never the token itself: its first four characters and its length."""
    if not token:
        return "(not made yet: it is created when the dashboard starts)"
    return f"{token[:4]}{'•' * 8} ({len(token)} characters)"
