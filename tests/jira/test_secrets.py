"""A known token goes through every error path; it must show up nowhere."""

from __future__ import annotations

import base64
import logging
import ssl
import traceback

import pytest
import requests

from lib.jira import BasicAuth, BearerAuth, Flavour, JiraError
from tests.jira.conftest import CLOUD_URL, DC_URL, TOKEN, make_client

USER = "bot@acme.example"
FORMS = [TOKEN, base64.b64encode(f"{USER}:{TOKEN}".encode()).decode(), f"{USER}:{TOKEN}"]

# Jira (or a proxy) sometimes echoes what it got: these bodies echo the secrets.
ECHO = f'{{"errorMessages": ["bad header Basic {FORMS[1]} / Bearer {TOKEN}"], "errors": {{"auth": "{TOKEN}"}}}}'
STATUSES = [400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 502, 503, 504, 418]
EXCEPTIONS = [
    requests.ReadTimeout(f"read timed out {TOKEN}"),
    requests.ConnectTimeout("connect timed out"),
    requests.ConnectionError(f"Connection refused for {TOKEN}"),
    requests.ConnectionError(
        "Failed to resolve 'jira.invalid' ([Errno -2] Name or service not known)"
    ),
    requests.exceptions.SSLError(
        ssl.SSLCertVerificationError(f"certificate verify failed {TOKEN}")
    ),
]


def _outputs(exc: BaseException, client, caplog) -> str:
    parts = [
        str(exc),
        repr(exc),
        repr(exc.args),
        str(getattr(exc, "field_errors", "")),
        "".join(traceback.format_exception(exc)),
        caplog.text,
        repr(client),
        str(client),
        repr(client._auth),
        str(client._auth),
    ]
    parts += [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    return "\n".join(parts)


def _clients(sleeps):
    return [
        make_client(Flavour.CLOUD, CLOUD_URL, sleeps, auth=BasicAuth(USER, TOKEN)),
        make_client(Flavour.DATA_CENTER, DC_URL, sleeps, auth=BearerAuth(TOKEN)),
        make_client(Flavour.DATA_CENTER, DC_URL, sleeps, auth=BasicAuth(USER, TOKEN)),
    ]


def _assert_clean(text: str) -> None:
    for form in FORMS:
        assert form not in text


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("captcha", [False, True])
def test_no_secret_in_any_http_error(status, captcha, mocked, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    headers = {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"} if captcha else {}
    for client in _clients(sleeps):
        for method, call in (
            ("GET", lambda c: c.get_issue("DQ-1")),
            ("POST", lambda c: c.create_issue({"summary": TOKEN})),
        ):
            path = "/issue/DQ-1" if method == "GET" else "/issue"
            mocked.add(
                method,
                client.url(path),
                status=status,
                body=ECHO,
                headers=headers,
                content_type="application/json",
            )
            with pytest.raises(JiraError) as info:
                call(client)
            _assert_clean(_outputs(info.value, client, caplog))
            assert info.value.status == status
            mocked.reset()
    # The request itself did carry the token: the test would notice a leak.
    assert caplog.records


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_no_secret_in_timeouts_and_connection_errors(exc, mocked, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    for client in _clients(sleeps):
        mocked.get(client.url("/myself"), body=exc)
        with pytest.raises(JiraError) as info:
            client.myself()
        _assert_clean(_outputs(info.value, client, caplog))
        assert info.value.status is None
        mocked.reset()


def test_html_and_plain_bodies_are_redacted(mocked, sleeps, caplog):
    client = _clients(sleeps)[0]
    mocked.get(
        client.url("/myself"),
        status=401,
        body=f"<html><title>Denied {TOKEN}</title></html>",
        content_type="text/html",
    )
    with pytest.raises(JiraError) as info:
        client.myself()
    _assert_clean(_outputs(info.value, client, caplog))
    assert "[redacted]" in str(info.value)


def test_reprs_hide_the_secret():
    assert TOKEN not in repr(BasicAuth(USER, TOKEN)) and USER in repr(BasicAuth(USER, TOKEN))
    assert TOKEN not in repr(BearerAuth(TOKEN)) and TOKEN not in str(BearerAuth(TOKEN))


def test_the_token_was_really_sent(mocked, sleeps):
    """Guards the tests above: they would pass trivially if no token were sent."""
    client = _clients(sleeps)[1]
    mocked.get(client.url("/myself"), json={"name": "bot", "displayName": "Bot"})
    client.myself()
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
