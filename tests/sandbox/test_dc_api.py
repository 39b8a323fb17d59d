"""Data Center (v2) fidelity: wiki strings, offset search, PAT and Basic auth, CAPTCHA."""

from __future__ import annotations

import requests

from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread

from .conftest import adf, issue_fields

TIMEOUT = 5


def test_dc_has_no_v3_and_says_server(dc):
    assert dc.get(dc.base_url + "/rest/api/3/myself", timeout=TIMEOUT).status_code == 404
    info = requests.get(dc.base_url + "/rest/api/2/serverInfo", timeout=TIMEOUT).json()
    assert info["deploymentType"] == "Server" and info["versionNumbers"][0] >= 10


def test_pat_and_basic_password_both_work_and_cloud_tokens_do_not(dc):
    assert dc.get(dc.base_url + "/rest/api/2/myself", timeout=TIMEOUT).json()["name"] == "admin"
    basic = requests.get(
        dc.base_url + "/rest/api/2/myself", auth=("admin", "admin"), timeout=TIMEOUT
    )
    assert basic.status_code == 200
    cloud_token = requests.get(
        dc.base_url + "/rest/api/2/myself",
        auth=("demo@anomaly-desk.example", "sandbox-api-token"),
        timeout=TIMEOUT,
    )
    assert cloud_token.status_code == 401
    wrong_pat = requests.get(
        dc.base_url + "/rest/api/2/myself",
        headers={"Authorization": "Bearer nope"},
        timeout=TIMEOUT,
    )
    assert wrong_pat.status_code == 401


def test_dc_takes_wiki_and_refuses_adf(dc):
    refused = dc.post(
        dc.base_url + "/rest/api/2/issue",
        json={"fields": issue_fields(description=adf("x"))},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "errorMessages": [],
        "errors": {"description": "Operation value must be a string"},
    }
    created = dc.post(
        dc.base_url + "/rest/api/2/issue",
        json={"fields": issue_fields(description="h3. Nulls\n* rows: 12")},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201 and created.json()["key"] == "DQ-1"
    key = created.json()["key"]
    assert (
        dc.post(
            f"{dc.base_url}/rest/api/2/issue/{key}/comment",
            json={"body": adf("x")},
            timeout=TIMEOUT,
        ).status_code
        == 400
    )
    assert (
        dc.post(
            f"{dc.base_url}/rest/api/2/issue/{key}/comment",
            json={"body": "Fixed in *ETL*"},
            timeout=TIMEOUT,
        ).status_code
        == 201
    )
    issue = dc.get(f"{dc.base_url}/rest/api/2/issue/{key}", timeout=TIMEOUT).json()
    assert issue["fields"]["description"] == "h3. Nulls\n* rows: 12"
    assert issue["fields"]["comment"]["comments"][0]["body"] == "Fixed in *ETL*"


def test_dc_createmeta_answers_values(dc):
    types = dc.get(
        dc.base_url + "/rest/api/2/issue/createmeta/DQ/issuetypes", timeout=TIMEOUT
    ).json()
    assert "values" in types and "issueTypes" not in types
    fields = dc.get(
        dc.base_url + "/rest/api/2/issue/createmeta/DQ/issuetypes/10001", timeout=TIMEOUT
    ).json()["values"]
    assert {f["fieldId"] for f in fields} >= {"summary", "priority", "labels"}
    assert isinstance(dc.get(dc.base_url + "/rest/api/2/project", timeout=TIMEOUT).json(), list)
    assert dc.get(dc.base_url + "/rest/api/2/project/search", timeout=TIMEOUT).status_code == 404


def test_dc_search_pages_by_offset_with_total_and_caps_max_results(dc):
    for n in range(3):
        dc.post(
            dc.base_url + "/rest/api/2/issue",
            json={"fields": issue_fields(summary=f"Late load {n}")},
            timeout=TIMEOUT,
        )
    page = dc.post(
        dc.base_url + "/rest/api/2/search",
        json={"jql": "project = DQ ORDER BY key DESC", "startAt": 1, "maxResults": 5000},
        timeout=TIMEOUT,
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1000, 3)
    assert [i["key"] for i in page["issues"]] == ["DQ-2", "DQ-1"]
    assert (
        dc.get(
            dc.base_url + "/rest/api/2/search/jql", params={"jql": "project = DQ"}, timeout=TIMEOUT
        ).status_code
        == 404
    )


def test_captcha_lockout_after_bad_basic_logins_but_not_for_pats():
    running = start_sandbox_in_thread(SandboxConfig(flavour="dc", captcha_after=2))
    try:
        url = running.base_url + "/rest/api/2/myself"
        for _ in range(2):
            assert requests.get(url, auth=("admin", "wrong"), timeout=TIMEOUT).status_code == 401
        locked = requests.get(url, auth=("admin", "admin"), timeout=TIMEOUT)
        assert locked.status_code == 401
        assert locked.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
        assert (
            requests.get(
                url, headers={"Authorization": "Bearer sandbox-pat"}, timeout=TIMEOUT
            ).status_code
            == 200
        )
    finally:
        running.stop()


def test_dc_takes_environment_and_textarea_as_wiki_and_refuses_adf(dc):
    url = dc.base_url + "/rest/api/2/issue"
    for name in ("environment", "customfield_10050"):
        refused = dc.post(url, json={"fields": issue_fields(**{name: adf("x")})}, timeout=TIMEOUT)
        assert refused.status_code == 400
        assert refused.json()["errors"] == {name: "Operation value must be a string"}
    created = dc.post(
        url,
        json={
            "fields": issue_fields(
                environment="Prod *EU*",
                customfield_10050="Disk [full|https://x.test]",
                duedate="2026-03-31",
                components=[{"name": "Pipelines"}],
            )
        },
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    fields = dc.get(f"{url}/{created.json()['key']}", timeout=TIMEOUT).json()["fields"]
    assert fields["environment"] == "Prod *EU*"
    assert fields["customfield_10050"] == "Disk [full|https://x.test]"
    assert fields["duedate"] == "2026-03-31" and fields["components"][0]["name"] == "Pipelines"
    metas = dc.get(url + "/createmeta/DQ/issuetypes/10001", timeout=TIMEOUT).json()["values"]
    assert {"duedate", "components", "environment", "customfield_10050"} <= {
        f["fieldId"] for f in metas
    }
