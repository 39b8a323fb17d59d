"""The dashboard's own HTTP routes (served beside Streamlit by st.App in app.py).

They let command-line tools and automation work while the dashboard holds the
database: one process owns the DuckDB file, everyone else asks it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lib.anomalies.changes import Mode
from lib.anomalies.importing import ImportRefused
from lib.connections.api_token import token_matches
from lib.services import Services
from lib.tickets.automation_command import AutomationRefused

API_PREFIX = "/api/v1"
API_ACTOR = "api"
SYNC_THREAD = "anomaly-desk-sync"  # the name lib/outbox/worker.py gives its thread
COMMAND_LIMIT = 64_000  # bytes: a command is one line; anything larger is not one


def build_routes(get_services: Callable[[], Services], get_token: Callable[[], str]) -> list[Route]:
    """Routes bound to the running app's services and token."""

    def health(_request: Request) -> JSONResponse:
        services = get_services()
        return JSONResponse(
            {
                "status": "ok",
                "anomalies": services.anomalies.count(),
                # More than one would mean a second set of services on the file.
                "sync_workers": _sync_workers(),
            }
        )

    async def import_anomalies(request: Request) -> JSONResponse:
        if not token_matches(get_token(), request.headers.get("authorization")):
            return JSONResponse({"error": "Missing or wrong API token."}, status_code=401)
        filename = request.query_params.get("filename", "")
        data = await request.body()
        changes = get_services().changes
        try:
            # A person's import (the command line sends it here): manual, never
            # held back by the automatic update limit.
            result = await run_in_threadpool(
                lambda: changes.import_file(filename, data, mode=Mode.MANUAL)
            )
        except ImportRefused as exc:
            return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=400)
        return JSONResponse(
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "status_changes": result.status_changes,
                "queued": result.queued,
            }
        )

    async def advanced(request: Request) -> JSONResponse:
        """One automation command: ``{"command": "GUID|CREATE|..."}`` (or the bare text)."""
        if not token_matches(get_token(), request.headers.get("authorization")):
            return JSONResponse({"error": "Missing or wrong API token."}, status_code=401)
        text = _command_text(await request.body(), request.headers.get("content-type", ""))
        if text is None:
            return JSONResponse(
                {
                    "error": 'Send {"command": "GUID|ACTION|field;value|..."} as '
                    "JSON, or the command as plain text."
                },
                status_code=400,
            )
        automation = get_services().automation
        try:
            # In a thread: the Jira call may take seconds, and the demo sandbox
            # is served by this same event loop (blocking it would deadlock).
            result = await run_in_threadpool(automation.run, text, API_ACTOR)
        except AutomationRefused as exc:
            return JSONResponse(
                {"error": str(exc), "field_errors": getattr(exc, "field_errors", {})},
                status_code=400,
            )
        return JSONResponse(result.as_json(), status_code=200 if result.ok else 503)

    return [
        Route(f"{API_PREFIX}/health", health, methods=["GET"]),
        Route(f"{API_PREFIX}/import", import_anomalies, methods=["POST"]),
        Route(f"{API_PREFIX}/advanced", advanced, methods=["POST"]),
    ]


def _sync_workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == SYNC_THREAD and t.is_alive())


def _command_text(body: bytes, content_type: str) -> str | None:
    """The command from a JSON ``{"command": ...}`` body or a plain-text one; None if neither."""
    if not body or len(body) > COMMAND_LIMIT:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type.startswith("application/json"):
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            return None
        command = payload.get("command") if isinstance(payload, dict) else None
        return command if isinstance(command, str) else None
    return text
