"""The sandbox's workflow over HTTP: transition screens, resolutions, refusals, both flavours."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.conftest import TIMEOUT, issue_fields

# openapi-core warns about security schemes it cannot check on unauthenticated requests.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")


def workflow(base_url: str, **rules) -> dict:
    response = requests.post(base_url + "/_sandbox/workflow", json=rules, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def offered(caller, key: str, expand: bool = True) -> list[dict]:
    params = {"expand": "transitions.fields"} if expand else {}
    return caller.get(f"/rest/api/3/issue/{key}/transitions", params=params).json()["transitions"]


def status_and_resolution(caller, key: str) -> tuple[str, str | None, dict | None]:
    fields = caller.get(f"/rest/api/3/issue/{key}", params={"fields": "status,resolution"}).json()[
        "fields"
    ]
    return fields["status"]["name"], fields["status"]["statusCategory"]["key"], fields["resolution"]


def test_cloud_done_screen_offers_resolutions_and_the_chosen_one_is_set(cloud):
    key = cloud.create()["key"]
    transitions = {t["to"]["statusCategory"]["key"]: t for t in offered(cloud, key)}
    done = transitions["done"]
    assert done["hasScreen"] is True and transitions["indeterminate"]["fields"] == {}
    field = done["fields"]["resolution"]
    assert field["key"] == "resolution" and field["required"] is False
    names = {v["name"]: v["id"] for v in field["allowedValues"]}
    assert "Fixed" not in names and {"Done", "Won't Do", "Duplicate"} <= set(names)
    moved = cloud.post(
        f"/rest/api/3/issue/{key}/transitions",
        json={
            "transition": {"id": done["id"]},
            "fields": {"resolution": {"id": names["Duplicate"]}},
        },
    )
    assert moved.status_code == 204, moved.text
    status, category, resolution = status_and_resolution(cloud, key)
    assert (status, category, resolution["name"]) == ("Done", "done", "Duplicate")
    # Out of Done: the resolution is cleared, as Jira's default workflow does.
    back = next(
        t for t in offered(cloud, key) if t["to"]["statusCategory"]["key"] == "indeterminate"
    )
    assert (
        cloud.post(
            f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": back["id"]}}
        ).status_code
        == 204
    )
    assert status_and_resolution(cloud, key) == ("In Progress", "indeterminate", None)


def test_cloud_without_expand_lists_no_fields(cloud):
    key = cloud.create()["key"]
    assert all("fields" not in t for t in offered(cloud, key, expand=False))


def test_resolution_off_the_screen_or_unknown_is_refused(cloud):
    key = cloud.create()["key"]
    path = f"/rest/api/3/issue/{key}/transitions"
    wrong = cloud.post(
        path, json={"transition": {"id": "21"}, "fields": {"resolution": {"id": "10000"}}}
    )
    assert wrong.status_code == 400 and "resolution" in wrong.json()["errors"]
    unknown = cloud.post(
        path, json={"transition": {"id": "31"}, "fields": {"resolution": {"id": "1"}}}
    )
    assert unknown.status_code == 400 and "resolution" in unknown.json()["errors"]
    assert status_and_resolution(cloud, key)[0] == "To Do"


@pytest.mark.parametrize("status", [400, 409])
def test_a_refusing_workflow_answers_its_error_and_changes_nothing(cloud, status):
    key = cloud.create()["key"]
    rules = workflow(cloud.base_url, refuse=True, status=status, message="Needs a fix version")
    assert rules["refuse"] is True and rules["refuse_status"] == status
    refused = cloud.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert refused.status_code == status
    assert refused.json()["errorMessages"] == ["Needs a fix version"]
    assert status_and_resolution(cloud, key)[0] == "To Do"
    workflow(cloud.base_url)  # back to the open workflow
    assert (
        cloud.post(
            f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}}
        ).status_code
        == 204
    )


def test_refusal_for_some_keys_only_and_hidden_categories(cloud):
    first, second = cloud.create()["key"], cloud.create()["key"]
    workflow(cloud.base_url, refuse=True, keys=[second.lower()])
    assert (
        cloud.post(
            f"/rest/api/3/issue/{first}/transitions", json={"transition": {"id": "31"}}
        ).status_code
        == 204
    )
    assert (
        cloud.post(
            f"/rest/api/3/issue/{second}/transitions", json={"transition": {"id": "31"}}
        ).status_code
        == 400
    )
    workflow(cloud.base_url, hidden_categories=["done"])
    key = cloud.create()["key"]
    assert {t["to"]["statusCategory"]["key"] for t in offered(cloud, key)} == {"indeterminate"}
    hidden = cloud.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert hidden.status_code == 400


def test_workflow_rules_are_checked_and_reset(cloud):
    bad = requests.post(
        cloud.base_url + "/_sandbox/workflow", json={"refuse": True, "status": 500}, timeout=TIMEOUT
    )
    assert bad.status_code == 400
    assert (
        requests.post(
            cloud.base_url + "/_sandbox/workflow", json={"nope": 1}, timeout=TIMEOUT
        ).status_code
        == 400
    )
    workflow(cloud.base_url, refuse=True)
    requests.post(cloud.base_url + "/_sandbox/reset", timeout=TIMEOUT).raise_for_status()
    assert (
        requests.get(cloud.base_url + "/_sandbox/workflow", timeout=TIMEOUT).json()["refuse"]
        is False
    )


def test_dc_done_screen_names_the_field_by_field_id_and_offers_fixed(dc):
    created = dc.post(
        dc.base_url + "/rest/api/2/issue", json={"fields": issue_fields()}, timeout=TIMEOUT
    )
    key = created.json()["key"]
    listed = dc.get(
        dc.base_url + f"/rest/api/2/issue/{key}/transitions",
        params={"expand": "transitions.fields"},
        timeout=TIMEOUT,
    ).json()["transitions"]
    done = next(t for t in listed if t["to"]["statusCategory"]["key"] == "done")
    field = done["fields"]["resolution"]
    assert field["fieldId"] == "resolution" and "key" not in field
    fixed = next(v for v in field["allowedValues"] if v["name"] == "Fixed")
    moved = dc.post(
        dc.base_url + f"/rest/api/2/issue/{key}/transitions",
        json={"transition": {"id": done["id"]}, "fields": {"resolution": {"id": fixed["id"]}}},
        timeout=TIMEOUT,
    )
    assert moved.status_code == 204, moved.text
    fields = dc.get(
        dc.base_url + f"/rest/api/2/issue/{key}", params={"fields": "resolution"}, timeout=TIMEOUT
    ).json()["fields"]
    assert fields["resolution"]["name"] == "Fixed"
