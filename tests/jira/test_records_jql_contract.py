"""Pure parsers on JSON fixtures, the JQL helpers, and proof that the contract checks bite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from openapi_core.validation.request.exceptions import RequestValidationError

from lib.jira import jql_quote, looks_like_issue_key
from lib.jira import records as r
from tests.jira.conftest import CLOUD_URL, DC_URL, check_cloud_contract, check_dc_contract, fixture

# openapi-core warns about security schemes it cannot check on unauthenticated requests.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")


def browse(key: str) -> str:
    return f"https://jira/browse/{key}"


def test_parse_issue_both_shapes():
    cloud = r.parse_issue(fixture("cloud_issue"), browse)
    assert cloud == r.Issue(
        "10042",
        "DQ-42",
        "Null rate spike in orders.amount",
        "In Progress",
        "indeterminate",
        "Medium",
        datetime(2021, 1, 17, 12, 34, tzinfo=UTC),
        ("anomaly-desk-42", "data-quality"),
        "https://jira/browse/DQ-42",
    )
    dc = r.parse_issue(fixture("dc_issue"), browse)
    assert dc.updated.utcoffset() == timedelta(hours=2) and dc.labels == ()
    bare = r.parse_issue({"id": "1", "key": "A-1"}, browse)  # Cloud search without fields
    assert (bare.summary, bare.status_name, bare.updated, bare.labels) == (None, None, None, ())


def test_parse_datetimes():
    assert r.parse_jira_datetime("2021-01-17T12:34:00.000+0000") == datetime(
        2021, 1, 17, 12, 34, tzinfo=UTC
    )
    assert r.parse_jira_datetime("2021-01-17T12:34:00+0100").utcoffset() == timedelta(hours=1)
    assert r.parse_jira_datetime("2021-01-17T12:34:00.000Z").tzinfo is not None
    assert r.parse_jira_datetime("yesterday") is None and r.parse_jira_datetime(None) is None


def test_parse_createmeta_both_shapes():
    cloud = [r.parse_field_meta(f) for f in fixture("cloud_fields")["fields"]]
    dc = [r.parse_field_meta(f) for f in fixture("dc_fields")["values"]]
    assert [f.field_id for f in cloud] == [f.field_id for f in dc] == ["summary", "priority"]
    assert cloud[1].allowed_values[0] == r.AllowedValue("1", "Highest")
    types = [r.parse_issue_type(t) for t in fixture("cloud_issue_types")["issueTypes"]]
    assert [(t.name, t.subtask) for t in types] == [("Bug", False), ("Sub-task", True)]


def test_parse_bulk_positions():
    items = r.parse_bulk(fixture("bulk_partial"), 3, offset=100)
    assert [i.index for i in items] == [100, 101, 102]
    assert [i.created.key if i.created else None for i in items] == ["DQ-50", None, "DQ-51"]
    assert items[1].error.status == 400


def test_parse_picker_and_comments_and_transitions():
    picked = r.parse_picker(fixture("picker"))
    assert [p.id for p in picked] == ["10042", "10043"] and all(
        isinstance(p.id, str) for p in picked
    )
    assert r.parse_picker({}) == []
    comment = r.parse_comment(fixture("dc_comments")["comments"][0])
    assert comment.author == "Anomaly Bot" and comment.body_text == "Row count dropped *40%*"
    assert r.parse_transition(fixture("transitions")["transitions"][0]).to_status == "Done"
    assert r.parse_myself(fixture("cloud_myself")).account_id.startswith("5b10")


@pytest.mark.parametrize(
    "text,quoted",
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("a\nb\tc\rd", '"a\\nb\\tc\\rd"'),
        ("bell\x07", '"bell"'),
        ('x" OR project = SECRET OR "', '"x\\" OR project = SECRET OR \\""'),
        ("", '""'),
    ],
)
def test_jql_quote(text, quoted):
    assert jql_quote(text) == quoted


def test_jql_quote_never_ends_early():
    for text in ['"', '\\"', "\\", "a\\", '\\\\"', '"\\']:
        inner = jql_quote(text)[1:-1]
        unescaped = inner.replace("\\\\", "").replace('\\"', "")
        assert '"' not in unescaped


@pytest.mark.parametrize(
    "text,ok",
    [
        ("DQ-42", True),
        ("dq-42", True),
        (" AB_1-7 ", True),
        ("DQ-0", False),
        ("42", False),
        ("DQ 42", False),
        ("-42", False),
        ("DQ-", False),
        ("1DQ-4", False),
    ],
)
def test_looks_like_issue_key(text, ok):
    assert looks_like_issue_key(text) is ok


# ---------------------------------------------------------------- the checks can fail
class _Call:
    def __init__(self, request, response=None):
        self.request, self.response = request, response


def test_cloud_contract_rejects_start_at_in_search_jql(openapi_for):
    bad = requests.Request(
        "POST", f"{CLOUD_URL}/rest/api/3/search/jql", json={"jql": "project = DQ", "startAt": 0}
    ).prepare()
    with pytest.raises(RequestValidationError):
        check_cloud_contract([_Call(bad)], openapi_for(CLOUD_URL))


def test_cloud_contract_rejects_v2_paths(openapi_for):
    bad = requests.Request("GET", f"{CLOUD_URL}/rest/api/2/myself").prepare()
    with pytest.raises(Exception):
        check_cloud_contract([_Call(bad)], openapi_for(CLOUD_URL))


def test_cloud_contract_rejects_string_picker_ids(openapi_for):
    req = requests.Request(
        "GET", f"{CLOUD_URL}/rest/api/3/issue/picker", params={"query": "x"}
    ).prepare()
    resp = requests.Response()
    resp.status_code, resp.url, resp.request = 200, req.url, req
    resp.headers["Content-Type"] = "application/json"
    body = fixture("picker")
    body["sections"][0]["issues"][0]["id"] = "10042"
    resp._content = __import__("json").dumps(body).encode()
    with pytest.raises(Exception, match="10042"):
        check_cloud_contract([_Call(req, resp)], openapi_for(CLOUD_URL))


@pytest.mark.parametrize(
    "url",
    [
        f"{DC_URL}/rest/api/2/search/jql",  # a Cloud-only endpoint
        f"{DC_URL}/rest/api/2/issue/DQ-1?bogus=1",  # unknown query parameter
        "https://jira.example.com/rest/api/2/myself",  # context path lost
    ],
)
def test_dc_contract_rejects_unknown_paths_and_params(url, dc_wadl):
    bad = requests.Request("GET", url).prepare()
    with pytest.raises(AssertionError):
        check_dc_contract([_Call(bad)], dc_wadl, DC_URL)


def test_dc_contract_accepts_known_calls(dc_wadl):
    good = requests.Request(
        "GET", f"{DC_URL}/rest/api/2/issue/DQ-1", params={"fields": "summary"}
    ).prepare()
    assert check_dc_contract([_Call(good)], dc_wadl, DC_URL) == 1
