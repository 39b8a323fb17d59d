"""Cloud (v3) fidelity: every answer checked against Atlassian's spec and the ADF schema."""

from __future__ import annotations

import pytest
import requests

from .conftest import adf, issue_fields

BAD_CREDENTIALS = ("demo@anomaly-desk.example", "wrong-token")


def test_server_info_is_anonymous_and_says_cloud(cloud):
    response = cloud.get("/rest/api/3/serverInfo", auth=None)
    assert response.status_code == 200
    assert response.json()["deploymentType"] == "Cloud"


def test_myself_needs_the_right_token(cloud):
    assert cloud.get("/rest/api/3/myself").json()["emailAddress"] == "demo@anomaly-desk.example"
    assert cloud.get("/rest/api/3/myself", auth=BAD_CREDENTIALS).status_code == 401
    assert cloud.get("/rest/api/3/myself", auth=None).status_code == 401


def test_writes_need_credentials(cloud):
    response = cloud.post("/rest/api/3/issue", json={"fields": issue_fields()}, auth=None)
    assert response.status_code == 401
    assert (
        cloud.get("/rest/api/3/search/jql", params={"jql": "project = DQ"}).json()["issues"] == []
    )


def test_project_search_pages_and_404s_when_nothing_matches(cloud):
    # The spec forbids maxResults > 100 in the request; Jira caps it, so does the sandbox.
    page = cloud.get(
        "/rest/api/3/project/search", params={"maxResults": 500}, validate=False
    ).json()
    assert [p["key"] for p in page["values"]] == ["DQ", "OPS"]
    assert page["maxResults"] == 100 and page["isLast"] is True
    assert cloud.get("/rest/api/3/project/search", params={"query": "ops"}).json()["total"] == 1
    assert (
        cloud.get("/rest/api/3/project/search", params={"query": "nothing-like-this"}).status_code
        == 404
    )


def test_createmeta_lists_types_and_fields_with_allowed_priorities(cloud):
    types = cloud.get("/rest/api/3/issue/createmeta/DQ/issuetypes").json()
    assert {t["name"] for t in types["issueTypes"]} == {"Task", "Bug"}
    task_id = next(t["id"] for t in types["issueTypes"] if t["name"] == "Task")
    fields = cloud.get(f"/rest/api/3/issue/createmeta/OPS/issuetypes/{task_id}").json()["fields"]
    by_id = {f["fieldId"]: f for f in fields}
    assert by_id["summary"]["required"] is True and by_id["priority"]["required"] is False
    assert [p["name"] for p in by_id["priority"]["allowedValues"]] == ["High", "Medium", "Low"]


def test_create_answers_only_id_key_self_and_keys_count_per_project(cloud):
    first = cloud.create()
    assert set(first) == {"id", "key", "self"} and isinstance(first["id"], str)
    assert first["key"] == "DQ-1" and first["self"].endswith(f"/rest/api/3/issue/{first['id']}")
    assert cloud.create(project="OPS")["key"] == "OPS-1"
    assert cloud.create()["key"] == "DQ-2"


def test_get_returns_requested_fields_with_adf_and_jira_timestamps(cloud):
    created = cloud.create(
        description=adf("Nulls rose to 12%"), labels=["anomaly-desk-7"], priority={"name": "High"}
    )
    issue = cloud.get(
        f"/rest/api/3/issue/{created['key']}",
        params={"fields": "summary,status,priority,updated,description,labels"},
    ).json()
    fields = issue["fields"]
    assert set(fields) == {"summary", "status", "priority", "updated", "description", "labels"}
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["priority"]["name"] == "High" and fields["labels"] == ["anomaly-desk-7"]
    assert fields["description"] == adf("Nulls rose to 12%")
    assert len(fields["updated"]) == len("2021-01-17T12:34:00.000+0000") and fields[
        "updated"
    ].endswith("+0000")


def test_unknown_issue_is_404_in_jiras_words(cloud):
    response = cloud.get("/rest/api/3/issue/DQ-999")
    assert response.status_code == 404
    assert response.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"summary": ""}, "summary", "You must specify a summary of the issue."),
        ({"summary": "x" * 256}, "summary", "Summary must be less than 255 characters."),
        (
            {"description": "plain text"},
            "description",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            {
                "description": {
                    "type": "doc",
                    "version": 1,
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
                }
            },
            "description",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            {"labels": ["has space"]},
            "labels",
            "The label 'has space' contains spaces which is invalid.",
        ),
        (
            {"priority": {"name": "Highest"}, "project": {"key": "OPS"}},
            "priority",
            "The priority selected is invalid.",
        ),
        ({"priority": {"name": "Blocker"}}, "priority", "Priority name 'Blocker' is not valid"),
        ({"project": {"key": "NOPE"}}, "project", "valid project is required"),
        ({"issuetype": {"name": "Epic"}}, "issuetype", "The issue type selected is invalid."),
        (
            {"reporter": {"accountId": "x"}},
            "reporter",
            "Field 'reporter' cannot be set. It is not on the appropriate screen, or unknown.",
        ),
        (
            {"assignee": {"accountId": "x"}},
            "assignee",
            "Specified user does not exist or you do not have required permissions",
        ),
        (
            {"assignee": {"name": "sandbox-account-1"}},  # Cloud names users by accountId
            "assignee",
            "Specified user does not exist or you do not have required permissions",
        ),
    ],
)
def test_create_refuses_what_jira_refuses(cloud, fields, field, message):
    response = cloud.post("/rest/api/3/issue", json={"fields": {**issue_fields(), **fields}})
    assert response.status_code == 400
    assert response.json()["errors"][field] == message
    assert response.json()["errorMessages"] == []


def test_edit_answers_204_with_an_empty_body_and_validates(cloud):
    key = cloud.create()["key"]
    response = cloud.put(
        f"/rest/api/3/issue/{key}",
        json={
            "fields": {"summary": "Renamed", "priority": {"name": "Low"}},
            "update": {"labels": [{"add": "triaged"}]},
        },
    )
    assert response.status_code == 204 and response.content == b""
    fields = cloud.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert (fields["summary"], fields["priority"]["name"], fields["labels"]) == (
        "Renamed",
        "Low",
        ["triaged"],
    )
    refused = cloud.put(f"/rest/api/3/issue/{key}", json={"fields": {"description": "wiki *text*"}})
    assert (
        refused.status_code == 400
        and "Atlassian Document" in refused.json()["errors"]["description"]
    )


def test_comments_need_adf_and_come_back_paged_as_adf(cloud):
    key = cloud.create()["key"]
    assert cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": "plain"}).status_code == 400
    for text in ("first", "second", "third"):
        assert (
            cloud.post(f"/rest/api/3/issue/{key}/comment", json={"body": adf(text)}).status_code
            == 201
        )
    page = cloud.get(
        f"/rest/api/3/issue/{key}/comment",
        params={"orderBy": "created", "startAt": 1, "maxResults": 1},
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1, 3)
    assert page["comments"][0]["body"] == adf("second")


def test_wiki_written_on_v2_reads_back_as_valid_adf_on_v3(cloud):
    key = cloud.create()["key"]
    wiki = "h3. Anomaly\n* rows: 12\n* column: {{amount}}\n[open|https://desk.example/?anomaly=7]\n{code:sql}\nselect 1\n{code}"
    response = requests.post(
        f"{cloud.base_url}/rest/api/2/issue/{key}/comment",
        json={"body": wiki},
        auth=cloud.auth,
        timeout=5,
    )
    assert response.status_code == 201
    body = cloud.get(f"/rest/api/3/issue/{key}/comment").json()["comments"][0]["body"]
    assert [block["type"] for block in body["content"]] == [
        "heading",
        "bulletList",
        "paragraph",
        "codeBlock",
    ]


def test_bulk_create_reports_per_item_errors(cloud):
    good, bad = {"fields": issue_fields()}, {"fields": issue_fields(summary="")}
    mixed = cloud.post("/rest/api/3/issue/bulk", json={"issueUpdates": [good, bad, good]})
    assert mixed.status_code == 201
    body = mixed.json()
    assert [i["key"] for i in body["issues"]] == ["DQ-1", "DQ-2"]
    assert body["errors"][0]["failedElementNumber"] == 1
    assert (
        body["errors"][0]["elementErrors"]["errors"]["summary"]
        == "You must specify a summary of the issue."
    )
    assert (
        cloud.post("/rest/api/3/issue/bulk", json={"issueUpdates": [bad, bad]}).status_code == 400
    )
    too_many = cloud.post("/rest/api/3/issue/bulk", json={"issueUpdates": [good] * 51})
    assert too_many.status_code == 400
    assert cloud.get("/rest/api/3/search/jql", params={"jql": "project = DQ"}).json()["issues"] == [
        {"id": i["id"]} for i in body["issues"]
    ]


def test_search_jql_pages_with_tokens_and_no_total(cloud):
    ids = [
        cloud.create(summary=f"Row count drop {n}", labels=["anomaly-desk-1"])["id"]
        for n in range(5)
    ]
    seen, token, pages = [], None, 0
    while True:
        body = {
            "jql": 'project = DQ AND labels = "anomaly-desk-1" ORDER BY key ASC',
            "maxResults": 2,
            "fields": ["summary", "status"],
        }
        if token:
            body["nextPageToken"] = token
        page = cloud.post("/rest/api/3/search/jql", json=body).json()
        assert "total" not in page
        seen += [issue["id"] for issue in page["issues"]]
        pages += 1
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
    assert seen == ids and pages == 3


def test_search_jql_returns_only_ids_unless_fields_are_asked(cloud):
    created = cloud.create()
    page = cloud.get("/rest/api/3/search/jql", params={"jql": f"key = {created['key']}"}).json()
    assert page["issues"] == [{"id": created["id"]}]


def test_search_jql_refuses_startat_in_the_body(cloud):
    # The spec forbids it too: send it without request validation, as a careless client would.
    response = cloud.post(
        "/rest/api/3/search/jql", json={"jql": "project = DQ", "startAt": 0}, validate=False
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "jql",
    [
        "",
        "ORDER BY created",
        "project = DQ OR project = OPS",
        "assignee = currentUser()",
        'summary = "x"',
    ],
)
def test_search_jql_refuses_unbounded_or_unsupported_jql(cloud, jql):
    response = cloud.get("/rest/api/3/search/jql", params={"jql": jql})
    assert response.status_code == 400
    assert response.json()["errors"] == {} and response.json()["errorMessages"][0]


@pytest.mark.parametrize("path", ["/rest/api/3/search", "/rest/api/2/search"])
def test_removed_search_is_gone_on_cloud(cloud, path):
    response = cloud.get(path, params={"jql": "project = DQ"}, validate=False)
    assert response.status_code == 410
    assert "search/jql" in response.json()["errorMessages"][0]


def test_picker_answers_integer_ids_and_plain_summary_text(cloud):
    created = cloud.create(summary="Duplicate <keys> in customers")
    cloud.create(summary="Unrelated")
    sections = cloud.get(
        "/rest/api/3/issue/picker", params={"query": "duplicate", "currentJQL": "project = DQ"}
    ).json()["sections"]
    found = [issue for section in sections for issue in section["issues"]]
    assert [(i["id"], i["key"], i["summaryText"]) for i in found] == [
        (int(created["id"]), "DQ-1", "Duplicate <keys> in customers")
    ]
    assert found[0]["summary"] == "<b>Duplicate</b> &lt;keys&gt; in customers"


def test_transitions_move_the_status_and_answer_204(cloud):
    key = cloud.create()["key"]
    offered = cloud.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
    done = next(t for t in offered if t["to"]["statusCategory"]["key"] == "done")
    response = cloud.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": done["id"]}}
    )
    assert response.status_code == 204 and response.content == b""
    assert (
        cloud.get(f"/rest/api/3/issue/{key}", params={"fields": "status"}).json()["fields"][
            "status"
        ]["name"]
        == "Done"
    )
    assert (
        cloud.post(
            f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "999"}}
        ).status_code
        == 400
    )


def test_properties_round_trip_and_refuse_over_32kb(cloud):
    created = cloud.post(
        "/rest/api/3/issue",
        json={
            "fields": issue_fields(),
            "properties": [{"key": "anomaly-desk", "value": {"anomaly_id": 7}}],
        },
    ).json()
    path = f"/rest/api/3/issue/{created['key']}/properties/anomaly-desk"
    assert cloud.get(path).json() == {"key": "anomaly-desk", "value": {"anomaly_id": 7}}
    assert cloud.put(path, json={"anomaly_id": 8}).status_code == 200
    assert cloud.get(path).json()["value"] == {"anomaly_id": 8}
    assert cloud.put(path, json={"blob": "x" * 33000}).status_code == 400
    assert cloud.get(f"/rest/api/3/issue/{created['key']}/properties/missing").status_code == 404


TEXTAREA = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"


def test_create_screen_has_due_date_components_environment_and_a_textarea(cloud):
    fields = cloud.get("/rest/api/3/issue/createmeta/DQ/issuetypes/10001").json()["fields"]
    by_id = {f["fieldId"]: f for f in fields}
    assert by_id["duedate"]["schema"] == {"type": "date", "system": "duedate"}
    assert by_id["environment"]["schema"] == {"type": "string", "system": "environment"}
    assert [c["name"] for c in by_id["components"]["allowedValues"]] == ["Pipelines", "Warehouse"]
    assert by_id["customfield_10050"]["schema"]["custom"] == TEXTAREA


def test_due_date_components_environment_and_textarea_round_trip_as_adf(cloud):
    created = cloud.create(
        duedate="2026-03-31",
        components=[{"name": "Warehouse"}, {"id": "10100"}],
        environment=adf("Prod EU"),
        customfield_10050=adf("The disk filled up"),
        customfield_10051=1200,
    )
    fields = cloud.get(f"/rest/api/3/issue/{created['key']}").json()["fields"]
    assert fields["duedate"] == "2026-03-31"
    assert [c["name"] for c in fields["components"]] == ["Warehouse", "Pipelines"]
    assert fields["environment"] == adf("Prod EU")
    assert fields["customfield_10050"] == adf("The disk filled up")
    assert fields["customfield_10051"] == 1200
    edited = cloud.put(
        f"/rest/api/3/issue/{created['key']}", json={"fields": {"environment": adf("Staging")}}
    )
    assert edited.status_code == 204
    fields = cloud.get(f"/rest/api/3/issue/{created['key']}").json()["fields"]
    assert fields["environment"] == adf("Staging") and fields["duedate"] == "2026-03-31"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"environment": "Prod EU"},
            "environment",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            {"customfield_10050": "The disk filled up"},
            "customfield_10050",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        ({"duedate": "2026-13-01"}, "duedate", "Error parsing date string: 2026-13-01"),
        ({"components": [{"name": "Infra"}]}, "components", "Component name 'Infra' is not valid"),
        ({"customfield_10051": "many"}, "customfield_10051", "Operation value must be a number"),
    ],
)
def test_create_refuses_wrong_shapes_of_the_new_fields(cloud, fields, field, message):
    response = cloud.post("/rest/api/3/issue", json={"fields": {**issue_fields(), **fields}})
    assert response.status_code == 400
    assert response.json()["errors"] == {field: message}
