"""The server: Streamlit's navigation script, our HTTP routes, and the lifespan hook.

Run with ``streamlit run app.py`` (``make run``). One process owns the DuckDB
file; command-line tools talk to it through the routes below while it runs.
"""

from __future__ import annotations

import logging
import os
import tomllib
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.routing import Mount

from lib.http.api_token import ensure_token
from lib.http.routes import build_routes
from lib.http.tcp_nodelay import set_nodelay_on_listeners
from lib.jira.sandbox.app import create_sandbox_app
from lib.jira.sandbox.config import SandboxConfig
from lib.services import close_all, services_for
from lib.settings import load_settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger("anomaly_desk")


def _file_secrets() -> dict:
    """secrets.toml read directly: st.secrets is not available before a script runs."""
    path = HERE / ".streamlit" / "secrets.toml"
    return tomllib.loads(path.read_text()) if path.is_file() else {}


SETTINGS = load_settings(os.environ, _file_secrets())


def _services():
    return services_for(SETTINGS)


def _token() -> str:
    return ensure_token(SETTINGS.api_token_path)


@asynccontextmanager
async def lifespan(_app):
    services = _services()  # migrate and seed before the first page asks
    _token()
    services.worker.start()  # the outbox: pending Jira updates resume after a restart
    set_nodelay_on_listeners()  # ~40 ms less per HTTP answer (see lib/http/tcp_nodelay.py)
    log.info(
        "anomaly_desk.started db=%s anomalies=%d", SETTINGS.db_path, services.anomalies.count()
    )
    try:
        yield
    finally:
        close_all()  # stops the worker first
        log.info("anomaly_desk.stopped")


# The Jira sandbox answers at /sandbox for demo mode: both flavours, its state
# kept beside the database so a demo survives a restart. No fault-control API here.
SANDBOX = create_sandbox_app(
    SandboxConfig(
        flavour="both",
        control_api=False,
        state_file=str(SETTINGS.db_path.with_name(SETTINGS.db_path.name + ".sandbox.json")),
    )
)

app = st.App(
    HERE / "dashboard.py",
    routes=[*build_routes(_services, _token), Mount("/sandbox", app=SANDBOX)],
    lifespan=lifespan,
)
