"""Health at a glance on every page: the sidebar's state and outbox, the failing banner, Resume."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lib.services
from lib.jira import BadCredentials, JiraTimeout, ServerError
from lib.outbox.health import FAILING_AFTER, HealthState
from lib.services import services_for
from tests.app.test_log_page import insert_log

NOW = datetime(2026, 5, 20, 12, 0)
# Every page file, so a new page is covered without editing this list.
EVERY_PAGE = tuple(sorted(p.stem for p in (Path(__file__).parents[2] / "pages").glob("*.py")))


@pytest.fixture
def svc(tmp_settings, monkeypatch):
    monkeypatch.setattr(lib.services, "utc_now", lambda: NOW)
    return services_for(tmp_settings)


def run(page_path, name: str = "log") -> AppTest:
    at = AppTest.from_file(page_path(name), default_timeout=30)
    at.run()
    assert not at.exception
    return at


def banner(at) -> list[str]:
    return [e.value for e in at.error if "integration is failing" in e.value]


def sidebar_text(at) -> str:
    return " ".join(e.value for e in (*at.sidebar.markdown, *at.sidebar.caption))


def fail(svc, times: int, error) -> int:
    connection = svc.connections.active()
    for _ in range(times):
        svc.health.record_failure(connection.id, error)
    return connection.id


def test_the_sidebar_names_the_connection_its_state_and_the_outbox(svc, page_path):
    insert_log(
        svc.db,
        [
            {"id": 1, "created_at": NOW - timedelta(minutes=7), "action": "comment",
             "status": "pending", "ticket_key": "DQ-1"},
            {"id": 2, "created_at": NOW - timedelta(minutes=2), "action": "update",
             "status": "deferred", "ticket_key": "DQ-1"},
            {"id": 3, "created_at": NOW - timedelta(days=9), "action": "create", "status": "ok"},
        ],
    )  # fmt: skip
    text = sidebar_text(run(page_path))
    assert "Sandbox (demo)" in text and "Connected" in text
    assert "Outbox: 2 waiting · oldest 7 min" in text
    fail(svc, 1, JiraTimeout("read timed out"))
    at = run(page_path)
    assert "Degraded" in sidebar_text(at) and banner(at) == []
    assert "Last calls failed: Network" in sidebar_text(at)


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_failures_raise_the_banner_on_every_page(svc, page_path, page):
    fail(svc, FAILING_AFTER, ServerError("Jira answered 502: Bad gateway"))
    at = run(page_path, page)
    [text] = banner(at)
    assert "(Jira server error)" in text and "automation is paused" in text
    assert "server errors (HTTP 5xx)" in text
    assert any("Bad gateway" in c.value for c in at.caption)  # the last failure, as Jira said
    assert "Failing" in sidebar_text(at)
    assert [b for b in at.button if b.key == "health_resume"]


def test_resume_clears_the_banner_and_lets_automation_run(svc, page_path):
    connection_id = fail(svc, FAILING_AFTER, JiraTimeout("read timed out"))
    assert svc.health.automation_paused(connection_id) is not None
    at = run(page_path)
    assert "could not be reached" in banner(at)[0]
    at.button(key="health_resume").click().run()
    assert not at.exception
    assert banner(at) == [] and "Connected" in sidebar_text(at)
    assert svc.health.automation_paused(connection_id) is None
    assert svc.health.current(connection_id).state == HealthState.CONNECTED
    with svc.db.read() as cur:
        who = cur.execute(
            "SELECT resumed_by FROM integration_health WHERE connection_id = ?", [connection_id]
        ).fetchone()
    assert who == ("analyst",)


def test_a_401_after_the_connection_worked_says_the_token_expired_or_was_revoked(svc, page_path):
    connection_id = svc.connections.active().id
    svc.health.record_success(connection_id)
    svc.health.record_failure(connection_id, BadCredentials("Jira answered 401"))
    [text] = banner(run(page_path, "anomalies"))
    assert "(Authentication)" in text
    assert "expired or been revoked" in text and "Atlassian API tokens now expire" in text


def test_a_401_on_a_connection_that_never_worked_says_check_the_credentials(svc, page_path):
    fail(svc, 1, BadCredentials("Jira answered 401"))
    [text] = banner(run(page_path))
    assert "expired" not in text and "check the user and the API token" in text
