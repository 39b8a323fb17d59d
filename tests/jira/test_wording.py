"""The one place that words Jira failures: real timeouts, every code, no drift."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from lib.jira import Flavour, JiraError, JiraTimeout, errors
from lib.jira.wording import HINTS, explain, hint, within
from tests.jira.conftest import CLOUD_URL, make_client

CLOUD = SimpleNamespace(host="https://acme.atlassian.net", flavour="cloud", auth_type="basic")


@pytest.mark.parametrize("timeout", [30.0, 10.0, 2.5])
def test_a_timeout_is_worded_with_the_timeout_that_applied(mocked, timeout):
    client = make_client(Flavour.CLOUD, CLOUD_URL, [], timeout=timeout)
    mocked.get(client.url("/myself"), body=requests.ReadTimeout("slow"))
    with pytest.raises(JiraTimeout) as raised:
        client.myself()
    words = explain(raised.value, CLOUD)
    assert f"did not answer {within(timeout)}" in words
    assert within(timeout) in str(raised.value) and within(timeout) in raised.value.hint
    others = {"within 10 seconds", "within 30 seconds", "within 2.5 seconds"} - {within(timeout)}
    assert not any(other in words + str(raised.value) for other in others)


def test_within_names_the_number_or_nothing():
    assert within(30) == "within 30 seconds" and within(1) == "within 1 second"
    assert within(2.5) == "within 2.5 seconds" and within(None) == "in time"


def test_a_timeout_passed_in_wins_and_an_unknown_one_names_no_number():
    error = JiraTimeout("t", timeout=30.0)
    assert "within 45 seconds" in explain(error, CLOUD, timeout=45)
    bare = explain(JiraTimeout("t"), CLOUD)
    assert "did not answer in time" in bare and "seconds" not in bare


def test_every_error_code_has_its_own_hint():
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, JiraError) and cls is not JiraError
    }
    assert codes - {"bad_credentials", "timeout"} <= set(HINTS)
    assert hint("bad_credentials", flavour=Flavour.DATA_CENTER).startswith("Check the username")
    assert "email:api_token" in hint("bad_credentials", flavour=Flavour.CLOUD)


def test_anything_else_is_shown_as_its_own_message():
    assert explain(ValueError("The stored secret cannot be read"), CLOUD) == (
        "The stored secret cannot be read"
    )
