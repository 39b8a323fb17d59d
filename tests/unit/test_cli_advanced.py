"""``python -m lib.cli advanced``: directly on the database, and through the running dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from lib.cli import main
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL
from lib.outbox.policy import UpdateLimit, save_update_limit
from lib.services import close_all
from tests.waiting import wait_until

COMMAND = "job-42|CREATE|summary;Disk full on orders|priority;High|labels;dq,orders"


@pytest.fixture
def sandbox(jira_sandbox):
    return jira_sandbox


@pytest.fixture
def env(sandbox_services, tmp_settings):
    """A database whose active connection is the sandbox, closed again for the command."""
    services = sandbox_services
    save_update_limit(services.db, UpdateLimit(1, 60))
    close_all()
    return {"ANOMALY_DESK_DB": str(tmp_settings.db_path), "ANOMALY_DESK_DEMO_DATA": "0"}


def test_create_again_and_update_directly_on_the_database(env, sandbox, capsys):
    assert main(["advanced", COMMAND], env) == 0
    out = capsys.readouterr().out
    assert "Created DQ-1." in out and f"DQ-1 {sandbox.base_url}/browse/DQ-1" in out
    issue = sandbox.runtime.state.get("DQ-1")
    assert issue.priority == "High" and "anomaly-desk-auto-job-42" in issue.labels

    assert main(["advanced", COMMAND], env) == 0
    assert "already made for job-42; nothing was sent" in capsys.readouterr().out
    assert len(sandbox.runtime.state.all_issues()) == 1

    assert main(["advanced", "job-42|UPDATE|priority;Low"], env) == 0
    assert "Updated DQ-1." in capsys.readouterr().out
    assert sandbox.runtime.state.get("DQ-1").priority == "Low"

    # The limit is 1 per 60 s: the next automatic update waits, with its planned time.
    assert main(["advanced", "job-42|UPDATE|priority;Highest"], env) == 0
    assert "past the update limit, planned for" in capsys.readouterr().out
    assert sandbox.runtime.state.get("DQ-1").priority == "Low"


@pytest.mark.parametrize(
    "text, words",
    [
        ("job-9|UPDATE|priority;Low", "has no ticket"),
        ("job-9|CREATE|summary;x|prio High", "has no ';'"),
        ("job-9|MAKE|summary;x", "is not CREATE or UPDATE"),
    ],
)
def test_refused_commands_exit_1_with_the_message_and_send_nothing(
    env, sandbox, capsys, text, words
):
    assert main(["advanced", text], env) == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert sandbox.runtime.state.all_issues() == []


def test_jira_field_errors_exit_1(env, capsys):
    assert main(["advanced", "job-5|CREATE|summary;x|customfield_10010;3"], env) == 1
    assert "customfield_10010" in capsys.readouterr().err


# -- through the running dashboard (it holds the database) ---------------------


def _token(dashboard) -> str:
    return Path(dashboard.db_path + ".api_token").read_text().strip()


def _sandbox_issue(dashboard, key: str) -> dict:
    return requests.get(
        f"{dashboard.url}/sandbox/rest/api/3/issue/{key}",
        timeout=5,
        auth=(DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN),
    ).json()


def test_forwarded_to_the_dashboard_while_it_holds_the_database(dashboard, capsys):
    env = {"ANOMALY_DESK_DB": dashboard.db_path, "ANOMALY_DESK_DASHBOARD_URL": dashboard.url}
    create = "cli-fwd|CREATE|summary;Disk full on orders|project;DQ|issuetype;Task|priority;High"
    assert main(["advanced", create], env) == 0
    out = capsys.readouterr().out
    key = re.search(r"Created (DQ-\d+)\.", out).group(1)
    assert f"{dashboard.url}/sandbox/browse/{key}" in out
    assert _sandbox_issue(dashboard, key)["fields"]["priority"]["name"] == "High"

    assert main(["advanced", "cli-fwd|UPDATE|priority;Low"], env) == 0
    assert f"Update of {key} queued" in capsys.readouterr().out
    wait_until(  # the dashboard's worker sends it
        lambda: _sandbox_issue(dashboard, key)["fields"]["priority"]["name"] == "Low",
        15,
        "the dashboard's worker sending the update",
    )

    assert main(["advanced", "cli-fwd|UPDATE|nonsense"], env) == 1
    assert "has no ';'" in capsys.readouterr().err


def test_advanced_route_needs_the_token_and_refuses_malformed_commands(dashboard):
    url = f"{dashboard.url}/api/v1/advanced"
    body = {"command": "route-1|CREATE|summary;Via HTTP|project;DQ|issuetype;Task"}
    assert requests.post(url, json=body, timeout=10).status_code == 401
    wrong = requests.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json() == {"error": "Missing or wrong API token."}
    auth = {"Authorization": f"Bearer {_token(dashboard)}"}
    bad = requests.post(url, json={"command": "route-1|CREATE|summary"}, headers=auth, timeout=10)
    assert bad.status_code == 400 and "has no ';'" in bad.json()["error"]
    shapeless = requests.post(url, json={"text": "x"}, headers=auth, timeout=10)
    assert shapeless.status_code == 400 and '{"command"' in shapeless.json()["error"]
    ok = requests.post(url, json=body, headers=auth, timeout=30)
    assert ok.status_code == 200 and ok.json()["status"] == "created"
    key = ok.json()["ticket_key"]
    plain = requests.post(url, data=body["command"], headers=auth, timeout=30)
    assert plain.status_code == 200
    assert (plain.json()["status"], plain.json()["ticket_key"]) == ("existing", key)
