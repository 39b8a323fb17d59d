"""A page's own address opened first, in a real browser, on a freshly started dashboard."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_statistics_opened_before_anyone_opened_the_dashboard_shows_its_navigation(dashboard, page):
    asked_outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(("http://127.0.0.1", "data:")) else asked_outside.append(r.url)
        ),
    )
    page.goto(f"{dashboard}/statistics")
    expect(page.get_by_role("heading", name="Statistics")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Operations")).to_be_visible()  # dashboard.py's sections
    expect(nav.get_by_role("link", name="Connect to Jira")).to_be_visible()
    expect(page.get_by_label("Your name", exact=True)).to_be_visible()  # its shared chrome
    assert asked_outside == []  # no favicon (or anything else) from the internet
