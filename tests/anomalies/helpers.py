"""Shared by the anomaly tests: an import record, and the app's HTTP routes called in-process."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from starlette.applications import Starlette

from lib.http.routes import build_routes

TOKEN = "test-token"
CHECKS = [{"check_id": 1, "rule_type": "notNull", "message": "5 values in EMAIL are null"}]


def record(ident, **over) -> dict:
    base = {
        "id": ident,
        "datastore_id": 1,
        "datastore_name": "Warehouse",
        "container": "CUSTOMERS",
        "fields": ["EMAIL"],
        "type": "record",
        "status": "Active",
        "detected_at": "2026-11-20T08:00:00Z",
        "failed_checks": CHECKS,
    }
    base.update(over)
    return base


def post_import(services, filename: str, data: bytes) -> tuple[int, dict]:
    """POST /api/v1/import through the app's own routes (an ASGI call, no server)."""
    app = Starlette(routes=build_routes(lambda: services, lambda: TOKEN))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/import",
        "raw_path": b"/api/v1/import",
        "query_string": urlencode({"filename": filename}).encode(),
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": data, "more_body": False}]

    async def receive() -> dict:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)
