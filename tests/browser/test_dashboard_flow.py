"""The whole flow in a real browser against a real server and its mounted Jira sandbox."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def wait_for_text(url: str, text: str, timeout: float = 20.0) -> str:
    def body_with_text() -> str | None:
        body = requests.get(url, timeout=5).text
        return body if text in body else None

    return wait_until(body_with_text, timeout, f"{text!r} appearing on {url}")


def test_acknowledge_an_anomaly_and_see_it_after_a_reload(dashboard, page):
    # Demo anomaly 1 is Active (data/make_demo.py cycles statuses by id).
    page.goto(f"{dashboard}/?anomaly=1")
    expect(page.get_by_role("heading", name="Anomaly 1 · Active")).to_be_visible()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", name="Anomaly 1 · Acknowledged")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Anomaly 1 · Acknowledged")).to_be_visible()


def test_connect_create_a_ticket_acknowledge_and_see_the_comment_in_jira(dashboard, page):
    page.goto(f"{dashboard}/connect")
    expect(page.get_by_text("Demo mode").first).to_be_visible()
    choose(page, "Kind", "Sandbox")
    expect(page.get_by_label("Jira address")).to_have_value(f"{dashboard}/sandbox")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("Connected as Sandbox Demo User").first).to_be_visible()

    # Demo anomaly 12 is Active too; create its ticket from the details.
    page.goto(f"{dashboard}/?anomaly=12")
    expect(page.get_by_role("heading", name="Anomaly 12 · Active")).to_be_visible()
    page.get_by_role("button", name="New ticket").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Summary")).to_have_value(re.compile(r"^\[Anomaly 12\]"))
    dialog.get_by_role("button", name="Create ticket").click()
    created = page.get_by_text(re.compile(r"Created \w+-\d+ and linked it"))
    expect(created).to_be_visible()
    key = re.search(r"(\w+-\d+)", created.inner_text()).group(1)

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", name="Anomaly 12 · Acknowledged")).to_be_visible()
    browse = f"{dashboard}/sandbox/browse/{key}"
    wait_for_text(browse, "Anomaly Status: Acknowledged")  # the worker delivers it
    page.goto(browse)
    expect(page.get_by_text(re.compile(r"\] Anomaly Status: Acknowledged"))).to_be_visible()
    expect(page.get_by_text("View in Anomaly Desk").first).to_be_visible()

    # The log's table is a canvas grid: check the rows through the count and the details.
    page.goto(f"{dashboard}/log")
    expect(page.get_by_text(re.compile(r"[1-9]\d* matching entr"))).to_be_visible()
    page.get_by_label("Show details of log entry id").fill("1")
    page.get_by_label("Show details of log entry id").press("Enter")
    expect(page.get_by_text(re.compile(r"Log entry 1 · create")).first).to_be_visible()
    page.goto(f"{dashboard}/statistics")
    created_today = page.get_by_test_id("stMetric").filter(has_text="today").first
    expect(created_today).to_contain_text("1")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()


def test_a_deep_link_opens_the_anomaly_at_the_top_and_the_name_stays(dashboard, page):
    page.goto(f"{dashboard}/?anomaly=3")
    heading = page.get_by_role("heading", name=re.compile(r"^Anomaly 3 · "))
    expect(heading).to_be_visible()
    main = page.get_by_test_id("stMain").bounding_box()
    assert heading.bounding_box()["y"] - main["y"] < 250  # not below the filters and the list
    expect(page.get_by_role("button", name="Back to the list")).to_be_visible()

    name = page.get_by_role("textbox", name="Your name")
    name.fill("Zoë Ana")
    name.press("Enter")
    page.wait_for_function(
        "() => document.cookie.includes('anomaly_desk_user=Zo%C3%AB%20Ana')", timeout=10_000
    )
    page.reload()
    expect(page.get_by_role("textbox", name="Your name")).to_have_value("Zoë Ana")
    page.goto(f"{dashboard}/?anomaly=4")  # a link from Jira, in the same browser
    expect(page.get_by_role("heading", name=re.compile(r"^Anomaly 4 · "))).to_be_visible()
    expect(page.get_by_role("textbox", name="Your name")).to_have_value("Zoë Ana")
