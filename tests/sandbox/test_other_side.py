"""The sandbox's second user and Jira-side changes: comment, reassign, delete, move.

Cloud calls go through ``V3Caller``, so each request and answer is checked
against Atlassian's OpenAPI document.
"""

from __future__ import annotations

import requests

from lib.jira.sandbox.config import OTHER_CLOUD_API_TOKEN, OTHER_CLOUD_EMAIL, OTHER_DC_PAT

from .conftest import TIMEOUT, V3Caller, adf

OTHER = (OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN)


def colleague(cloud: V3Caller) -> V3Caller:
    return V3Caller(cloud.base_url, cloud.openapi, cloud.adf_validator, auth=OTHER)


def test_cloud_comments_are_authored_by_whoever_authenticated(cloud):
    key = cloud.create()["key"]
    other = colleague(cloud)
    assert other.get("/rest/api/3/myself").json()["accountId"] == "sandbox-account-2"
    assert other.post(f"/rest/api/3/issue/{key}/comment", json={"body": adf("mine")}).ok
    assert cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": adf("ours")}).ok
    comments = cloud.get(f"/rest/api/3/issue/{key}/comment").json()["comments"]
    assert [c["author"]["accountId"] for c in comments] == [
        "sandbox-account-2",
        "sandbox-account-1",
    ]


def test_cloud_reassign_transition_and_the_fields_that_show_it(cloud):
    key = cloud.create()["key"]
    other = colleague(cloud)
    assert other.put(f"/rest/api/3/issue/{key}/assignee", json={"accountId": "sandbox-account-2"})
    refused = other.put(f"/rest/api/3/issue/{key}/assignee", json={"accountId": "nobody"})
    assert refused.status_code == 400
    assert other.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    fields = cloud.get(f"/rest/api/3/issue/{key}?fields=assignee,resolution,status").json()[
        "fields"
    ]
    assert fields["assignee"]["displayName"] == "Other Sandbox User"
    assert fields["resolution"]["name"] == "Done"
    assert fields["status"]["statusCategory"]["key"] == "done"
    # Jira documents a null accountId as "unassign", though its schema says string: unchecked.
    unassign = {"accountId": None}
    assert other.put(f"/rest/api/3/issue/{key}/assignee", json=unassign, validate=False)
    assert (
        cloud.get(f"/rest/api/3/issue/{key}?fields=assignee").json()["fields"]["assignee"] is None
    )


def test_cloud_delete_then_the_issue_is_gone(cloud):
    key = cloud.create()["key"]
    assert colleague(cloud).call("DELETE", f"/rest/api/3/issue/{key}").status_code == 204
    assert cloud.get(f"/rest/api/3/issue/{key}").status_code == 404


def test_a_moved_issue_answers_under_its_new_key_by_old_key_and_id(cloud):
    made = cloud.create()
    moved = requests.post(
        f"{cloud.base_url}/_sandbox/issues/{made['key']}/move",
        json={"project": "OPS"},
        timeout=TIMEOUT,
    ).json()
    assert moved["id"] == made["id"] and moved["key"].startswith("OPS-")
    assert cloud.get(f"/rest/api/3/issue/{made['key']}").json()["key"] == moved["key"]
    jql = {"jql": f"key = {made['key']}", "fields": ["summary"]}
    found = cloud.post("/rest/api/3/search/jql", json=jql).json()["issues"]
    assert [i["key"] for i in found] == [moved["key"]]
    again = requests.post(
        f"{cloud.base_url}/_sandbox/issues/{moved['key']}/move", json={"project": "OPS"}, timeout=5
    )
    assert again.status_code == 400


def test_dc_other_user_comments_reassigns_and_deletes(dc):
    other = requests.Session()
    other.headers["Authorization"] = f"Bearer {OTHER_DC_PAT}"
    api = dc.base_url + "/rest/api/2"
    fields = {"project": {"key": "DQ"}, "issuetype": {"name": "Task"}, "summary": "s"}
    key = dc.post(f"{api}/issue", json={"fields": fields}, timeout=TIMEOUT).json()["key"]
    assert other.post(f"{api}/issue/{key}/comment", json={"body": "from Jira"}).status_code == 201
    assert other.put(f"{api}/issue/{key}/assignee", json={"name": "other"}).status_code == 204
    issue = dc.get(f"{api}/issue/{key}?fields=comment,assignee", timeout=TIMEOUT).json()
    assert issue["fields"]["comment"]["comments"][0]["author"]["name"] == "other"
    assert issue["fields"]["assignee"]["name"] == "other"
    assert other.delete(f"{api}/issue/{key}").status_code == 204
    assert dc.get(f"{api}/issue/{key}", timeout=TIMEOUT).status_code == 404


def test_the_polls_search_asks_and_answers_as_the_spec_says(cloud):
    from lib.jira.client import POLL_FIELDS
    from lib.jira.records import parse_polled_issue

    made = cloud.create()
    other = colleague(cloud)
    other.post(f"/rest/api/3/issue/{made['key']}/comment", json={"body": adf("from Jira")})
    other.put(f"/rest/api/3/issue/{made['key']}/assignee", json={"accountId": "sandbox-account-2"})
    other.post(f"/rest/api/3/issue/{made['key']}/transitions", json={"transition": {"id": "31"}})
    body = {
        "jql": f'id in ({made["id"]}) AND updated >= "2020-01-01 00:00"',
        "fields": list(POLL_FIELDS),
        "maxResults": 100,
    }
    answer = cloud.post("/rest/api/3/search/jql", json=body).json()  # both sides validated
    polled = parse_polled_issue(answer["issues"][0], lambda key: key)
    assert (polled.issue.key, polled.issue.status_category) == (made["key"], "done")
    assert (polled.resolution, polled.assignee, polled.status_color) == (
        "Done",
        "Other Sandbox User",
        "green",
    )
    assert [(c.author_id, c.body_text) for c in polled.comments] == [
        ("sandbox-account-2", "from Jira")
    ]
    assert polled.comments_total == 1
