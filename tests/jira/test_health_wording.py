"""Failure kinds and the failing banner in words (lib/jira/wording.py), one per kind."""

from __future__ import annotations

import pytest

from lib.jira import ErrorKind
from lib.jira.wording import kind_label, paused_because


def test_every_kind_has_a_label():
    labels = {kind: kind_label(kind) for kind in ErrorKind}
    assert labels[ErrorKind.RATE_LIMITED] == "Rate limited"
    assert labels[ErrorKind.NOT_FOUND] == "Not found"
    assert all(label and "_" not in label for label in labels.values())
    assert kind_label(None) == "" and kind_label("") == ""


@pytest.mark.parametrize(
    ("flavour", "auth_type", "secret", "where"),
    [
        ("cloud", "basic", "API token", "id.atlassian.com"),
        ("dc", "bearer", "personal access token", "Personal Access Tokens"),
        ("dc", "basic", "password", "Connect to Jira"),
    ],
)
def test_a_401_after_it_worked_says_expired_or_revoked(flavour, auth_type, secret, where):
    text = paused_because(
        "authentication", worked_before=True, flavour=flavour, auth_type=auth_type
    )
    assert f"the {secret} may have expired or been revoked" in text
    assert "Atlassian API tokens now expire" in text and where in text
    first = paused_because(
        "authentication", worked_before=False, flavour=flavour, auth_type=auth_type
    )
    assert "expired" not in first and secret in first


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("permission", "HTTP 403"),
        ("rate_limited", "HTTP 429"),
        ("network", "could not be reached"),
        ("server", "HTTP 5xx"),
        ("other", "Log page"),
        (None, "Log page"),
    ],
)
def test_each_kind_says_why_automation_is_paused(kind, words):
    text = paused_because(kind, worked_before=True)
    assert words in text and "Resume" in text
