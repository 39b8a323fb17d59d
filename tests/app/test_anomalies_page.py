import json
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from lib.services import services_for

NOW = datetime(2026, 11, 20, 12, 0)
CHECKS = [{"check_id": 1, "rule_type": "notNull", "message": "5 values in EMAIL are null"}]


def rec(ident, **over):
    base = {
        "id": ident,
        "datastore_id": 1,
        "datastore_name": "Warehouse",
        "container": "CUSTOMERS",
        "fields": ["EMAIL"],
        "type": "record",
        "status": "Active",
        "detected_at": "2026-11-20T08:00:00Z",
        "failed_checks": CHECKS,
    }
    base.update(over)
    return base


@pytest.fixture
def seeded(tmp_settings):
    from lib.anomalies.importing import import_file

    svc = services_for(tmp_settings)
    rows = [
        rec(1),
        rec(
            2,
            container="PAYMENTS",
            datastore_id=2,
            datastore_name="Billing",
            status="Acknowledged",
            type="shape",
            failed_checks=[
                {"check_id": 2, "rule_type": "volumetric", "message": "Row count dropped by 40%"}
            ],
        ),
        rec(3, status="Archived", archive_reason="Invalid"),
    ]
    import_file(svc.db, "seed.json", json.dumps(rows).encode(), NOW)
    return svc


@pytest.fixture
def app(page_path):
    return AppTest.from_file(page_path("anomalies"), default_timeout=30)


def comment_box(at):
    (box,) = [t for t in at.text_area if t.label == "Add a comment"]
    return box


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_lists_anomalies_with_counts_per_status(seeded, app):
    app.run()
    assert not app.exception
    assert metrics(app) == {"Matching": "3", "Active": "1", "Acknowledged": "1", "Archived": "1"}
    table = app.dataframe[0].value
    assert sorted(table["id"].tolist()) == [1, 2, 3]
    assert "Archived (Invalid)" in table["status"].tolist()


def test_filters_narrow_the_table(seeded, app):
    app.run()
    app.text_input(key="anomalies_text").input("row count").run()
    assert app.dataframe[0].value["id"].tolist() == [2]
    app.text_input(key="anomalies_text").input("").run()
    app.multiselect(key="anomalies_status").select("Archived").run()
    assert app.dataframe[0].value["id"].tolist() == [3]
    app.multiselect(key="anomalies_status").unselect("Archived").run()
    app.selectbox(key="anomalies_type").select("shape").run()
    assert app.dataframe[0].value["id"].tolist() == [2]
    app.text_input(key="anomalies_text").input("nothing like this").run()
    assert "No anomaly matches" in app.info[0].value


def test_deep_link_opens_details_and_unknown_id_says_so(seeded, page_path):
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = "2"
    at.run()
    assert at.subheader[0].value == "Anomaly 2 · Acknowledged"
    assert "Row count dropped by 40%" in at.dataframe[0].value["message"].tolist()
    assert any("Linked tickets" in m.value for m in at.markdown)
    missing = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    missing.query_params["anomaly"] = "999"
    missing.run()
    assert "Anomaly 999 does not exist" in missing.warning[0].value
    bad = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    bad.query_params["anomaly"] = "abc"
    bad.run()
    assert "is not an anomaly id" in bad.error[0].value


def test_select_by_id_then_acknowledge_archive_and_comment(seeded, app):
    app.run()
    app.number_input(key="anomalies_open").set_value(1).run()
    assert app.subheader[0].value == "Anomaly 1 · Active"
    app.button(key="anomalies_ack").click().run()
    assert app.subheader[0].value == "Anomaly 1 · Acknowledged"
    assert app.success[0].value == "Acknowledged."
    app.selectbox(key="anomalies_reason").select("Duplicate").run()
    app.button(key="anomalies_archive").click().run()
    assert app.subheader[0].value == "Anomaly 1 · Archived (Duplicate)"
    app.session_state["user_name"] = "erin"
    comment_box(app).input("Checked upstream")
    app.button(key="anomalies_comment").click().run()
    assert [c.body for c in seeded.anomalies.comments(1)] == ["Checked upstream"]
    assert seeded.anomalies.comments(1)[0].author == "erin"
    history = app.dataframe[-1].value
    assert history["to"].tolist() == ["Acknowledged", "Archived (Duplicate)"]


def test_empty_comment_is_refused_with_a_message(seeded, app):
    app.query_params["anomaly"] = "1"
    app.run()
    app.button(key="anomalies_comment").click().run()
    assert "needs some text" in app.error[0].value
    assert seeded.anomalies.comments(1) == []


def test_refused_import_shows_each_bad_row_and_changes_nothing(seeded, app):
    app.run()
    bad = json.dumps([rec(10), rec(11, status="Closed"), rec(12, detected_at="soon")]).encode()
    app.file_uploader(key="anomalies_upload").upload("bad.json", bad, "application/json").run()
    app.button(key="anomalies_import").click().run()
    text = app.error[0].value
    assert "row 2 (id 11): status 'Closed'" in text and "row 3 (id 12): detected_at" in text
    assert seeded.anomalies.count() == 3


def test_good_import_adds_rows(seeded, app):
    app.run()
    good = json.dumps([rec(20), rec(1, container="RENAMED")]).encode()
    app.file_uploader(key="anomalies_upload").upload("good.json", good, "application/json").run()
    app.button(key="anomalies_import").click().run()
    assert "1 new, 1 updated" in app.success[0].value
    assert seeded.anomalies.count() == 4


# -- the first hour of a new analyst -------------------------------------------


def test_deep_link_shows_the_anomaly_first_and_back_keeps_the_filters(seeded, app):
    app.run()
    app.multiselect(key="anomalies_status").select("Archived").run()
    app.number_input(key="anomalies_open").set_value(3).run()
    kinds = [getattr(node, "type", "") for node in app.main]
    heading = next(
        i
        for i, n in enumerate(app.main)
        if getattr(n, "value", "") == "Anomaly 3 · Archived (Invalid)"
    )
    assert "metric" not in kinds[:heading] and "dataframe" not in kinds[:heading], kinds[:heading]
    assert not app.metric  # the list is not drawn above (or below) the details
    app.button(key="anomalies_back").click().run()
    assert "anomaly" not in app.query_params
    assert app.multiselect(key="anomalies_status").value == ["Archived"]
    assert app.dataframe[0].value["id"].tolist() == [3]


def test_comment_box_empties_and_a_second_click_posts_nothing(seeded, app):
    app.query_params["anomaly"] = "1"
    app.run()
    comment_box(app).input("Checked upstream")
    app.button(key="anomalies_comment").click().run()
    app.button(key="anomalies_comment").click().run()
    assert [c.body for c in seeded.anomalies.comments(1)] == ["Checked upstream"]
    assert comment_box(app).value == ""


def test_the_comment_box_belongs_to_one_anomaly(seeded, app):
    app.query_params["anomaly"] = "1"
    app.run()
    comment_box(app).input("Only about anomaly 1").run()
    app.query_params["anomaly"] = "2"
    app.run()
    assert comment_box(app).value == ""
    app.button(key="anomalies_comment").click().run()
    assert seeded.anomalies.comments(2) == []


@pytest.fixture
def many(tmp_settings):
    from lib.anomalies.importing import import_file

    svc = services_for(tmp_settings)
    rows = [
        rec(i, status="Archived" if i <= 3 else "Active", archive_reason="Invalid")
        for i in range(1, 131)
    ]
    for row in rows:
        if row["status"] != "Archived":
            row.pop("archive_reason")
    import_file(svc.db, "many.json", json.dumps(rows).encode(), NOW)
    return svc


@pytest.mark.parametrize(
    "change",
    [
        lambda at: at.multiselect(key="anomalies_status").select("Archived"),
        lambda at: at.text_input(key="anomalies_text").input("customers"),
        lambda at: at.selectbox(key="anomalies_sort").select("Weight"),
        lambda at: at.toggle(key="anomalies_desc").set_value(False),
    ],
    ids=["status", "text", "sort", "descending"],
)
def test_a_new_filter_or_sort_goes_back_to_page_one(many, app, change):
    app.run()
    app.number_input(key="anomalies_page").set_value(3).run()
    assert "Page 3 of 3" in app.caption[0].value
    change(app).run()
    assert app.number_input(key="anomalies_page").value == 1
    assert not [i.value for i in app.info]  # not "This page is past the last one"
    assert len(app.dataframe[0].value) > 0


NOT_IDS = [
    "%C2%B2",
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0663",  # Arabic-Indic three: int() would take it
    "-1",
    "1.5",
    "99999999999999999999999",
    "9223372036854775808",  # one past BIGINT
    " ",
    "1 2",
]


def test_a_deep_link_that_is_not_an_id_gets_a_message(seeded, page_path):
    for raw in NOT_IDS:
        at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
        at.query_params["anomaly"] = raw
        at.run()
        assert not at.exception, (raw, at.exception)
        errors = [e.value for e in at.error]
        assert any("is not an anomaly id" in e for e in errors), (raw, errors)
        assert at.metric, raw  # the list is shown instead
    # Spaces around an id, and the largest id the store can hold, still answer.
    at = AppTest.from_file(page_path("anomalies"), default_timeout=30)
    at.query_params["anomaly"] = " 2 "
    at.run()
    assert at.subheader[0].value == "Anomaly 2 · Acknowledged"
    at.query_params["anomaly"] = "9223372036854775807"
    at.run()
    assert not at.exception and "does not exist" in at.warning[0].value
