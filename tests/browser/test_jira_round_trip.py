"""One round trip in a real browser: a comment made in Jira (the sandbox's second user) appears
on the anomaly, under its ticket's Jira activity, and is never sent back."""

import re

import pytest
import requests
from playwright.sync_api import expect

from lib.jira.sandbox.config import OTHER_CLOUD_API_TOKEN, OTHER_CLOUD_EMAIL

pytestmark = pytest.mark.browser


def test_a_comment_made_in_jira_appears_on_the_anomaly(dashboard, page):
    # Demo mode: tickets go to the sandbox mounted at /sandbox. Demo anomaly 13 is Active.
    page.goto(f"{dashboard}/?anomaly=13")
    expect(page.get_by_role("heading", name="Anomaly 13 · Active")).to_be_visible()
    page.get_by_role("button", name="New ticket").click()
    page.get_by_role("dialog").get_by_role("button", name="Create ticket").click()
    created = page.get_by_text(re.compile(r"Created \w+-\d+ and linked it"))
    expect(created).to_be_visible()
    key = re.search(r"(\w+-\d+)", created.inner_text()).group(1)

    text = "Seen in Jira: the loader dropped a column."
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }
    answer = requests.post(
        f"{dashboard}/sandbox/rest/api/3/issue/{key}/comment",
        json={"body": body},
        auth=(OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text

    page.get_by_role("button", name="Refresh from Jira").click()
    activity = page.get_by_text("Jira activity (1)")
    expect(activity).to_be_visible()
    activity.click()
    expect(page.get_by_text(text)).to_be_visible()
    expect(page.get_by_text("Other Sandbox User").first).to_be_visible()
    comments = requests.get(
        f"{dashboard}/sandbox/rest/api/3/issue/{key}/comment",
        auth=(OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN),
        timeout=10,
    ).json()["comments"]
    assert sum(text in str(c["body"]) for c in comments) == 1  # never mirrored back
