"""Pure parts of the one create path: the create request, its body, docs kept apart."""

from __future__ import annotations

from dataclasses import replace

from lib.jira import BasicAuth, BearerAuth, Flavour, JiraClient
from lib.jira.richtext import Doc, Paragraph, Text
from lib.outbox.payload import create_body, create_request, join_rich, split_rich
from lib.outbox.policy import pick_due
from tests.sync.test_outbox import T0, row

DOC = Doc((Paragraph((Text("Disk *full*"),)),))


def clients() -> dict[str, JiraClient]:
    return {
        "cloud": JiraClient("https://x.test", BasicAuth("a", "b"), flavour=Flavour.CLOUD),
        "dc": JiraClient("https://x.test", BearerAuth("t"), flavour=Flavour.DATA_CENTER),
    }


def test_create_request_adds_the_key_label_once_and_the_owner_property():
    request = create_request(
        {"summary": "s", "labels": ["dq", "anomaly-desk-7"]},
        idempotency_key="anomaly-desk-7",
        request_id="r1",
        owner={"anomaly_id": 7},
    )
    assert request.fields["labels"] == ["dq", "anomaly-desk-7"]
    assert request.properties == {"anomaly-desk": {"anomaly_id": 7, "request_id": "r1"}}


def test_create_body_renders_docs_per_flavour_and_lists_properties():
    request = create_request(
        {"summary": "s" * 300, "description": DOC, "customfield_10050": DOC},
        idempotency_key="k",
        request_id="r",
        owner={"automation_guid": "g"},
    )
    cloud, dc = (create_body(c, request) for c in clients().values())
    assert cloud["fields"]["description"]["type"] == "doc"
    assert cloud["fields"]["customfield_10050"] == cloud["fields"]["description"]
    assert dc["fields"]["description"] == "Disk \\*full\\*"
    assert len(cloud["fields"]["summary"]) == 255  # cut as the client cuts it
    assert cloud["properties"] == [
        {"key": "anomaly-desk", "value": {"automation_guid": "g", "request_id": "r"}}
    ]


def test_docs_are_split_out_for_storage_and_joined_back_unchanged():
    fields = {"summary": "s", "environment": DOC, "description": DOC}
    plain, rich = split_rich(fields)
    assert plain == {"summary": "s"} and '"environment"' in rich
    assert join_rich(plain, rich) == fields
    assert split_rich({"summary": "s"}) == ({"summary": "s"}, None)


def test_rows_waiting_on_a_create_are_never_due_and_keep_their_queue_in_order():
    create = replace(row(1, action="create"), idempotency_key="anomaly-desk-1")
    waiting = replace(row(2, None), waits_on=1)
    later = replace(row(3, None), waits_on=1)
    other = row(4, "DQ-9")
    assert [r.id for r in pick_due([create, waiting, later, other], T0)] == [1, 4]
    assert waiting.ticket == create.ticket  # one queue: the create, then what waits on it
    assert [r.id for r in pick_due([waiting, later, other], T0)] == [4]
