"""Shared fixtures: Atlassian's spec files, loaded once per session.

The spec lives in ``../shared/jira-spec`` beside the checkout (or where
``JIRA_SPEC_DIR`` points). When it is missing the contract tests must fail,
not skip: a green run without them would prove nothing.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _spec_dir() -> Path:
    return Path(os.environ.get("JIRA_SPEC_DIR", ROOT.parent / "shared" / "jira-spec"))


@pytest.fixture(scope="session")
def jira_spec_dir() -> Path:
    path = _spec_dir()
    if not (path / "swagger-v3.v3.json").is_file():
        pytest.fail(
            f"Atlassian's Jira spec is missing at {path}: contract tests cannot run. "
            "Put ../shared/jira-spec beside the checkout or set JIRA_SPEC_DIR."
        )
    return path


@pytest.fixture(scope="session")
def swagger_v3(jira_spec_dir: Path) -> dict:
    """The raw Cloud OpenAPI document (do not mutate: copy it)."""
    return json.loads((jira_spec_dir / "swagger-v3.v3.json").read_text())


@pytest.fixture(scope="session")
def openapi_for(swagger_v3: dict):
    """Factory: an openapi-core validator whose server is ``base_url``."""
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    cache: dict[str, object] = {}

    def build(base_url: str):
        if base_url not in cache:
            spec = copy.copy(swagger_v3)
            spec["servers"] = [{"url": base_url}]
            cache[base_url] = OpenAPI(
                SchemaPath.from_dict(spec), config=Config(spec_validator_cls=None)
            )
        return cache[base_url]

    return build


@pytest.fixture(scope="session")
def adf_validator(jira_spec_dir: Path):
    """A Draft-4 validator for Atlassian Document Format documents."""
    import jsonschema

    schema = json.loads((jira_spec_dir / "adf-full-57.7.22.json").read_text())
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="session")
def dc_wadl_text(jira_spec_dir: Path) -> str:
    """The Jira Server/Data Center WADL (paths and query parameters)."""
    return (jira_spec_dir / "jira-8.4.3-rest-plugin.wadl").read_text()


# -- the app's own state ------------------------------------------------------


@pytest.fixture
def tmp_settings(tmp_path, monkeypatch):
    """Settings on a fresh database file; pages under AppTest read the same env."""
    from lib.settings import load_settings

    env = {
        "ANOMALY_DESK_DB": str(tmp_path / "test.duckdb"),
        "ANOMALY_DESK_DEMO_DATA": "0",
        "ANOMALY_DESK_PUBLIC_URL": "http://desk.test",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(env)


@pytest.fixture(autouse=True)
def _no_project_secrets(tmp_path_factory, monkeypatch):
    """Settings read in-process never see a developer's .streamlit/secrets.toml (its [jira])."""
    monkeypatch.setattr(
        "lib.settings.SECRETS_FILE", tmp_path_factory.getbasetemp() / "no-secrets.toml"
    )


@pytest.fixture(autouse=True)
def _close_shared_services():
    """Close every shared database after each test so none leaks into the next."""
    yield
    from lib.services import close_all

    close_all()


# -- a real dashboard server ----------------------------------------------------


class RunningDashboard(str):
    """The base URL (a str, for the browser tests) plus the database it holds."""

    url: str
    db_path: str


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """Start ``streamlit run app.py`` on a free port with a temporary database."""
    from tests.edges.server import free_port, start_dashboard

    port = free_port()
    data = tmp_path_factory.mktemp("dashboard")
    server = start_dashboard(
        data,
        port=port,
        env={
            "ANOMALY_DESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ANOMALY_DESK_DASHBOARD_URL": f"http://127.0.0.1:{port}",
        },
    )
    running = RunningDashboard(server.url)
    running.url, running.db_path = server.url, str(server.db_path)
    yield running
    server.stop()


# -- a Jira sandbox and services connected to it -------------------------------


@pytest.fixture(scope="session")
def jira_sandbox():
    """One sandbox speaking both flavours over real HTTP for the whole run."""
    from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread

    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


@pytest.fixture
def sandbox_services(tmp_settings, jira_sandbox):
    """Services on a fresh database whose active connection is the (reset) sandbox."""
    from lib.connections.models import ConnectionInput, TicketDefaults
    from lib.connections.validation import sandbox_credentials
    from lib.services import services_for

    jira_sandbox.runtime.reset()
    services = services_for(tmp_settings)
    connection, _ = services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=jira_sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    services.connections.save_defaults(
        connection.id, TicketDefaults(project_key="DQ", issue_type_name="Task")
    )
    return services
