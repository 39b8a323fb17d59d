"""In a real browser: tick several rows of the Anomalies table and make one group ticket."""

import re

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

ROW_PX = 35  # the grid's row height (and its header's) at the default theme


def settled(page) -> None:
    """The app has finished its rerun (a rerun redraws an open dropdown shut)."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=20_000)


def choose(page, label: str, option: str) -> None:
    settled(page)
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # right after the grid had the focus, the first click only focuses
        box.click()
        try:
            wanted.click(timeout=3_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    wanted.click()


def tick(page, grid, row: int, removers) -> None:
    """Tick one row's marker; again only if the grid missed it (a click during a redraw)."""
    for _ in range(3):
        settled(page)  # each tick reruns the page: the next waits for it
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 16, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)
        try:
            expect(removers).to_have_count(row + 1, timeout=5_000)
            return
        except AssertionError:
            assert removers.count() == row  # missed, not ticked twice
    expect(removers).to_have_count(row + 1)


def newest_issue_key(dashboard: str) -> str:
    """The key of the newest issue on the mounted sandbox (this module makes only the one)."""
    api, auth = f"{dashboard}/sandbox/rest/api/3", (DEMO_CLOUD_EMAIL, DEMO_CLOUD_API_TOKEN)
    found = requests.post(
        f"{api}/search/jql",
        json={"jql": "project = DQ ORDER BY created DESC", "maxResults": 1},
        auth=auth,
        timeout=5,
    ).json()
    issue = requests.get(f"{api}/issue/{found['issues'][0]['id']}", auth=auth, timeout=5).json()
    assert any(label.startswith("anomaly-desk-group-") for label in issue["fields"]["labels"])
    return issue["key"]


def test_tick_three_rows_and_make_one_ticket_for_the_group(dashboard, page):
    page.goto(f"{dashboard}/")
    expect(page.get_by_role("heading", name="Anomalies")).to_be_visible()
    page.get_by_text("Select several").click()
    expect(page.get_by_text("Page 1 of 5: tick rows to select them.")).to_be_visible()
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    chips = page.get_by_test_id("stMultiSelect").filter(has_text="Selected anomalies")
    removers = chips.get_by_role("button", name=re.compile(r"^Remove \d+"))
    for row in range(3):  # the row markers' checkboxes, left of the first column
        tick(page, grid, row, removers)
    labels = [b.get_attribute("aria-label") for b in removers.all()]
    chosen = [int(re.search(r"\d+", label).group()) for label in labels]
    choose(page, "Action", "One ticket for the group")
    settled(page)
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("3 of 3 finished · 3 done")).to_be_visible(timeout=30_000)
    key = newest_issue_key(dashboard)
    expect(page.get_by_test_id("stDataFrame").last).to_contain_text(key)

    def browse() -> str | None:
        body = requests.get(f"{dashboard}/sandbox/browse/{key}", timeout=5).text
        return body if all(f"Anomaly {i}" in body for i in chosen) else None

    wait_until(browse, 20, f"{key} listing anomalies {chosen}")
