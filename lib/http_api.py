"""The dashboard's own HTTP routes (served beside Streamlit by st.App in app.py).

They let command-line tools and automation work while the dashboard holds the
database: one process owns the DuckDB file, everyone else asks it.
"""
from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lib.api_token import token_matches
from lib.importing import ImportRefused, import_file
from lib.services import Services, utc_now

API_PREFIX = "/api/v1"


def build_routes(get_services: Callable[[], Services], get_token: Callable[[], str]) -> list[Route]:
    """Routes bound to the running app's services and token."""

    def health(_request: Request) -> JSONResponse:
        services = get_services()
        return JSONResponse({"status": "ok", "anomalies": services.anomalies.count()})

    async def import_anomalies(request: Request) -> JSONResponse:
        if not token_matches(get_token(), request.headers.get("authorization")):
            return JSONResponse({"error": "Missing or wrong API token."}, status_code=401)
        filename = request.query_params.get("filename", "")
        data = await request.body()
        try:
            result = import_file(get_services().db, filename, data, utc_now())
        except ImportRefused as exc:
            return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=400)
        return JSONResponse({"inserted": result.inserted, "updated": result.updated})

    return [
        Route(f"{API_PREFIX}/health", health, methods=["GET"]),
        Route(f"{API_PREFIX}/import", import_anomalies, methods=["POST"]),
    ]
