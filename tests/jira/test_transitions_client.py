"""get_transitions / do_transition on both flavours, contract-checked (conftest) against the spec."""

from __future__ import annotations

import json

import pytest
import requests
from responses import matchers

from lib.jira import BadRequest, Conflict
from lib.jira import records as r
from tests.jira.conftest import CLOUD_URL, check_cloud_contract

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")


def screen(version_key: str) -> dict:
    """A Done transition with the resolution field, as each flavour names it."""
    return {
        "expand": "transitions",
        "transitions": [
            {
                "id": "31",
                "name": "Done",
                "hasScreen": True,
                "to": {
                    "id": "10001",
                    "name": "Done",
                    "statusCategory": {"id": 3, "key": "done", "name": "Done"},
                },
                "fields": {
                    "resolution": {
                        version_key: "resolution",
                        "required": True,
                        "name": "Resolution",
                        "schema": {"type": "resolution", "system": "resolution"},
                        "operations": ["set"],
                        "hasDefaultValue": False,
                        "allowedValues": [
                            {"id": "10000", "name": "Done"},
                            {"id": "10001", "name": "Won't Do"},
                        ],
                    }
                },
            },
            {
                "id": "21",
                "name": "Start",
                "hasScreen": False,
                "to": {
                    "id": "3",
                    "name": "In Progress",
                    "statusCategory": {"id": 4, "key": "indeterminate"},
                },
            },
        ],
    }


@pytest.mark.parametrize(("flavour", "version_key"), [("cloud", "key"), ("dc", "fieldId")])
def test_get_transitions_asks_for_the_screen_fields_and_parses_them(
    flavour, version_key, request, mocked
):
    client = request.getfixturevalue(flavour)
    mocked.get(
        client.url("/issue/DQ-42/transitions"),
        json=screen(version_key),
        match=[matchers.query_param_matcher({"expand": "transitions.fields"})],
    )
    done, start = client.get_transitions("DQ-42")
    assert (done.id, done.to_category, start.to_category) == ("31", "done", "indeterminate")
    field = done.field("resolution")
    assert field is not None and field.required
    assert [(v.id, v.name) for v in field.allowed_values] == [
        ("10000", "Done"),
        ("10001", "Won't Do"),
    ]
    assert start.fields == () and start.field("resolution") is None


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_do_transition_sends_the_screen_fields(flavour, request, mocked):
    client = request.getfixturevalue(flavour)
    mocked.post(client.url("/issue/DQ-42/transitions"), status=204)
    client.do_transition("DQ-42", "31", {"resolution": {"id": "10000"}})
    client.do_transition("DQ-42", 21)
    bodies = [json.loads(c.request.body) for c in mocked.calls]
    assert bodies == [
        {"transition": {"id": "31"}, "fields": {"resolution": {"id": "10000"}}},
        {"transition": {"id": "21"}},
    ]


@pytest.mark.parametrize(("status", "error"), [(400, BadRequest), (409, Conflict)])
def test_a_refused_transition_raises_its_error(cloud, mocked, status, error):
    mocked.post(
        cloud.url("/issue/DQ-42/transitions"),
        status=status,
        json={"errorMessages": ["Needs a fix version"], "errors": {}},
    )
    with pytest.raises(error, match="Needs a fix version") as raised:
        cloud.do_transition("DQ-42", "31")
    assert raised.value.detail == "Needs a fix version"  # Jira's words alone


def test_the_cloud_contract_refuses_a_transition_without_its_id(openapi_for):
    """The check the fixtures run on every call bites on a malformed transition body."""
    bad = requests.Request(
        "POST", f"{CLOUD_URL}/rest/api/3/issue/DQ-1/transitions", json={"transition": "31"}
    ).prepare()

    class Call:
        request, response = bad, None

    with pytest.raises(Exception):
        check_cloud_contract([Call()], openapi_for(CLOUD_URL))


def test_parse_transition_without_fields_keeps_an_empty_screen():
    parsed = r.parse_transition({"id": "11", "name": "To Do", "to": {"name": "To Do"}})
    assert parsed == r.Transition("11", "To Do", "To Do", None)
