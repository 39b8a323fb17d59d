import pytest

from lib.jira.richtext import Doc
from lib.tickets.automation_command import Action, AutomationRefused, parse_command


def test_create_maps_fields_to_jira_shapes():
    cmd = parse_command(
        "job-42|CREATE|summary;Disk full on orders|priority;High|labels;dq,orders"
        '|description;Line one\nLine two|customfield_10010;{"value": "EU"}'
        "|customfield_10020;7|project;dq|issuetype;Bug"
    )
    assert cmd.guid == "job-42" and cmd.action is Action.CREATE
    f = cmd.fields
    assert f["summary"] == "Disk full on orders"
    assert f["priority"] == {"name": "High"}
    assert f["labels"] == ["dq", "orders"]
    assert isinstance(f["description"], Doc)
    assert f["customfield_10010"] == {"value": "EU"} and f["customfield_10020"] == 7
    assert f["project"] == {"key": "DQ"} and f["issuetype"] == {"name": "Bug"}


def test_update_needs_no_summary_and_action_is_case_insensitive():
    cmd = parse_command("job-42|update|priority;Low")
    assert cmd.action is Action.UPDATE and cmd.fields == {"priority": {"name": "Low"}}


def test_a_value_may_contain_semicolons():
    assert parse_command("g|CREATE|summary;a;b;c").fields["summary"] == "a;b;c"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "Expected GUID|ACTION|field;value"),
        ("job-1|CREATE", "Expected GUID|ACTION|field;value"),
        ("|CREATE|summary;x", "Expected GUID|ACTION"),
        ("job 1|CREATE|summary;x", "Part 1 (GUID)"),
        ("job-1|DELETE|summary;x", "Part 2 (action) 'DELETE' is not CREATE or UPDATE"),
        ("job-1|CREATE|summary Disk full", "Part 3 'summary Disk full' has no ';'"),
        ("job-1|CREATE|summary;x|priority", "Part 4 'priority' has no ';'"),
        ("job-1|CREATE|summary;x|colour;red", "Part 4: unknown field 'colour'"),
        ("job-1|CREATE|summary;x|priority;", "field 'priority' has no value"),
        ("job-1|CREATE|priority;High", "A CREATE needs a summary"),
        ("job-1|CREATE|summary;x|labels;data quality", "labels cannot contain spaces"),
        ("job-1|CREATE|summary;x|summary;y", "field 'summary' is given twice"),
        ("job-1|CREATE|summary;" + "x" * 256, "Jira allows 255"),
        ("job-1|CREATE|summary;x|customfield_10010;{oops", "not valid JSON"),
        ("job-1|CREATE|summary;x|duedate;tomorrow", "duedate must be YYYY-MM-DD"),
    ],
)
def test_malformed_strings_name_the_wrong_part(text, expected):
    with pytest.raises(AutomationRefused) as refused:
        parse_command(text)
    assert expected in str(refused.value)
