"""Fixtures for the REST API: the API served over real HTTP, services on a temp database.

The API app (``build_routes``: FastAPI mounted at ``/api``, as app.py mounts
it) runs on a free port in a thread, beside a Jira sandbox on another port;
each test gets fresh services whose active connection is that sandbox in one
flavour (Cloud v3 or Data Center v2), and two anomalies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests
from starlette.applications import Starlette

from lib.connections.models import ConnectionInput, TicketDefaults
from lib.connections.validation import sandbox_credentials
from lib.http.routes import build_routes
from lib.jira import adf_to_text
from lib.jira.sandbox.server import serve_in_thread
from lib.services import Services, services_for, utc_now
from lib.store.models import Anomaly, FailedCheck

TOKEN = "test-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DETECTED = datetime(2025, 12, 21, 1, 48, 42)


def make_anomaly(ident: int) -> Anomaly:
    return Anomaly(
        ident,
        7,
        "Warehouse",
        f"CUSTOMERS_{ident}",
        ("CUSTOMER_NAME",),
        "shape",
        "Active",
        None,
        DETECTED,
        "desc",
        5,
        ("crm",),
        (FailedCheck(100 + ident, "notNull", f"{ident} values in CUSTOMER_NAME are null"),),
    )


def plain(body) -> str:
    """A sandbox comment or description as text (ADF flattened, wiki unescaped)."""
    if isinstance(body, dict):
        return adf_to_text(body)
    return re.sub(r"\\(.)", r"\1", (body or "").replace("&#92;", "\\"))


class _Holder:
    services: Services | None = None


@pytest.fixture(scope="session")
def api_server():
    """The API over HTTP for the whole run; each test points it at its own services."""
    holder = _Holder()
    app = Starlette(routes=build_routes(lambda: holder.services, lambda: TOKEN))
    base_url, stop = serve_in_thread(app)
    yield base_url, holder, app
    stop()


@dataclass
class Api:
    url: str
    services: Services
    flavour: str
    sandbox: object
    session: requests.Session

    def call(self, method: str, path: str, *, auth: bool = True, **kwargs) -> requests.Response:
        headers = {**(AUTH if auth else {}), **kwargs.pop("headers", {})}
        return self.session.request(method, self.url + path, headers=headers, timeout=15, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def comments(self, key: str) -> list[str]:
        return [plain(c.body) for c in self.sandbox.runtime.state.get(key).comments]

    def description(self, key: str) -> str:
        return plain(self.sandbox.runtime.state.get(key).description)


def connect(services: Services, sandbox, flavour: str) -> None:
    connection, _ = services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials(flavour),
            flavour=flavour,
        )
    )
    services.connections.save_defaults(
        connection.id, TicketDefaults(project_key="DQ", issue_type_name="Task")
    )


@pytest.fixture
def bare_services(tmp_settings, api_server):
    """Services with two anomalies and the demo connection only (no sandbox behind it)."""
    services = services_for(tmp_settings)
    services.anomalies.upsert_many([make_anomaly(1), make_anomaly(2)], utc_now())
    api_server[1].services = services
    yield services
    api_server[1].services = None


@pytest.fixture(params=["cloud", "dc"])
def api(request, bare_services, api_server, jira_sandbox) -> Api:
    """The API over HTTP, its active Jira the (reset) sandbox in one flavour."""
    jira_sandbox.runtime.reset()
    connect(bare_services, jira_sandbox, request.param)
    with requests.Session() as session:
        yield Api(api_server[0], bare_services, request.param, jira_sandbox, session)


# What the schemathesis run checked, printed at the end of the pytest run.
SCHEMA_RUN: dict = {}


def pytest_terminal_summary(terminalreporter):
    if SCHEMA_RUN:
        terminalreporter.write_line(
            f"schemathesis: {SCHEMA_RUN['operations']} operations, "
            f"{SCHEMA_RUN['cases']} generated cases checked (no 5xx, answers as documented)"
        )
