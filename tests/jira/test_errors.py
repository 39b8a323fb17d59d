"""Each error class, from each body shape, through the client and through the builder."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
import urllib3

from lib.jira import (
    BadCredentials,
    BadRequest,
    CaptchaRequired,
    Conflict,
    Flavour,
    Forbidden,
    Gone,
    JiraConnectionError,
    JiraDnsError,
    JiraError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    UnexpectedAnswer,
    error_from_response,
)
from lib.jira.errors import parse_error_body

STATUS_CASES = [
    (400, BadRequest, "bad_request"),
    (401, BadCredentials, "bad_credentials"),
    (403, Forbidden, "forbidden"),
    (404, NotFound, "not_found"),
    (409, Conflict, "conflict"),
    (410, Gone, "gone"),
    (413, TooLarge, "too_large"),
    (429, RateLimited, "rate_limited"),
    (500, ServerError, "server_error"),
    (503, ServerError, "server_error"),
]


@pytest.mark.parametrize("status,cls,code", STATUS_CASES)
@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_each_status_maps_to_its_class(flavour, status, cls, code, request, mocked):
    client = request.getfixturevalue(flavour)
    client.retry_policy = type(client.retry_policy)(max_attempts=1)
    mocked.get(
        client.url("/issue/DQ-1"),
        status=status,
        json={"errorMessages": ["Something specific"], "errors": {}},
    )
    with pytest.raises(cls) as info:
        client.get_issue("DQ-1")
    err = info.value
    assert (err.code, err.status, err.method) == (code, status, "GET")
    assert err.path.endswith("/issue/DQ-1") and "?" not in err.path
    assert "Something specific" in str(err) and f"HTTP {status}" in str(err)


def test_messages_say_what_to_do_per_flavour(mocked, cloud, dc):
    for client in (cloud, dc):
        mocked.get(client.url("/myself"), status=401, body="")
    with pytest.raises(BadCredentials, match="email:api_token.*expire within a year"):
        cloud.myself()
    with pytest.raises(BadCredentials, match="personal access token"):
        dc.myself()


def test_field_errors_are_kept_for_the_form(dc, mocked):
    mocked.post(
        dc.url("/issue"),
        status=400,
        json={
            "errorMessages": [],
            "errors": {"priority": "Priority name 'X' is not valid", "summary": "Too long"},
        },
    )
    with pytest.raises(BadRequest) as info:
        dc.create_issue({"summary": "s"})
    assert info.value.field_errors == {
        "priority": "Priority name 'X' is not valid",
        "summary": "Too long",
    }
    assert "priority: Priority name" in str(info.value)


def test_gone_for_the_removed_cloud_search(cloud, mocked):
    mocked.get(
        cloud.url("/myself"),
        status=410,
        json={"errorMessages": ["The requested API has been removed."]},
    )
    with pytest.raises(Gone, match="removed"):
        cloud.myself()


@pytest.mark.parametrize(
    "header,value",
    [
        ("X-Seraph-LoginReason", "AUTHENTICATION_DENIED"),
        ("X-Authentication-Denied-Reason", "CAPTCHA_CHALLENGE; login-url=https://jira/login.jsp"),
    ],
)
def test_captcha_is_recognised_and_never_retried(dc, mocked, sleeps, header, value):
    mocked.get(dc.url("/myself"), status=401, headers={header: value}, body="")
    with pytest.raises(CaptchaRequired, match="log in once in a browser") as info:
        dc.myself()
    assert info.value.code == "captcha_required" and len(mocked.calls) == 1 and sleeps == []


def test_plain_401_login_reason_is_not_captcha(dc, mocked):
    mocked.get(
        dc.url("/myself"), status=401, headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
    )
    with pytest.raises(BadCredentials):
        dc.myself()


@pytest.mark.parametrize(
    "text,ctype,messages,fields",
    [
        (
            '{"errorMessages": ["a", "b"], "errors": {"f": "bad"}}',
            "application/json",
            ["a", "b"],
            {"f": "bad"},
        ),
        (
            '{"message": "Client must be authenticated", "status-code": 401}',
            "application/json",
            ["Client must be authenticated"],
            {},
        ),
        (
            "<html><head><title>Login</title></head><body>x</body></html>",
            "text/html",
            ["HTML page: Login"],
            {},
        ),
        (
            "<html><body><h1>Proxy</h1> error<script>x()</script></body></html>",
            "text/html",
            ["HTML page: Proxy error"],
            {},
        ),
        ("XSRF check failed", "text/plain", ["XSRF check failed"], {}),
        ("", "", [], {}),
        ("   ", "text/plain", [], {}),
        ('["odd"]', "application/json", ['["odd"]'], {}),
    ],
)
def test_parse_error_body_shapes(text, ctype, messages, fields):
    assert parse_error_body(text, ctype) == (messages, fields)


def test_long_bodies_are_cut():
    messages, _ = parse_error_body("x" * 5000, "text/plain")
    assert len(messages[0]) <= 300


def _response(
    status, body=b"", headers=None, url="https://jira.example.com/rest/api/2/issue?jql=secret"
):
    resp = requests.Response()
    resp.status_code = status
    resp._content = body
    resp.headers.update(headers or {})
    resp.url = url
    resp.request = requests.Request("GET", url).prepare()
    return resp


def test_error_from_response_without_client():
    err = error_from_response(_response(418, b"teapot"), Flavour.DATA_CENTER)
    assert type(err) is JiraError and err.code == "jira_error" and err.path == "/rest/api/2/issue"
    assert "jql" not in str(err) and "jql" not in repr(err)
    err = error_from_response(_response(404, headers={"X-AREQUESTID": "req-1"}), Flavour.CLOUD)
    assert "or no permission" in str(err) and "req-1" in str(err) and err.request_id == "req-1"


@pytest.mark.parametrize(
    "exc,cls,code",
    [
        (requests.ConnectTimeout("t"), JiraTimeout, "timeout"),
        (requests.ReadTimeout("t"), JiraTimeout, "timeout"),
        (requests.ConnectionError("Connection refused"), JiraConnectionError, "connection_error"),
        (
            requests.ConnectionError(
                urllib3.exceptions.NameResolutionError("h", None, socket.gaierror("x"))
            ),
            JiraDnsError,
            "dns_failure",
        ),
        (
            requests.exceptions.SSLError(ssl.SSLCertVerificationError("certificate verify failed")),
            JiraTLSError,
            "tls_error",
        ),
    ],
)
def test_exceptions_map_to_classes(cloud, mocked, exc, cls, code):
    mocked.put(cloud.url("/issue/DQ-1"), body=exc)
    with pytest.raises(cls) as info:
        cloud.edit_issue("DQ-1", {"summary": "s"})
    assert info.value.code == code and info.value.status is None and info.value.method == "PUT"
    assert isinstance(info.value, JiraError)
    assert len(mocked.calls) == 3  # PUT is idempotent: retried up to max_attempts


def test_tls_hint_mentions_ca_bundle(cloud, mocked):
    mocked.get(cloud.url("/myself"), body=requests.exceptions.SSLError("bad cert"))
    with pytest.raises(JiraTLSError, match="CA bundle"):
        cloud.myself()


def test_non_json_success_is_an_unexpected_answer(dc, mocked):
    mocked.get(dc.url("/myself"), body="<html>Login</html>", content_type="text/html")
    with pytest.raises(UnexpectedAnswer, match="not JSON"):
        dc.myself()


def test_error_is_not_chained_to_the_requests_exception(cloud, mocked):
    mocked.post(cloud.url("/issue"), body=requests.ConnectionError("x"))
    with pytest.raises(JiraConnectionError) as info:
        cloud.create_issue({"summary": "s"})
    assert info.value.__cause__ is None and info.value.__context__ is None
