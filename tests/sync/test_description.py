"""The description doc and the sync texts: exact formats, valid ADF, safe wiki."""

from __future__ import annotations

from datetime import datetime

from lib.jira import adf_to_text, doc_from_text, to_adf, to_wiki
from lib.jira.doc_json import doc_from_json, doc_to_json
from lib.jira.richtext import Heading, Link
from lib.tickets.description import (
    anomaly_doc,
    anomaly_label,
    as_doc,
    comment_text,
    default_summary,
    doc_text,
    status_text,
)
from tests.sync.conftest import make_anomaly

NOW = datetime(2026, 1, 23, 20, 22, 4)
HOSTILE = 'x {code} [a|javascript:alert(1)] *b* _c_ h1. <b>"q"</b> \\ & &amp; -- |t|'


def test_status_and_comment_texts_are_exact():
    t = datetime(2024, 1, 15, 10, 30, 0, 999)
    assert (
        status_text(t, "Acknowledged", None)
        == "[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"
    )
    assert (
        status_text(t, "Archived", "Resolved")
        == "[2024-01-15 10:30:00 UTC] Anomaly Status: Archived (Resolved)"
    )
    assert status_text(t, "Active", None) == "[2024-01-15 10:30:00 UTC] Anomaly Status: Active"
    assert comment_text("bob", "hi") == "Comment from Anomaly Desk (bob): hi"
    assert anomaly_label(42) == "anomaly-desk-42"


def test_description_has_every_part_in_order(adf_validator):
    doc = anomaly_doc(make_anomaly(1), "http://desk.test/", NOW)
    assert doc.blocks[0] == Heading(3, doc.blocks[0].inlines)
    text = doc_text(doc)
    assert text.splitlines() == [
        "Anomaly Linked [2026-01-23 20:22:04 UTC]",
        "",
        "Anomaly ID: 1",
        "Status: Active",
        "Type: shape",
        "Detected: 2025-12-21 01:48:42 UTC",
        "Datastore: Warehouse",
        "Table/file: CUSTOMERS",
        "Fields: CUSTOMER_NAME, CUSTOMER_ID",
        "",
        "Failed Checks",
        "",
        "- entityResolution: 8 values in CUSTOMER_NAME were resolved to 7 distinct entities",
        "- notNull: 2 values in CUSTOMER_ID are null",
        "",
        "View in Anomaly Desk: http://desk.test/?anomaly=1",
    ]
    adf = to_adf(doc)
    adf_validator.validate(adf)
    links = [
        m["attrs"]["href"] for n in _walk(adf) for m in n.get("marks", []) if m["type"] == "link"
    ]
    assert links == ["http://desk.test/?anomaly=1"]
    wiki = to_wiki(doc)
    assert wiki.startswith("h3. Anomaly Linked \\[2026\\-01\\-23 20:22:04 UTC\\]")
    assert "h4. Failed Checks" in wiki and "* *entityResolution*:" in wiki
    assert wiki.endswith(
        "View in Anomaly Desk: [http://desk.test/?anomaly=1|http://desk.test/?anomaly=1]"
    )


def test_hostile_messages_stay_text_in_both_flavours(adf_validator):
    doc = anomaly_doc(make_anomaly(3, message=HOSTILE), "http://desk.test", NOW)
    adf = to_adf(doc)
    adf_validator.validate(adf)
    assert HOSTILE in adf_to_text(adf)
    assert sum(1 for n in _walk(adf) for m in n.get("marks", []) if m["type"] == "link") == 1
    wiki = to_wiki(doc)
    assert "{code}" not in wiki and "[a|javascript" not in wiki
    assert "\\{code\\}" in wiki and "\\[a\\|javascript:alert\\(1\\)\\]" in wiki


def test_default_summary_is_cut_to_255():
    assert (
        default_summary(make_anomaly(42, message="boom"))
        == "[Anomaly 42] entityResolution on CUSTOMERS: boom"
    )
    long = default_summary(make_anomaly(42, message="y" * 400))
    assert len(long) == 255 and long.endswith("[truncated]")


def test_doc_round_trips_through_json():
    doc = anomaly_doc(make_anomaly(1, message=HOSTILE), "http://desk.test", NOW)
    assert doc_from_json(doc_to_json(doc)) == doc
    assert isinstance(doc_from_json(doc_to_json(doc)).blocks[-1].inlines[1], Link)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for child in node.get("content", []):
            yield from _walk(child)


def _links(adf) -> list[str]:
    return [
        m["attrs"]["href"] for n in _walk(adf) for m in n.get("marks", []) if m["type"] == "link"
    ]


def test_the_link_back_stays_a_link_when_the_dialog_sends_its_text(adf_validator):
    # The dialog sends its text area's value when it is not the doc prefilled on
    # this run (edited, or opened at an earlier second): that text must still
    # carry the link, as a link mark on Cloud and [text|url] on Data Center.
    opened = anomaly_doc(make_anomaly(9), "http://desk.test/", NOW)
    later = anomaly_doc(make_anomaly(9), "http://desk.test/", NOW.replace(second=59))
    sent = doc_text(opened)
    assert sent != doc_text(later)
    doc = as_doc(sent + "\n\nChecked by ana.")
    adf = to_adf(doc)
    adf_validator.validate(adf)
    assert _links(adf) == ["http://desk.test/?anomaly=9"]
    wiki = to_wiki(doc)
    assert "View in Anomaly Desk: [http://desk.test/?anomaly=9|http://desk.test/?anomaly=9]" in wiki
    assert "\\?anomaly" not in wiki


def test_addresses_in_text_are_links_and_sentence_punctuation_is_not_part_of_them():
    doc = as_doc(
        "See https://desk.test/?anomaly=3, or http://x.test/a_b-c. Not javascript:alert(1)"
    )
    assert _links(to_adf(doc)) == ["https://desk.test/?anomaly=3", "http://x.test/a_b-c"]
    wiki = to_wiki(doc)
    assert "[https://desk.test/?anomaly=3|https://desk.test/?anomaly=3]," in wiki
    assert "[http://x.test/a_b-c|http://x.test/a_b-c]." in wiki
    assert "javascript:alert\\(1\\)" in wiki  # an unsafe scheme stays escaped text


def test_a_plain_text_address_in_wiki_is_not_escaped_into_a_broken_link():
    wiki = to_wiki(doc_from_text("open http://desk.test/?anomaly=9 now"))
    assert wiki == "open [http://desk.test/?anomaly=9] now"
