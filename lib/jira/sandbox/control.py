"""The control API tests and benchmarks use: ``/_sandbox/{faults,settings,reset,stats,workflow}``
and ``/_sandbox/issues/{key}/move`` (another project: a new key, the same id).

It is unauthenticated on purpose (a sandbox holds only demo data); switch it
off with ``SandboxConfig(control_api=False)`` where that matters.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import PayloadError, SandboxRuntime, json_body
from .faults import Fault
from .state import find_project
from .workflow import control_routes as workflow_routes


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


def routes(runtime: SandboxRuntime) -> list[Route]:
    faults = runtime.faults

    async def fault_list(request: Request) -> Response:
        """GET lists scripted faults, POST appends (a list or one), DELETE clears."""
        if request.method == "DELETE":
            faults.clear_faults()
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse([asdict(fault) for fault in faults.faults])
        try:
            body = await json_body(request)
            items = body if isinstance(body, list) else [body]
            new = [Fault.from_json(item) for item in items]
        except (PayloadError, ValueError, TypeError) as exc:
            return _bad(str(exc))
        faults.add_faults(new)
        return JSONResponse([asdict(fault) for fault in faults.faults], status_code=201)

    async def settings(request: Request) -> Response:
        """GET shows the run-wide fault knobs, POST changes some of them."""
        if request.method == "POST":
            try:
                faults.update_settings(await json_body(request) or {})
            except (PayloadError, ValueError, TypeError) as exc:
                return _bad(str(exc))
        return JSONResponse(asdict(faults.settings))

    async def reset(request: Request) -> Response:
        """Back to the configured start: no issues, configured faults, zero stats."""
        runtime.reset()
        return Response(status_code=204)

    async def move(request: Request) -> Response:
        """Move an issue to another project: a new key, the same id (``{"project": "OPS"}``)."""
        try:
            body = await json_body(request) or {}
        except PayloadError as exc:
            return _bad(str(exc))
        project = find_project(str(body.get("project") or "")) if isinstance(body, dict) else None
        issue = runtime.state.get(request.path_params["key"])
        if issue is None:
            return JSONResponse({"error": "no such issue"}, status_code=404)
        if project is None or project.key == issue.project_key:
            return _bad('name another existing project, e.g. {"project": "OPS"}')
        old = issue.key
        moved = runtime.state.move_issue(issue, project.key)
        return JSONResponse({"id": moved.id, "key": moved.key, "from": old})

    async def stats(request: Request) -> Response:
        return JSONResponse(faults.stats_json())

    return [
        Route("/_sandbox/faults", fault_list, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/settings", settings, methods=["GET", "POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/issues/{key}/move", move, methods=["POST"]),
        *workflow_routes(runtime.state),  # refusals and hidden transitions (workflow.py)
    ]
