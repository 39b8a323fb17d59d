"""At the default window width no button or label is cut off ("Ref...", "Create yest...")."""

from __future__ import annotations

import pytest

# Every element whose text the browser shortens with an ellipsis because it does
# not fit: text-overflow is set and the content is wider than the box.
CUT = """() => [...document.querySelectorAll('body *')]
  .filter(el => getComputedStyle(el).textOverflow === 'ellipsis'
                && el.scrollWidth > el.clientWidth + 1 && el.innerText.trim())
  .map(el => el.innerText.trim())"""

# Each page with what shows it has finished drawing.
PAGES = {
    "statistics": '[data-testid="stMetric"]',
    "?anomaly=12": "text=Failed checks",
    "log": "text=/matching entr/",
    "connect": "h1",
    "tickets": "h1",
    "settings": "h1",
    "api": "h1",
}


@pytest.fixture
def default_window(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # Playwright's default
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.mark.browser
def test_nothing_is_cut_off_at_the_default_width(dashboard, default_window):
    page = default_window
    cut = {}
    for address, drawn in PAGES.items():
        page.goto(f"{dashboard.url}/{address}")
        page.locator(drawn).first.wait_for()
        page.wait_for_function(  # the script run is over: nothing more is drawn
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        )
        if found := page.evaluate(CUT):
            cut[address] = found
    assert cut == {}
