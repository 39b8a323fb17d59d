"""The Tickets page under AppTest: table <-> JSON, Add field, and Execute against a sandbox."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from lib.services import utc_now
from lib.store.anomalies import AnomalyRepository
from lib.tickets.field_table import FieldRow
from tests.sync.conftest import make_anomaly

EDITOR, JSON, ROWS = "tickets_table_editor", "tickets_json", "tickets_table_rows"


@pytest.fixture
def sandbox(jira_sandbox):
    return jira_sandbox


@pytest.fixture
def svc(sandbox_services):
    return sandbox_services


@pytest.fixture
def at(svc, page_path):
    app = AppTest.from_file(page_path("tickets"), default_timeout=30)
    app.run()
    assert not app.exception
    return app


def sent(at) -> dict:
    return json.loads(at.text_area(key=JSON).value)["fields"]


def edit_table(at, edited=None, added=(), deleted=()) -> None:
    at.session_state[EDITOR] = {
        "edited_rows": edited or {},
        "added_rows": list(added),
        "deleted_rows": list(deleted),
    }
    at.run()
    assert not at.exception


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_starts_with_the_connection_defaults(at):
    assert at.title[0].value == "Tickets"
    assert sent(at) == {
        "project": {"key": "DQ"},
        "issuetype": {"name": "Task"},
        "summary": "",
        "description": "",
    }


def test_table_edits_regenerate_the_json(at):
    edit_table(
        at,
        edited={2: {"value": "Disk full on orders"}},
        added=[{"field": "priority", "value": '{"name": "High"}', "mode": "include"}],
    )
    fields = sent(at)
    assert fields["summary"] == "Disk full on orders" and fields["priority"] == {"name": "High"}
    assert errors(at) == []


def test_excluded_rows_stay_in_the_table_but_leave_the_json(at):
    edit_table(at, edited={3: {"mode": "exclude"}})
    assert "description" not in sent(at)
    assert FieldRow("description", "", "exclude") in at.session_state[ROWS]


def test_json_edits_update_the_table_and_keep_excluded_rows(at):
    edit_table(at, edited={3: {"mode": "exclude"}})
    text = json.dumps(
        {
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Bug"},
                "summary": "From JSON",
                "labels": ["dq", "orders"],
            }
        }
    )
    at.text_area(key=JSON).input(text).run()
    assert not at.exception and errors(at) == []
    table = at.dataframe[0].value
    assert list(table["field"]) == ["project", "issuetype", "summary", "labels", "description"]
    assert list(table["mode"])[-1] == "exclude"
    assert table.set_index("field").loc["labels", "value"] == '["dq", "orders"]'
    assert at.text_area(key=JSON).value == text  # what was typed stays


def test_invalid_json_shows_the_message_and_leaves_the_table(at):
    edit_table(at, edited={2: {"value": "kept"}})
    before = list(at.session_state[ROWS])
    at.text_area(key=JSON).input('{"fields": {"summary": "x",}').run()
    assert not at.exception
    assert any("The JSON is not valid" in e and "left as it was" in e for e in errors(at))
    assert at.session_state[ROWS] == before
    at.text_area(key=JSON).input('["not", "fields"]').run()
    assert any('must be an object like {"fields"' in e for e in errors(at))
    assert at.session_state[ROWS] == before


def test_add_a_custom_field_and_refuse_a_bad_id(at):
    at.text_input(key="tickets_table_custom_id").input("customfield_10010")
    at.text_input(key="tickets_table_custom_value").input('{"value": "Gold"}')
    at.button(key="tickets_table_add_custom").click().run()
    assert sent(at)["customfield_10010"] == {"value": "Gold"}
    at.text_input(key="tickets_table_custom_id").input("custom_10010")
    at.button(key="tickets_table_add_custom").click().run()
    assert any("'custom_10010' is not a custom field id" in e for e in errors(at))
    assert "custom_10010" not in sent(at)


def test_add_a_metadata_field_with_its_allowed_values(at):
    assert "Priority (priority)" in at.selectbox(key="tickets_table_meta_field").options
    at.selectbox(key="tickets_table_meta_field").select("priority").run()
    assert "High" in at.selectbox(key="tickets_table_meta_choice").options
    at.selectbox(key="tickets_table_meta_choice").select("High").run()
    at.button(key="tickets_table_add_meta").click().run()
    assert sent(at)["priority"] == {"id": "2"}


def test_execute_create_shows_the_key_with_a_link(at, sandbox):
    edit_table(at, edited={2: {"value": "Disk full on orders"}, 3: {"value": "Free space"}})
    at.button(key="tickets_table_execute").click().run()
    assert not at.exception and errors(at) == []
    assert "Created [DQ-1](" in at.success[0].value
    assert f"{sandbox.base_url}/browse/DQ-1" in at.success[0].value
    assert sandbox.runtime.state.get("DQ-1").summary == "Disk full on orders"


def test_execute_create_shows_jiras_field_errors(at, sandbox):
    at.text_input(key="tickets_table_custom_id").input("customfield_10010")
    at.text_input(key="tickets_table_custom_value").input("3")
    at.button(key="tickets_table_add_custom").click()
    edit_table(at, edited={2: {"value": "x"}})
    at.button(key="tickets_table_execute").click().run()
    assert any("Jira refused the ticket" in e and "**customfield_10010**" in e for e in errors(at))
    assert sandbox.runtime.state.all_issues() == []


def test_execute_create_linked_to_an_anomaly(at, svc, sandbox):
    AnomalyRepository(svc.db).upsert_many([make_anomaly(7)], utc_now())
    edit_table(at, edited={2: {"value": "Linked one"}})
    at.text_input(key="tickets_table_anomaly").input("7")
    at.button(key="tickets_table_execute").click().run()
    assert "linked to anomaly 7" in at.success[0].value
    [link] = svc.tickets.links_for(7)
    assert link.issue_key == "DQ-1" and "anomaly-desk-7" in sandbox.runtime.state.get("DQ-1").labels
    at.text_input(key="tickets_table_anomaly").input("99").run()
    at.button(key="tickets_table_execute").click().run()
    assert any("no anomaly with id 99" in e for e in errors(at))


def test_update_an_existing_ticket_by_key(at, svc, sandbox):
    issue = sandbox.runtime.state.create_issue("DQ", issuetype_id="10001", summary="before")
    at.text_area(key=JSON).input(json.dumps({"fields": {"summary": "after"}})).run()
    at.radio(key="tickets_table_action").set_value("Update").run()
    at.text_input(key="tickets_table_key").input(issue.key)
    at.button(key="tickets_table_execute").click().run()
    assert not at.exception and f"Updated [{issue.key}]" in at.success[0].value
    assert sandbox.runtime.state.get(issue.key).summary == "after"
    [row] = svc.sync.log.recent(5)
    assert (row.action, row.mode, row.status) == ("update", "manual", "ok")
    at.text_input(key="tickets_table_key").input("DQ-404")
    at.button(key="tickets_table_execute").click().run()
    assert any("Jira refused the update" in e for e in errors(at))


# -- what you see is what is sent -------------------------------------------------


def preview(at) -> dict:
    [shown] = [c for c in at.code if c.language == "json" and '"fields"' in c.value]
    return json.loads(shown.value)


def bodies(sandbox, method: str, path_end: str) -> list[dict]:
    return [
        b["body"]
        for b in sandbox.runtime.faults.stats_json()["bodies"]
        if b["method"] == method and b["path"].endswith(path_end)
    ]


def test_the_create_body_sent_is_exactly_the_preview(at, sandbox):
    edit_table(at, edited={2: {"value": "Disk full on orders"}, 3: {"value": "Free *space*"}})
    shown = preview(at)
    assert shown["fields"]["description"]["type"] == "doc"  # rendered as Jira gets it (ADF)
    [label] = shown["fields"]["labels"]
    assert label.startswith("anomaly-desk-auto-table-")  # what the product adds is shown
    assert shown["properties"][0]["key"] == "anomaly-desk"
    at.button(key="tickets_table_execute").click().run()
    assert not at.exception and "Created [DQ-1](" in at.success[0].value
    assert bodies(sandbox, "POST", "/issue") == [shown]


def test_a_create_linked_to_an_anomaly_previews_its_generated_description(at, svc, sandbox):
    AnomalyRepository(svc.db).upsert_many([make_anomaly(7)], utc_now())
    edit_table(at, edited={2: {"value": "Linked one"}})
    at.text_input(key="tickets_table_anomaly").input("7").run()
    shown = preview(at)
    assert "anomaly-desk-7" in shown["fields"]["labels"]
    assert "?anomaly=7" in json.dumps(shown["fields"]["description"])  # generated, with link
    assert shown["properties"][0]["value"]["anomaly_id"] == 7
    at.button(key="tickets_table_execute").click().run()
    assert "linked to anomaly 7" in at.success[0].value
    assert bodies(sandbox, "POST", "/issue") == [shown]


def test_invalid_json_blocks_sending_and_shows_the_parse_error(at, sandbox):
    edit_table(at, edited={2: {"value": "kept"}})
    at.text_area(key=JSON).input('{"fields": {"summary": "new",}').run()
    assert any("The JSON is not valid" in w.value for w in at.warning)  # no preview
    at.button(key="tickets_table_execute").click().run()
    assert any("Nothing is sent while the JSON is invalid" in e for e in errors(at))
    assert any("line 1, column" in e for e in errors(at))
    assert sandbox.runtime.state.all_issues() == [] and bodies(sandbox, "POST", "/issue") == []


def test_update_mode_sends_no_project_and_no_issue_type_unless_asked(at, svc, sandbox):
    issue = sandbox.runtime.state.create_issue("DQ", issuetype_id="10001", summary="before")
    edit_table(at, edited={2: {"value": "after"}, 3: {"mode": "exclude"}})
    at.radio(key="tickets_table_action").set_value("Update").run()
    at.text_input(key="tickets_table_key").input(issue.key).run()
    shown = preview(at)
    assert shown == {"fields": {"summary": "after"}}
    at.button(key="tickets_table_execute").click().run()
    assert not at.exception and f"Updated [{issue.key}]" in at.success[0].value
    assert bodies(sandbox, "PUT", f"/issue/{issue.key}") == [shown]
    at.checkbox(key="tickets_table_change_type").check().run()
    assert preview(at)["fields"]["issuetype"] == {"name": "Task"}
    assert "project" not in preview(at)["fields"]
