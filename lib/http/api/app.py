"""The REST API, built for one running app: FastAPI mounted at ``/api`` by ``st.App``.

``build_api(get_services, get_token)`` takes getters, not values, so the app
is built at import time in ``app.py`` while the database opens in the lifespan.
Every endpoint that touches the store or Jira is a plain ``def``: FastAPI runs
it in a worker thread, which matters because the demo sandbox is served by the
same event loop (a blocking call there would deadlock the sandbox's answer).
No Swagger UI or ReDoc: they load assets from a CDN, unreachable offline; the
OpenAPI document is at ``/api/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from lib.http.api.anomalies import anomalies_router
from lib.http.api.auth import require_token
from lib.http.api.bulk import bulk_router
from lib.http.api.errors import BODY_LIMIT, IMPORT_LIMIT, GuardMiddleware, install_error_handlers
from lib.http.api.legacy import legacy_router
from lib.http.api.operations import operations_router
from lib.http.api.rules import rules_router
from lib.http.api.ticket_links import links_router
from lib.http.api.ticketing import ticketing_router
from lib.http.api.tokens import tokens_for
from lib.services import Services

API_VERSION = "1.0"


def build_api(
    get_services: Callable[[], Services],
    get_token: Callable[[], str],
    *,
    body_limit: int = BODY_LIMIT,
    import_limit: int = IMPORT_LIMIT,
) -> FastAPI:
    """The API app; mount it at ``/api``."""
    api = FastAPI(
        title="Anomaly Desk API",
        version=API_VERSION,
        description="Anomalies, their Jira tickets and the sync log. "
        "Authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(api)
    auth = require_token(get_token, lambda: tokens_for(get_services()))
    api.include_router(legacy_router(get_services, get_token))
    api.include_router(operations_router(get_services, auth))
    api.include_router(bulk_router(get_services, auth))  # before /anomalies/{id}: see bulk.py
    api.include_router(anomalies_router(get_services, auth))
    api.include_router(ticketing_router(get_services, auth))
    api.include_router(links_router(get_services, auth))
    api.include_router(rules_router(get_services, auth))
    api.add_middleware(GuardMiddleware, body_limit=body_limit, import_limit=import_limit)
    return api
