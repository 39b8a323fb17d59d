import pytest

from lib.jira.records import AllowedValue, FieldMeta
from lib.jira.richtext import TEXTAREA_CUSTOM, Doc, to_adf, to_wiki
from lib.tickets.automation_command import (
    Action,
    AutomationRefused,
    fields_lookup,
    parse_command,
)


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
        ("|CREATE|summary;x", "Part 1 (GUID) is empty"),
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


# ---------------------------------------------------------------- escapes, empty GUID, types

METAS = fields_lookup(
    [
        FieldMeta("customfield_10050", "Root cause", False, "string", (), TEXTAREA_CUSTOM),
        FieldMeta("customfield_10051", "Rows affected", False, "number", ()),
        FieldMeta("customfield_10052", "Seen on", False, "date", ()),
        FieldMeta("customfield_10053", "Region", False, "option", (AllowedValue("1", "EU"),)),
    ]
)


def test_a_value_can_hold_escaped_pipes_semicolons_and_backslashes():
    cmd = parse_command(r"g-1|CREATE|summary;a \| b \; c \\ d|labels;x\|y|environment;C:\temp")
    assert cmd.fields["summary"] == r"a | b ; c \ d"
    assert cmd.fields["labels"] == ["x|y"]
    assert to_wiki(cmd.fields["environment"]) == "C:&#92;temp"  # an unknown escape stays as typed


def test_an_escaped_pipe_does_not_start_a_new_part():
    with pytest.raises(AutomationRefused, match="Part 3 .*has no ';'"):
        parse_command(r"g-1|CREATE|summary\|x")


@pytest.mark.parametrize("text", ["|CREATE|summary;x", "  |UPDATE|priority;Low", "|"])
def test_an_empty_guid_is_named_as_such(text):
    with pytest.raises(AutomationRefused) as refused:
        parse_command(text)
    assert "GUID" in str(refused.value) and "empty" in str(refused.value)
    assert "part(s)" not in str(refused.value)


@pytest.mark.parametrize(
    "part, expected",
    [
        ("duedate;2026-13-01", "duedate must be YYYY-MM-DD (a real date), got '2026-13-01'"),
        ("duedate;2026-02-30", "duedate must be YYYY-MM-DD (a real date)"),
        ('priority;{"level": "High"}', "priority must be a name"),
        ("priority;[1]", "priority must be a name"),
        ('issuetype;{"name": 3}', "issuetype must be a name"),
        ("customfield_10051;many", "'customfield_10051' (Rows affected) is a number field"),
        ("customfield_10052;2026-00-10", "customfield_10052 must be YYYY-MM-DD (a real date)"),
    ],
)
def test_a_value_its_field_cannot_take_is_refused_before_sending(part, expected):
    with pytest.raises(AutomationRefused) as refused:
        parse_command(f"g-1|CREATE|summary;x|{part}", METAS)
    assert expected in str(refused.value) and "Part 4" in str(refused.value)


def test_values_of_typed_fields_map_to_jiras_shapes():
    cmd = parse_command(
        'g-1|CREATE|summary;x|priority;{"id": "2"}|duedate;2026-02-28'
        "|customfield_10051;1200|customfield_10052;2026-01-31"
        "|customfield_10050;Disk full, see https://desk.test/?anomaly=9",
        METAS,
    )
    f = cmd.fields
    assert f["priority"] == {"id": "2"} and f["duedate"] == "2026-02-28"
    assert f["customfield_10051"] == 1200 and f["customfield_10052"] == "2026-01-31"
    adf = to_adf(f["customfield_10050"])
    marks = [m for t in adf["content"][0]["content"] for m in t.get("marks", [])]
    assert marks == [{"type": "link", "attrs": {"href": "https://desk.test/?anomaly=9"}}]


def test_without_createmeta_a_custom_fields_text_stays_text():
    # The lookup is how the command learns a field is a textarea: without it,
    # text is sent as typed (JSON still parsed), as before.
    cmd = parse_command("g-1|CREATE|summary;x|customfield_10050;Disk full|customfield_10051;7")
    assert cmd.fields["customfield_10050"] == "Disk full" and cmd.fields["customfield_10051"] == 7
