"""The ``/api/v1`` routes the command line uses: health, import and advanced (automation).

Moved here from ``lib/http/routes.py`` unchanged in path and behaviour: the
CLI reads these exact answers (``{"error", "problems"}`` on a refused import,
``AutomationResult.as_json()`` for a command), so they keep their own shapes
rather than the newer API's error body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from lib.anomalies.changes import Mode
from lib.anomalies.importing import ImportRefused
from lib.connections.api_token import token_matches
from lib.http.api.models import LegacyHealth
from lib.services import Services
from lib.tickets.automation_command import AutomationRefused

API_ACTOR = "api"
SYNC_THREAD = "anomaly-desk-sync"  # the name lib/outbox/worker.py gives its thread
COMMAND_LIMIT = 64_000  # bytes: a command is one line; anything larger is not one

_LEGACY_ERROR = {
    "content": {"application/json": {"schema": {"type": "object"}}},
    "description": "Refused: {error, ...}",
}
_RESPONSES = {400: _LEGACY_ERROR, 401: _LEGACY_ERROR, 413: _LEGACY_ERROR, 503: _LEGACY_ERROR}


def legacy_router(get_services: Callable[[], Services], get_token: Callable[[], str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["v1 (command line)"])

    @router.get("/health", response_model=LegacyHealth)
    def health() -> dict:
        return {
            "status": "ok",
            "anomalies": get_services().anomalies.count(),
            # More than one would mean a second set of services on the file.
            "sync_workers": _sync_workers(),
        }

    @router.post("/import", responses=_RESPONSES, response_model=dict)
    async def import_anomalies(request: Request, filename: str = "") -> JSONResponse:
        """Import a CSV, JSON or Parquet file sent as the raw body (``?filename=`` names it)."""
        if not token_matches(get_token(), request.headers.get("authorization")):
            return JSONResponse({"error": "Missing or wrong API token."}, status_code=401)
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

    @router.post("/advanced", responses=_RESPONSES, response_model=dict)
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

    return router


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
