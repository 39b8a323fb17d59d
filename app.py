"""The server: Streamlit's navigation script, our HTTP routes, and the lifespan hook.

Run with ``streamlit run app.py`` (``make run``). One process owns the DuckDB
file; command-line tools talk to it through the routes below while it runs.
Settings are read here once (``lib.settings.read_settings``); pages use these.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.routing import Mount
from streamlit.runtime.pages_manager import PagesManager

from lib.connections.api_token import ensure_token
from lib.http.dashboard_address import publish_dashboard, withdraw_dashboard
from lib.http.routes import build_routes
from lib.http.server_exit import exit_cleanly_after_signal
from lib.http.tcp_nodelay import set_nodelay_on_listeners
from lib.jira.sandbox.app import create_sandbox_app
from lib.jira.sandbox.config import SandboxConfig
from lib.services import close_all, serve, services_for
from lib.settings import read_settings

HERE = Path(__file__).resolve().parent
log = logging.getLogger("anomaly_desk")

# Streamlit runs a fresh process's first script run in its old multipage mode
# when a `pages/` folder sits beside the navigation script: an address such as
# /statistics opened first then ran pages/statistics.py alone, with Streamlit's
# automatic page list and none of dashboard.py's layout, until someone opened /.
# Calling st.navigation turns that mode off for the process (see
# streamlit/commands/navigation.py and runtime/scriptrunner/script_runner.py,
# Streamlit 1.67); dashboard.py always calls it, so turn it off from the start.
PagesManager.uses_pages_directory = False


def _served_at() -> str:
    """The address this server answers at (Streamlit has bound its port by now)."""
    address = st.get_option("server.address") or "127.0.0.1"
    if address in ("0.0.0.0", "::"):
        address = "127.0.0.1"
    return f"http://{address}:{st.get_option('server.port')}"


SETTINGS = read_settings(os.environ, served_at=_served_at())


def _services():
    return services_for(SETTINGS)


def _token() -> str:
    return ensure_token(SETTINGS.api_token_path)


@asynccontextmanager
async def lifespan(_app):
    forget_signals = exit_cleanly_after_signal()
    services = serve(SETTINGS)  # migrate and seed before the first page asks
    _token()
    services.worker.start()  # the outbox: pending Jira updates resume after a restart
    set_nodelay_on_listeners()  # ~40 ms less per HTTP answer (see lib/http/tcp_nodelay.py)
    publish_dashboard(SETTINGS.dashboard_file_path, SETTINGS.dashboard_url)
    log.info(
        "anomaly_desk.started db=%s url=%s anomalies=%d",
        SETTINGS.db_path,
        SETTINGS.dashboard_url,
        services.anomalies.count(),
    )
    try:
        yield
    finally:
        withdraw_dashboard(SETTINGS.dashboard_file_path)
        close_all()  # stops the worker first, then closes the database
        log.info("anomaly_desk.stopped")
        forget_signals()


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
