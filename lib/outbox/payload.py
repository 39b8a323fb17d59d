"""What a create or update row sends: its fields, rich text kept as docs, and the create body.

Decisions, and why:

- Rich text (a ``Doc`` in any field: description, environment, textarea
  custom fields) is stored as a doc, not rendered, because a row is rendered
  per connection flavour at send time (ADF on Cloud, wiki markup on Data
  Center). ``split_rich`` takes the docs out of the fields for storage;
  ``join_rich`` puts them back for the client.
- ``create_request`` is the one place that adds what the product puts on
  every create (the idempotency label, the issue property that proves an
  issue is ours); ``create_body`` is the exact JSON the client sends for it.
  The Tickets page previews ``create_body`` and the engine sends the same
  request, so what is shown is what is sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.jira.doc_json import doc_from_json, doc_to_json
from lib.jira.richtext import Doc, fit_summary

ISSUE_PROPERTY = "anomaly-desk"


@dataclass(frozen=True)
class CreateRequest:
    """One create as the engine sends it: fields (docs unrendered) and issue properties."""

    fields: dict
    properties: dict
    idempotency_key: str
    request_id: str


def create_request(
    fields: dict,
    *,
    idempotency_key: str,
    request_id: str,
    owner: dict,
    labels: Sequence[str] = (),
) -> CreateRequest:
    """The fields plus the idempotency label and the ``anomaly-desk`` issue property.

    ``owner`` says whom the issue is for (``{"anomaly_id": 42}`` or
    ``{"automation_guid": "job-1"}``); the property also carries the request
    id that tells this create's issue from any other with the same label.
    """
    out = dict(fields)
    given = out.get("labels") or []
    given = given if isinstance(given, list) else [given]
    out["labels"] = list(dict.fromkeys([*given, *labels, idempotency_key]))
    properties = {ISSUE_PROPERTY: {**owner, "request_id": request_id}}
    return CreateRequest(out, properties, idempotency_key, request_id)


def render_fields(client: Any, fields: dict) -> dict:
    """Fields as the client puts them on the wire: docs rendered for its flavour."""
    out = {k: client.render(v) if isinstance(v, Doc) else v for k, v in fields.items()}
    if isinstance(out.get("summary"), str):
        out["summary"] = fit_summary(out["summary"])
    return out


def create_body(client: Any, request: CreateRequest) -> dict:
    """The JSON body of ``POST /issue`` for ``request`` (what ``client.create_issue`` sends)."""
    body: dict[str, Any] = {"fields": render_fields(client, request.fields)}
    if request.properties:
        body["properties"] = [{"key": k, "value": v} for k, v in request.properties.items()]
    return body


def split_rich(fields: dict) -> tuple[dict, str | None]:
    """(fields without docs, the docs as stored JSON or None)."""
    plain = {k: v for k, v in fields.items() if not isinstance(v, Doc)}
    docs = {k: json.loads(doc_to_json(v)) for k, v in fields.items() if isinstance(v, Doc)}
    return plain, (json.dumps(docs, separators=(",", ":")) if docs else None)


def join_rich(plain: dict, rich_json: str | None, legacy_description: str | None = None) -> dict:
    """Fields with their stored docs back in place, in the original field order when known.

    ``legacy_description`` reads rows written before ``rich_fields`` existed,
    whose description doc was kept in ``body_doc``.
    """
    out = dict(plain)
    if legacy_description and not rich_json:
        out["description"] = doc_from_json(legacy_description)
    for name, value in (json.loads(rich_json) if rich_json else {}).items():
        out[name] = doc_from_json(json.dumps(value))
    return out
