"""Every client operation on both flavours, over ``responses`` (contract-checked in conftest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from lib.jira import (
    BasicAuth,
    Doc,
    Flavour,
    JiraClient,
    JiraError,
    NotFound,
    Paragraph,
    Text,
    detect_flavour,
)
from lib.jira.client import BULK_CHUNK
from tests.jira.conftest import CLOUD_URL, DC_URL, fixture


def body_of(call) -> dict:
    return json.loads(call.request.body)


# ---------------------------------------------------------------- construction
def test_urls_keep_context_path_and_default_prefix(cloud, dc):
    assert cloud.url("/myself") == "https://acme.atlassian.net/rest/api/3/myself"
    assert dc.url("/myself") == "https://jira.example.com/ctx/rest/api/2/myself"
    sandbox = JiraClient("http://127.0.0.1:8501/sandbox/", None, flavour=Flavour.CLOUD)
    assert sandbox.url("/issue") == "http://127.0.0.1:8501/sandbox/rest/api/3/issue"
    custom = JiraClient(
        "https://h/jira", None, flavour=Flavour.DATA_CENTER, api_prefix="/api/rest/api/2/"
    )
    assert custom.url("/myself") == "https://h/jira/api/rest/api/2/myself"
    assert dc.browse_url("DQ-1") == "https://jira.example.com/ctx/browse/DQ-1"


def test_verify_false_is_refused_and_trust_env_false_bypasses_proxies():
    with pytest.raises(ValueError, match="CA bundle"):
        JiraClient(CLOUD_URL, None, flavour=Flavour.CLOUD, verify=False)
    client = JiraClient(
        CLOUD_URL, None, flavour=Flavour.CLOUD, trust_env=False, verify="/etc/ca.pem"
    )
    assert client._session.trust_env is False


def test_sandbox_context_path_passes_the_cloud_contract(mocked, sleeps, openapi_for):
    from tests.jira.conftest import check_cloud_contract, make_client

    base = "http://127.0.0.1:8501/sandbox"
    client = make_client(Flavour.CLOUD, base, sleeps)
    mocked.get(f"{base}/rest/api/3/myself", json=fixture("cloud_myself"))
    assert client.myself().account_id == "5b10a2844c20165700ede21g"
    assert check_cloud_contract(mocked.calls, openapi_for(base)) == 1


def test_detect_flavour_by_host_and_server_info(mocked):
    assert detect_flavour("https://acme.atlassian.net") is Flavour.CLOUD
    mocked.get(f"{DC_URL}/rest/api/2/serverInfo", json=fixture("dc_server_info"))
    assert detect_flavour(DC_URL) is Flavour.DATA_CENTER
    mocked.get("https://jira.acme.com/rest/api/2/serverInfo", json=fixture("cloud_server_info"))
    assert detect_flavour("https://jira.acme.com") is Flavour.CLOUD  # custom domain on Cloud


# ---------------------------------------------------------------- reads
def test_myself_and_server_info(cloud, dc, mocked):
    mocked.get(cloud.url("/myself"), json=fixture("cloud_myself"))
    mocked.get(cloud.url("/serverInfo"), json=fixture("cloud_server_info"))
    mocked.get(dc.url("/myself"), json=fixture("dc_myself"))
    mocked.get(dc.url("/serverInfo"), json=fixture("dc_server_info"))
    assert cloud.myself().display_name == "Anomaly Bot"
    assert cloud.server_info().deployment_type == "Cloud"
    assert dc.myself().name == "bot"
    assert dc.server_info().version == "10.3.2"


def test_auth_headers_per_flavour(cloud, dc, mocked):
    mocked.get(cloud.url("/myself"), json=fixture("cloud_myself"))
    mocked.get(dc.url("/myself"), json=fixture("dc_myself"))
    cloud.myself()
    dc.myself()
    assert mocked.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert mocked.calls[1].request.headers["Authorization"].startswith("Bearer ")


def test_projects_cloud_paged(cloud, mocked):
    url = cloud.url("/project/search")
    mocked.get(
        url,
        json=fixture("cloud_project_page_1"),
        match=[matchers.query_param_matcher({"startAt": "0", "maxResults": "50"})],
    )
    mocked.get(
        url,
        json=fixture("cloud_project_page_2"),
        match=[matchers.query_param_matcher({"startAt": "2", "maxResults": "50"})],
    )
    assert [p.key for p in cloud.projects()] == ["DQ", "OPS", "WEB"]


def test_projects_cloud_404_is_empty(cloud, mocked):
    mocked.get(
        cloud.url("/project/search"),
        status=404,
        json={"errorMessages": ["No projects found"], "errors": {}},
    )
    assert list(cloud.projects()) == []


def test_projects_dc(dc, mocked):
    mocked.get(dc.url("/project"), json=fixture("dc_projects"))
    assert [(p.id, p.key, p.name) for p in dc.projects()] == [("10000", "DQ", "Data Quality")]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_issue_types_and_fields(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    mocked.get(
        client.url("/issue/createmeta/DQ/issuetypes"), json=fixture(f"{flavour}_issue_types")
    )
    type_id = client.issue_types("DQ")[0].id
    mocked.get(
        client.url(f"/issue/createmeta/DQ/issuetypes/{type_id}"), json=fixture(f"{flavour}_fields")
    )
    fields = {f.field_id: f for f in client.fields_for_issue_type("DQ", type_id)}
    assert fields["summary"].required and fields["summary"].schema_type == "string"
    assert len(fields["priority"].allowed_values) == 2
    assert client.priorities("DQ", type_id) == (
        ["Highest", "Medium"] if flavour == "cloud" else ["High", "Low"]
    )


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_priorities_fallbacks(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    fields = fixture(f"{flavour}_fields")
    listing = fields["fields" if flavour == "cloud" else "values"]
    del listing[1]["allowedValues"]
    url = client.url("/issue/createmeta/DQ/issuetypes/1")
    mocked.get(url, json=fields)
    if flavour == "cloud":
        mocked.get(client.url("/priority/search"), json=fixture("priority_search"))
        assert client.priorities("DQ", "1") == ["Medium"]
    else:
        mocked.get(client.url("/priority"), json=fixture("dc_priorities"))
        assert client.priorities("DQ", "1") == ["High"]
    # Without a priority field on the create screen no priority may be sent.
    del listing[1]
    mocked.replace(responses.GET, url, json=fields)
    assert client.priorities("DQ", "1") == []


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_get_issue(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    mocked.get(
        client.url("/issue/DQ-42"),
        json=fixture(f"{flavour}_issue"),
        match=[matchers.query_param_matcher({"fields": "summary,status,priority,updated,labels"})],
    )
    issue = client.get_issue("DQ-42")
    assert issue.key == "DQ-42" and issue.browse_url == client.browse_url("DQ-42")
    if flavour == "cloud":
        assert (issue.status_name, issue.status_category, issue.priority_name) == (
            "In Progress",
            "indeterminate",
            "Medium",
        )
        assert issue.updated == datetime(2021, 1, 17, 12, 34, tzinfo=UTC)
        assert issue.labels == ("anomaly-desk-42", "data-quality")
    else:
        assert issue.status_category == "done" and issue.id == "20042"


def test_issue_key_is_one_path_segment(dc, mocked):
    mocked.get(dc.url("/issue/..%2Fmyself%3Fx%3D1"), status=404)
    with pytest.raises(NotFound):
        dc.get_issue("../myself?x=1")


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_comments_list_and_add(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    url = client.url("/issue/DQ-42/comment")
    if flavour == "cloud":
        mocked.get(
            url,
            json=fixture("cloud_comments_page_1"),
            match=[
                matchers.query_param_matcher(
                    {"orderBy": "created", "startAt": "0", "maxResults": "50"}
                )
            ],
        )
        mocked.get(
            url,
            json=fixture("cloud_comments_page_2"),
            match=[
                matchers.query_param_matcher(
                    {"orderBy": "created", "startAt": "1", "maxResults": "50"}
                )
            ],
        )
        texts = [c.body_text for c in client.comments("DQ-42")]
        assert texts == ["Row count dropped 40%\nsee dashboard\n- orders", "Fixed upstream."]
    else:
        mocked.get(url, json=fixture("dc_comments"))
        assert [c.body_text for c in client.comments("DQ-42")] == ["Row count dropped *40%*"]
    mocked.post(url, status=201, json=fixture(f"{flavour}_comment_created"))
    comment = client.add_comment("DQ-42", "Hello")
    assert comment.body_text == "Hello" and comment.created is not None
    sent = body_of(mocked.calls[-1])["body"]
    assert sent == (
        {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}],
        }
        if flavour == "cloud"
        else "Hello"
    )


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_create_issue_renders_description_per_flavour(flavour, request, mocked, adf_validator):
    client = request.getfixturevalue(flavour)
    mocked.post(client.url("/issue"), status=201, json=fixture("created"))
    doc = Doc((Paragraph((Text("Anomaly "), Text("{code}", code=True))),))
    created = client.create_issue(
        {
            "project": {"key": "DQ"},
            "issuetype": {"name": "Bug"},
            "summary": "x" * 300,
            "description": doc,
            "labels": ["anomaly-desk-42"],
        },
        properties={"anomaly-desk": {"anomaly_id": 42}},
    )
    assert (created.id, created.key) == ("10042", "DQ-42")
    sent = body_of(mocked.calls[0])
    assert len(sent["fields"]["summary"]) == 255 and sent["fields"]["summary"].endswith(
        "[truncated]"
    )
    assert sent["properties"] == [{"key": "anomaly-desk", "value": {"anomaly_id": 42}}]
    if flavour == "cloud":
        adf_validator.validate(sent["fields"]["description"])
    else:
        assert sent["fields"]["description"] == "Anomaly {{\\{code\\}}}"


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_bulk_create_maps_each_element_to_its_issue_or_its_refusal(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    url = client.url("/issue/bulk")
    mocked.post(url, status=201, json=fixture("bulk_partial"))  # 3 items: #1 refused
    items = [({"project": {"key": "DQ"}, "issuetype": {"name": "Bug"}, "summary": f"s{n}"}, None)
             for n in range(3)]  # fmt: skip
    first, refused, last = client.create_issues_bulk(items)
    assert [len(body_of(c)["issueUpdates"]) for c in mocked.calls] == [3]
    assert (first.key, last.key) == ("DQ-50", "DQ-51")
    assert isinstance(refused, JiraError) and refused.field_errors == {
        "priority": "Priority name 'Urgent' is not valid"
    }


def test_bulk_create_refusals_a_lost_answer_and_the_size_limit(cloud, mocked):
    url = cloud.url("/issue/bulk")
    mocked.post(url, status=400, json=fixture("bulk_all_failed"))
    [refused] = cloud.create_issues_bulk([({"summary": "a"}, None)])
    assert isinstance(refused, JiraError) and "Summary is required." in str(refused)
    mocked.replace(responses.POST, url, body=requests.ConnectionError("reset"))
    with pytest.raises(JiraError):  # the call as a whole: the caller looks for each by label
        cloud.create_issues_bulk([({"summary": str(n)}, None) for n in range(BULK_CHUNK)])
    assert len([c for c in mocked.calls if c.request.url == url]) == 2  # a lost POST is not re-sent
    with pytest.raises(ValueError):
        cloud.create_issues_bulk([({"summary": str(n)}, None) for n in range(BULK_CHUNK + 1)])


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_edit_issue_204_without_body(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    mocked.put(client.url("/issue/DQ-42"), status=204)
    assert client.edit_issue("DQ-42", {"summary": "new", "labels": ["a"]}) is None
    assert body_of(mocked.calls[0]) == {"fields": {"summary": "new", "labels": ["a"]}}


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_issue_picker_ids_as_strings(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    mocked.get(
        client.url("/issue/picker"),
        json=fixture("picker"),
        match=[matchers.query_param_matcher({"query": "rate", "currentJQL": 'project = "DQ"'})],
    )
    found = client.issue_picker("rate", current_jql='project = "DQ"')
    assert [(p.key, p.summary_text, p.id) for p in found] == [
        ("DQ-42", "Null rate spike", "10042"),
        ("DQ-43", "Late rate load", "10043"),
    ]


def test_search_cloud_uses_search_jql_tokens(cloud, mocked):
    url = cloud.url("/search/jql")
    mocked.post(
        url,
        json=fixture("cloud_search_page_1"),
        match=[
            matchers.json_params_matcher(
                {"jql": "project = DQ", "fields": ["summary", "labels"], "maxResults": 100}
            )
        ],
    )
    mocked.post(
        url,
        json=fixture("cloud_search_page_2"),
        match=[
            matchers.json_params_matcher(
                {
                    "jql": "project = DQ",
                    "fields": ["summary", "labels"],
                    "maxResults": 100,
                    "nextPageToken": "CAEaAggD",
                }
            )
        ],
    )
    assert [i.key for i in cloud.search("project = DQ", fields=["summary", "labels"])] == [
        "DQ-42",
        "DQ-43",
    ]
    assert all("startAt" not in body_of(c) for c in mocked.calls)


def test_search_dc_uses_start_at(dc, mocked):
    url = dc.url("/search")
    mocked.post(
        url,
        json=fixture("dc_search_page_1"),
        match=[
            matchers.json_params_matcher(
                {"jql": "project = DQ", "fields": ["summary"], "startAt": 0, "maxResults": 100}
            )
        ],
    )
    mocked.post(
        url,
        json=fixture("dc_search_page_2"),
        match=[
            matchers.json_params_matcher(
                {"jql": "project = DQ", "fields": ["summary"], "startAt": 1, "maxResults": 100}
            )
        ],
    )
    assert [i.key for i in dc.search("project = DQ", fields=["summary"])] == ["DQ-42", "DQ-43"]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_find_issues_by_label(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    path = "/search/jql" if flavour == "cloud" else "/search"
    page = fixture("cloud_search_page_2" if flavour == "cloud" else "dc_search_page_2")
    page.pop("startAt", None)
    page["total"] = 1 if flavour == "dc" else None
    if flavour == "cloud":
        page.pop("total")
    mocked.post(client.url(path), json=page)
    assert [i.key for i in client.find_issues_by_label("anomaly-desk-42", project="DQ")] == [
        "DQ-43"
    ]
    assert (
        body_of(mocked.calls[0])["jql"]
        == 'project = "DQ" AND labels = "anomaly-desk-42" ORDER BY created ASC'
    )
    with pytest.raises(ValueError):
        client.find_issues_by_label("has space")


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_transitions_list_and_do(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    url = client.url("/issue/DQ-42/transitions")
    mocked.get(url, json=fixture("transitions"))
    mocked.post(url, status=204)
    assert [(t.id, t.to_category) for t in client.transitions("DQ-42")] == [("31", "done")]
    assert client.do_transition("DQ-42", "31") is None
    assert body_of(mocked.calls[1]) == {"transition": {"id": "31"}}


def test_transitions_empty_without_permission(cloud, mocked):
    mocked.get(cloud.url("/issue/DQ-42/transitions"), json={"transitions": []})
    assert cloud.transitions("DQ-42") == []


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_issue_properties(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    url = client.url("/issue/DQ-42/properties/anomaly-desk")
    mocked.put(url, status=200, json={})
    mocked.get(url, json=fixture("property"))
    client.set_property("DQ-42", "anomaly-desk", {"anomaly_id": 42, "fingerprint": "abc"})
    assert body_of(mocked.calls[0]) == {"anomaly_id": 42, "fingerprint": "abc"}
    assert client.get_property("DQ-42", "anomaly-desk") == {"anomaly_id": 42, "fingerprint": "abc"}
    with pytest.raises(ValueError, match="32768"):
        client.set_property("DQ-42", "anomaly-desk", "x" * 40_000)


def test_near_limit_header_is_kept(cloud, mocked):
    mocked.get(
        cloud.url("/myself"),
        json=fixture("cloud_myself"),
        headers={"X-RateLimit-NearLimit": "true"},
    )
    cloud.myself()
    assert cloud.near_limit is True
    mocked.replace(responses.GET, cloud.url("/myself"), json=fixture("cloud_myself"))
    cloud.myself()
    assert cloud.near_limit is False


def test_timeout_is_sent_on_every_call(mocked):
    seen = []

    class Session:
        def request(self, method, url, **kw):
            seen.append(kw["timeout"])
            raise __import__("requests").Timeout("slow")

    client = JiraClient(
        CLOUD_URL,
        BasicAuth("a", "b"),
        flavour=Flavour.CLOUD,
        session=Session(),
        timeout=7.5,
        sleep=lambda s: None,
    )
    with pytest.raises(Exception):
        client.myself()
    assert seen and set(seen) == {7.5}
