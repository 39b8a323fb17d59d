"""The HTTP request a sync-log row sends to Jira, as the engine sends it (for copy-as-cURL).

What you see is what is sent: the body comes from the same builders the
engine and the client use (``payload.create_body`` for a create,
``render_fields`` for an update, ``client.render`` for a comment), rendered
for the connection's flavour now, as a Retry would send it. Decisions, and why:

- Outbox rows (create, update, comment) are rebuilt from what the row
  stores, not read from ``request_json``: a comment's request is recorded
  only once it was attempted, and a create's docs are rendered per send.
- Reads (link, refresh) and any other row that recorded ``{"method",
  "path"}`` are shown as recorded: that is the call that was made.
- A row with no call (unlink) or no ticket yet (a change waiting on its
  create) has no request: ``None`` with the reason.
- Nothing here holds a credential: the client is only asked for its URL and
  its rendering; the caller puts a placeholder in place of the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lib.jira.doc_json import doc_from_json
from lib.outbox.creates import stored_request
from lib.outbox.payload import create_body, join_rich, render_fields
from lib.store.sync_log import LogRow, SyncAction


@dataclass(frozen=True)
class WireRequest:
    method: str
    url: str  # the full URL: the client's base, its API prefix and the path
    body: Any = None  # the JSON body, or None


class NoRequest(ValueError):
    """The row sends nothing to Jira (the message says why)."""


def wire_request(client: Any, row: LogRow) -> WireRequest:
    """The request ``row`` sends with ``client`` (a ``JiraClient``).

    Raises:
        NoRequest: the row makes no call, or has no ticket to send to yet.
    """
    action = row.action
    if action == SyncAction.CREATE:
        return WireRequest(
            "POST", client.url(client.ISSUES), create_body(client, stored_request(row))
        )
    if action in (SyncAction.UPDATE, SyncAction.COMMENT):
        if not row.ticket_key:
            raise NoRequest(
                f"Log entry {row.id} waits for its ticket's create (row {row.waits_on}): "
                "the issue key is not known yet."
            )
        path = f"/issue/{quote(row.ticket_key, safe='')}"
        if action == SyncAction.COMMENT:
            if not row.body_doc:
                raise NoRequest(f"Log entry {row.id} holds no comment text to send.")
            body = {"body": client.render(doc_from_json(row.body_doc))}
            return WireRequest("POST", client.url(f"{path}/comment"), body)
        fields = join_rich(
            dict(row.request.get("fields") or {}), row.rich_fields, legacy_description=row.body_doc
        )
        return WireRequest("PUT", client.url(path), {"fields": render_fields(client, fields)})
    recorded = row.request
    if isinstance(recorded.get("method"), str) and isinstance(recorded.get("path"), str):
        return WireRequest(recorded["method"], client.url(recorded["path"]), recorded.get("body"))
    raise NoRequest(f"Log entry {row.id} ({action}) made no call to Jira.")
