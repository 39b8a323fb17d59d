"""The whole flow in a real browser against a real server."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_acknowledge_an_anomaly_and_see_it_after_a_reload(dashboard, page):
    # Demo anomaly 1 is Active (data/make_demo.py cycles statuses by id).
    page.goto(f"{dashboard}/?anomaly=1")
    heading = page.get_by_role("heading", name="Anomaly 1 · Active")
    expect(heading).to_be_visible()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", name="Anomaly 1 · Acknowledged")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Anomaly 1 · Acknowledged")).to_be_visible()
    expect(page.get_by_text("Acknowledged", exact=True).first).to_be_visible()
