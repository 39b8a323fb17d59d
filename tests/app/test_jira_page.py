"""The Jira page under AppTest: the sandbox embedded; a real Jira linked, its tickets listed."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lib.connections.models import ConnectionInput
from lib.connections.validation import sandbox_credentials
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.jira.sandbox.config import DEMO_DC_PAT
from lib.services import services_for, utc_now
from lib.store.anomalies import AnomalyRepository
from tests.sync.conftest import make_anomaly


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


def iframes(at) -> list[str]:
    return [e.proto.src for e in at.get("iframe")]


def test_sandbox_mode_embeds_the_sandbox_pages(tmp_settings, sandbox, page_path):
    sandbox.runtime.reset()
    services_for(tmp_settings).connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    at = AppTest.from_file(page_path("jira"), default_timeout=30).run()
    assert not at.exception and at.title[0].value == "Jira"
    assert iframes(at) == [f"{sandbox.base_url}/"]
    at.text_input(key="jira_browse_key").input("dq-3").run()
    assert iframes(at) == [f"{sandbox.base_url}/browse/DQ-3"]
    at.text_input(key="jira_browse_key").input("not a key").run()
    assert "is not an issue key" in at.error[0].value
    assert iframes(at) == [f"{sandbox.base_url}/"]


def test_a_real_jira_gets_a_link_and_the_linked_tickets_with_refresh(
    tmp_settings, sandbox, page_path
):
    sandbox.runtime.reset()
    svc = services_for(tmp_settings)
    svc.connections.create(
        ConnectionInput(kind="dc", host=sandbox.base_url, credentials=DEMO_DC_PAT, dc_auth="pat")
    )
    AnomalyRepository(svc.db).upsert_many([make_anomaly(1), make_anomaly(2)], utc_now())
    issue = sandbox.runtime.state.create_issue("DQ", issuetype_id="10001", summary="first words")
    svc.tickets.link_existing(1, issue.key, "alice")
    at = AppTest.from_file(page_path("jira"), default_timeout=30).run()
    assert not at.exception
    assert iframes(at) == []
    assert at.get("link_button")[0].proto.url == sandbox.base_url
    table = at.dataframe[0].value
    assert list(table["key"]) == [issue.key] and list(table["anomaly"]) == [1]
    assert list(table["summary"]) == ["first words"] and list(table["status"]) == ["To Do"]

    sandbox.runtime.state.get(issue.key).summary = "changed in Jira"
    at.button(key="jira_refresh").click().run()
    assert "Refreshed 1 ticket(s)" in at.success[0].value
    assert list(at.dataframe[0].value["summary"]) == ["changed in Jira"]

    sandbox.runtime.state.reset()  # the issue is gone: a 404 keeps the link, marked
    at.button(key="jira_refresh").click().run()
    assert not at.exception
    assert list(at.dataframe[0].value["status"]) == ["not found or no permission"]
