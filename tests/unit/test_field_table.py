import json

import pytest

from lib.jira.richtext import Doc, doc_from_text, to_adf, to_wiki
from lib.tickets.field_table import (
    EXCLUDE,
    INCLUDE,
    FieldRow,
    FieldTableError,
    json_to_rows,
    rows_to_fields,
    rows_to_json,
    rows_to_payload,
    value_to_cell,
)


def test_table_to_json_keeps_excluded_rows_out():
    rows = [
        FieldRow("summary", "Disk full"),
        FieldRow("priority", '{"name": "High"}'),
        FieldRow("labels", '["dq"]', EXCLUDE),
        FieldRow("customfield_10020", "7"),
    ]
    assert rows_to_payload(rows) == {
        "fields": {"summary": "Disk full", "priority": {"name": "High"}, "customfield_10020": 7}
    }


def test_json_to_table_follows_included_and_keeps_excluded():
    current = [FieldRow("summary", "old"), FieldRow("labels", '["dq"]', EXCLUDE)]
    rows = json_to_rows('{"fields": {"summary": "new", "priority": {"name": "Low"}}}', current)
    assert rows == [
        FieldRow("summary", "new", INCLUDE),
        FieldRow("priority", '{"name": "Low"}', INCLUDE),
        FieldRow("labels", '["dq"]', EXCLUDE),
    ]


def test_round_trip_both_ways():
    rows = [FieldRow("summary", "S"), FieldRow("labels", '["a", "b"]'), FieldRow("x", "1", EXCLUDE)]
    again = json_to_rows(rows_to_json(rows), rows)
    assert rows_to_payload(again) == rows_to_payload(rows)
    assert FieldRow("x", "1", EXCLUDE) in again


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "The JSON is not valid (line 1"),
        ("[1, 2]", 'must be an object like {"fields"'),
        ('{"fields": "x"}', 'must be an object like {"fields"'),
        ('{"fields": {}, "extra": 1}', "Unexpected top-level key(s): extra"),
        ('{"fields": {"bad field": 1}}', "'bad field' is not a field id"),
    ],
)
def test_invalid_json_is_refused_and_says_the_table_is_unchanged(text, expected):
    with pytest.raises(FieldTableError) as refused:
        json_to_rows(text, [FieldRow("summary", "keep")])
    assert expected in str(refused.value)


def test_bad_rows_are_refused():
    with pytest.raises(FieldTableError, match="included twice"):
        rows_to_payload([FieldRow("summary", "a"), FieldRow("summary", "b")])
    with pytest.raises(FieldTableError, match="is not a field id"):
        rows_to_payload([FieldRow("some field", "a")])
    assert json.loads(rows_to_json([FieldRow("summary", "a", EXCLUDE)])) == {"fields": {}}


def test_rich_text_rows_are_sent_as_docs_and_shown_as_text():
    rows = [
        FieldRow("summary", "Disk full"),
        FieldRow("environment", "Prod EU"),
        FieldRow("customfield_10050", "42"),  # a textarea: its text stays text
        FieldRow("customfield_10060", "42"),  # not a textarea: JSON as before
        FieldRow("description", "Rows dropped"),
    ]
    fields = rows_to_fields(rows, rich_text={"customfield_10050"})
    assert isinstance(fields["environment"], Doc) and isinstance(fields["customfield_10050"], Doc)
    assert to_wiki(fields["customfield_10050"]) == "42" and fields["customfield_10060"] == 42
    assert to_adf(fields["environment"])["content"][0]["content"] == [
        {"type": "text", "text": "Prod EU"}
    ]
    # The description stays text: the client and the ticket service render it.
    assert fields["summary"] == "Disk full" and fields["description"] == "Rows dropped"
    # What the page shows (and lets the user edit) stays plain JSON.
    assert json.loads(rows_to_json(rows))["fields"]["environment"] == "Prod EU"


def test_an_adf_object_typed_into_a_rich_text_row_is_kept_and_null_clears():
    adf = {"type": "doc", "version": 1, "content": []}
    rows = [FieldRow("environment", json.dumps(adf)), FieldRow("customfield_10050", "null")]
    assert rows_to_fields(rows, rich_text={"customfield_10050"}) == {
        "environment": adf,
        "customfield_10050": None,
    }


def test_a_doc_added_from_createmeta_shows_as_its_text_in_a_cell():
    assert value_to_cell(doc_from_text("Prod EU\nrack 4")) == "Prod EU\nrack 4"
