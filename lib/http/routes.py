"""The dashboard's own HTTP routes (served beside Streamlit by st.App in app.py).

They let command-line tools, scripts and automation work while the dashboard
holds the database: one process owns the DuckDB file, everyone else asks it.
Everything is one FastAPI app mounted at ``/api`` (``lib/http/api``): the REST
API and the ``/api/v1`` routes the command line uses (health, import, advanced).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute, Mount

from lib.http.api.app import build_api
from lib.services import Services

API_MOUNT = "/api"


def build_routes(
    get_services: Callable[[], Services], get_token: Callable[[], str]
) -> list[BaseRoute]:
    """Routes bound to the running app's services and token."""
    return [Mount(API_MOUNT, app=build_api(get_services, get_token))]
