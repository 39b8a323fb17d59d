"""Environment and textarea custom fields reach Jira as rich text, from every producer.

Each producer (the New ticket dialog's form, the Tickets page's table, the
automation command) gives a ``Doc`` for a rich-text field; the real client
sends it to the sandbox over HTTP as ADF on Cloud (v3) and as a wiki string
on Data Center (v2). Cloud requests are checked against Atlassian's OpenAPI
document and every ADF value against the ADF schema (both from jira-spec/:
these tests fail, never skip, when it is missing).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from lib.jira import BasicAuth, BearerAuth, Doc, Flavour, JiraClient, RetryPolicy
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.tickets.automation_command import fields_lookup, parse_command
from lib.tickets.create_form import createmeta_lookup, input_kind, jira_value, rich_text_fields
from lib.tickets.field_table import FieldRow, rows_to_fields, rows_to_payload
from tests.jira.conftest import check_dc_contract

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")
TEXTAREA_ID = "customfield_10050"  # the sandbox's "Root cause" (schema.custom textarea)
BASE = {"project": {"key": "DQ"}, "issuetype": {"id": "10001"}, "summary": "Disk full"}


class RecordingSession(requests.Session):
    """A session that keeps every request it sent, to check what went out."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def both():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


@pytest.fixture(params=[Flavour.CLOUD, Flavour.DATA_CENTER], ids=["cloud", "dc"])
def client(request, both, openapi_for, dc_wadl):
    """A client over HTTP; afterwards every request it sent is checked against the spec."""
    requests.post(both.base_url + "/_sandbox/reset", timeout=5).raise_for_status()
    auth = (
        BasicAuth("demo@anomaly-desk.example", "sandbox-api-token")
        if request.param is Flavour.CLOUD
        else BearerAuth("sandbox-pat")
    )
    made = JiraClient(
        both.base_url,
        auth,
        flavour=request.param,
        session=RecordingSession(),
        retry_policy=RetryPolicy(max_attempts=1),
    )
    yield made
    sent = made._session.sent
    assert sent
    if made.cloud:
        api = openapi_for(both.base_url)
        for prepared in sent:
            api.validate_request(RequestsOpenAPIRequest(prepared))
    else:
        calls = [SimpleNamespace(request=prepared) for prepared in sent]
        assert check_dc_contract(calls, dc_wadl, both.base_url) == len(sent)


def _metas(client: JiraClient) -> dict:
    return {f.field_id: f for f in client.fields_for_issue_type("DQ", "10001")}


def _from_form(metas: dict) -> dict:
    assert input_kind(metas["environment"]) == input_kind(metas[TEXTAREA_ID]) == "rich_text"
    return {
        "environment": jira_value(
            metas["environment"], "Prod EU, see https://desk.test/?anomaly=9"
        ),
        TEXTAREA_ID: jira_value(metas[TEXTAREA_ID], "The disk filled up"),
    }


def _from_table(metas: dict) -> dict:
    rows = [
        FieldRow("environment", "Prod EU, see https://desk.test/?anomaly=9"),
        FieldRow(TEXTAREA_ID, "The disk filled up"),
    ]
    # The JSON the page shows stays plain JSON; what is sent carries Docs.
    assert rows_to_payload(rows)["fields"]["environment"].startswith("Prod EU")
    return rows_to_fields(rows, rich_text=rich_text_fields(metas.values()))


def _from_command(metas: dict) -> dict:
    command = parse_command(
        "job-9|CREATE|summary;Disk full|environment;Prod EU, see https://desk.test/?anomaly=9"
        f"|{TEXTAREA_ID};The disk filled up",
        fields_lookup(metas.values()),
    )
    return {k: v for k, v in command.fields.items() if k != "summary"}


PRODUCERS = {"form": _from_form, "table": _from_table, "command": _from_command}


def _sent_fields(client: JiraClient) -> dict:
    import json

    request = client._session.sent[-1]
    return json.loads(request.body)["fields"]


def _check_cloud_request(client, openapi_for, adf_validator, value) -> None:
    request = client._session.sent[-1]
    openapi_for(client.base_url).validate_request(RequestsOpenAPIRequest(request))
    assert isinstance(value, dict), f"Cloud was sent a non-ADF rich text: {value!r}"
    adf_validator.validate(value)


@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_rich_fields_reach_jira_in_the_flavours_rich_text(
    client, producer, openapi_for, adf_validator
):
    metas = _metas(client)
    values = PRODUCERS[producer](metas)
    assert all(isinstance(v, Doc) for v in values.values()), values
    created = client.create_issue({**BASE, **values})
    sent = _sent_fields(client)
    stored = client._request("GET", f"/issue/{created.key}", params={"fields": "*all"})["fields"]
    for name in ("environment", TEXTAREA_ID):
        if client.cloud:
            _check_cloud_request(client, openapi_for, adf_validator, sent[name])
            adf_validator.validate(stored[name])
            marks = [
                m["attrs"]["href"]
                for p in sent[name]["content"]
                for t in p["content"]
                for m in t.get("marks", [])
            ]
            assert marks == (["https://desk.test/?anomaly=9"] if name == "environment" else [])
        else:
            assert isinstance(sent[name], str) and isinstance(stored[name], str)
    if not client.cloud:
        assert sent["environment"] == (
            "Prod EU, see [https://desk.test/?anomaly=9|https://desk.test/?anomaly=9]"
        )
        assert sent[TEXTAREA_ID] == "The disk filled up"


def test_edit_and_bulk_create_render_rich_fields_too(client, openapi_for, adf_validator):
    values = _from_command(_metas(client))
    [created] = client.create_issues_bulk([({**BASE, **values}, None)])
    assert not isinstance(created, Exception), created
    client.edit_issue(created.key, {"environment": values["environment"]})
    sent = _sent_fields(client)["environment"]
    if client.cloud:
        _check_cloud_request(client, openapi_for, adf_validator, sent)
    else:
        assert isinstance(sent, str) and "[https://desk.test/?anomaly=9|" in sent


def test_a_plain_string_environment_is_rich_text_for_the_client_too(client, adf_validator):
    created = client.create_issue({**BASE, "environment": "Prod EU"})
    sent = _sent_fields(client)["environment"]
    if client.cloud:
        adf_validator.validate(sent)
    else:
        assert sent == "Prod EU"
    assert created.key.startswith("DQ-")


def test_the_command_learns_textareas_from_createmeta_by_issue_type_name(client):
    lookup = createmeta_lookup(client, "DQ", "task")
    command = parse_command(f"job-1|CREATE|summary;x|{TEXTAREA_ID};Disk full", lookup)
    assert isinstance(command.fields[TEXTAREA_ID], Doc)
    assert createmeta_lookup(client, "DQ", "Epic")(TEXTAREA_ID) is None  # no such type
    assert lookup("customfield_10051").schema_type == "number"
