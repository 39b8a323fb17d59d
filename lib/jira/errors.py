"""The Jira exception family, built from any answer in one place.

Every error carries ``status`` (or None), ``method``, ``path`` (the URL path
only: the query may hold user text and the host may hold credentials), a
stable ``code`` string for programs, and a message that says what to do (its
words come from ``lib.jira.wording``, the one place that words errors).

Errors never keep the ``requests`` response or request: their headers hold
the ``Authorization`` header. Any Jira text echoed into a message is passed
through ``redact`` so a server that echoes the token cannot leak it.
"""

from __future__ import annotations

import html
import json
import logging
import re
import socket
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests

from lib.jira.retry import (
    CONNECTION,
    DNS,
    TIMEOUT,
    TLS,
    UNREADABLE,
    Classification,
    classify,
    server_wait,
)
from lib.jira.wording import hint

CAPTCHA_HEADERS = ("X-Seraph-LoginReason", "X-Authentication-Denied-Reason")
_MAX_DETAIL = 300
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer)\s+(?!\[redacted\])[A-Za-z0-9+/=._~-]{8,}", re.I)


class JiraError(Exception):
    """Base of every error the Jira client raises."""

    code = "jira_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        field_errors: dict[str, str] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        timeout: float | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.field_errors = dict(field_errors or {})
        self.request_id = request_id
        self.retry_after = retry_after  # the server's requested wait (seconds), if any
        self.timeout = timeout  # the client's timeout when no answer came in time
        self.detail = detail  # Jira's own words from the answer's body (redacted), if any

    @property
    def hint(self) -> str:
        """What to do next, in words (``lib.jira.wording``)."""
        return hint(self.code, timeout=self.timeout)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"method={self.method!r}, path={self.path!r})"
        )


class BadRequest(JiraError):
    code = "bad_request"


class BadCredentials(JiraError):
    code = "bad_credentials"


class CaptchaRequired(JiraError):
    code = "captcha_required"


class Forbidden(JiraError):
    code = "forbidden"


class NotFound(JiraError):
    code = "not_found"


class Conflict(JiraError):
    code = "conflict"


class Gone(JiraError):
    code = "gone"


class TooLarge(JiraError):
    code = "too_large"


class RateLimited(JiraError):
    code = "rate_limited"


class ServerError(JiraError):
    code = "server_error"


class JiraTimeout(JiraError):
    code = "timeout"


class JiraConnectionError(JiraError):
    code = "connection_error"


class JiraDnsError(JiraConnectionError):
    code = "dns_failure"


class JiraTLSError(JiraConnectionError):
    code = "tls_error"


class UnexpectedAnswer(JiraError):
    code = "unexpected_answer"


_BY_STATUS: dict[int, type[JiraError]] = {
    400: BadRequest,
    401: BadCredentials,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: TooLarge,
    422: BadRequest,
    429: RateLimited,
}


_STATUS_OF: dict[type[JiraError], int] = {cls: status for status, cls in _BY_STATUS.items()}
_STATUS_OF[ServerError] = 500


def failure_kind(error: JiraError) -> str | None:
    """The ``lib.jira.retry`` failure kind of an error that carries no HTTP answer."""
    for cls, kind in (
        (JiraDnsError, DNS),
        (JiraTLSError, TLS),
        (JiraTimeout, TIMEOUT),
        (JiraConnectionError, CONNECTION),
        (UnexpectedAnswer, UNREADABLE),
    ):
        if isinstance(error, cls):
            return kind
    return None


class ErrorKind(StrEnum):
    """What went wrong, for people and charts: the Log's filter, the failure chart, health."""

    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    NETWORK = "network"
    SERVER = "server"
    OTHER = "other"


_KIND_OF: tuple[tuple[type[JiraError], ErrorKind], ...] = (
    (BadCredentials, ErrorKind.AUTHENTICATION),
    (CaptchaRequired, ErrorKind.AUTHENTICATION),
    (Forbidden, ErrorKind.PERMISSION),
    (BadRequest, ErrorKind.VALIDATION),
    (TooLarge, ErrorKind.VALIDATION),
    (Conflict, ErrorKind.VALIDATION),
    (NotFound, ErrorKind.NOT_FOUND),
    (Gone, ErrorKind.NOT_FOUND),
    (RateLimited, ErrorKind.RATE_LIMITED),
    (JiraTimeout, ErrorKind.NETWORK),
    (JiraConnectionError, ErrorKind.NETWORK),  # DNS and TLS too: nothing reached Jira
    (ServerError, ErrorKind.SERVER),
)


def error_kind(error: BaseException) -> ErrorKind:
    """The one classification of failures by kind (subclasses first, so a CAPTCHA is auth)."""
    for cls, kind in _KIND_OF:
        if isinstance(error, cls):
            return kind
    status = getattr(error, "status", None)
    if isinstance(status, int) and status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.OTHER


def classify_error(error: JiraError, method: str) -> Classification:
    """``lib.jira.retry.classify`` for an error the client raised (or a test built)."""
    status = error.status if error.status is not None else _STATUS_OF.get(type(error))
    return classify(
        method,
        status=status if status is not None and status >= 400 else None,
        failure=failure_kind(error),
        captcha=isinstance(error, CaptchaRequired),
        wait=error.retry_after,
    )


def error_from_response(
    response: requests.Response,
    flavour: Any = None,
    *,
    redact: Iterable[str] = (),
    now: datetime | None = None,
) -> JiraError:
    """Turn any failed Jira answer (JSON, HTML, plain text, empty) into a JiraError."""
    status = response.status_code
    method = response.request.method if response.request is not None else None
    path = urlsplit(response.url or "").path or None
    messages, field_errors = parse_error_body(
        response.text, response.headers.get("Content-Type", "")
    )
    cls = _class_for(status, response.headers)
    detail = "; ".join(messages + [f"{k}: {v}" for k, v in field_errors.items()])
    request_id = response.headers.get("X-AREQUESTID") or response.headers.get("X-Request-Id")
    text = _compose(cls, status, method, path, detail, flavour, request_id)
    kw: dict[str, Any] = dict(
        status=status,
        method=method,
        path=path,
        request_id=request_id,
        field_errors={k: scrub(v, redact) for k, v in field_errors.items()},
    )
    # Any answer may name a wait (a 503 with Retry-After too): classify honours it.
    kw["retry_after"] = server_wait(response.headers, now or datetime.now(UTC))
    kw["detail"] = scrub(detail, redact)[:_MAX_DETAIL] or None
    return cls(scrub(text, redact), **kw)


def error_from_element(
    status: int | None,
    messages: Iterable[str],
    field_errors: dict[str, str],
    *,
    method: str,
    path: str,
    flavour: Any = None,
) -> JiraError:
    """One refused element of a bulk call (``errors[].elementErrors``) as its own JiraError.

    Worded and classified like a whole answer with that status, so a bulk
    create's failed item reads and retries exactly like a single create's.
    """
    status = status if isinstance(status, int) and status >= 400 else 400
    fields = {str(k): str(v) for k, v in field_errors.items()}
    detail = "; ".join([*map(str, messages), *(f"{k}: {v}" for k, v in fields.items())])
    cls = _class_for(status, {})
    text = _compose(cls, status, method, path, detail, flavour, None)
    return cls(text, status=status, method=method, path=path, field_errors=fields)


def error_from_exception(
    exc: BaseException,
    *,
    method: str,
    url: str,
    redact: Iterable[str] = (),
    timeout: float | None = None,
) -> JiraError:
    """Turn a ``requests`` exception (no answer from Jira) into a JiraError.

    ``timeout`` is the client's, so the words name the wait that applied.
    """
    path = urlsplit(url).path or None
    cls = _class_for_exception(exc)
    # Only the exception's class name: its text repeats the full URL (query included).
    text = _compose(cls, None, method, path, type(exc).__name__, None, None, timeout)
    return cls(scrub(text, redact), method=method, path=path, timeout=timeout)


def answer_json(response: requests.Response) -> Any:
    """The JSON of a successful answer, or None for 204 / an empty body.

    Raises:
        UnexpectedAnswer: the body is not JSON (an SSO login page or a proxy).
    """
    if response.status_code == 204 or not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        method, path = response.request.method, urlsplit(response.url).path
        raise UnexpectedAnswer(
            f"Jira answered HTTP {response.status_code} to {method} {path} with something "
            f"that is not JSON (a login page or proxy may be in the way). "
            + hint(UnexpectedAnswer.code),
            status=response.status_code,
            method=method,
            path=path,
        ) from None


def log_failure(
    logger: logging.Logger,
    level: int,
    event: str,
    error: JiraError,
    path: str,
    secrets: Iterable[str] = (),
    delay: float | None = None,
) -> None:
    """One server log line for a failed call: method, path, status, Jira's request id.

    ``path`` is the API path without its query (which may hold user text or a
    token), scrubbed of the client's secrets all the same; the same values go
    in ``extra`` for structured handlers.
    """
    fields = {
        "jira_method": error.method,
        "jira_path": scrub(path, secrets),
        "jira_status": error.status,
        "jira_request_id": error.request_id,
        "jira_code": error.code,
        **({"jira_delay": delay} if delay is not None else {}),
    }
    text = " ".join(f"{k.removeprefix('jira_')}={v}" for k, v in fields.items())
    logger.log(level, "%s %s", event, text, extra=fields)


def parse_error_body(text: str, content_type: str = "") -> tuple[list[str], dict[str, str]]:
    """Messages and field errors from every body shape Jira (or a proxy) sends."""
    text = (text or "").strip()
    if not text:
        return [], {}
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        messages = [str(m) for m in body.get("errorMessages") or [] if m]
        errors = body.get("errors")
        fields = {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
        for key in ("message", "errorMessage"):
            if isinstance(body.get(key), str) and body[key]:
                messages.append(body[key])
        return [_short(m) for m in messages], fields
    if body is not None:
        return [_short(json.dumps(body))], {}
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        return [_short(_html_text(text))], {}
    return [_short(text)], {}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (token, password, Basic form) in ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    # Belt and braces: any echoed Authorization value, whoever's it is.
    return _AUTH_VALUE.sub(r"\1 [redacted]", text)


def is_captcha(headers: Any) -> bool:
    """True when Data Center answered with its CAPTCHA lockout headers."""
    reason = headers.get(CAPTCHA_HEADERS[0]) or ""
    return "AUTHENTICATION_DENIED" in reason.upper() or bool(headers.get(CAPTCHA_HEADERS[1]))


def _class_for(status: int, headers: Any) -> type[JiraError]:
    if is_captcha(headers):
        return CaptchaRequired
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return JiraError


def _class_for_exception(exc: BaseException) -> type[JiraError]:
    chain = _chain(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return JiraTimeout
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(e, ssl.SSLError) for e in chain
    ):
        return JiraTLSError
    if any(
        isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError" for e in chain
    ) or re.search(r"NameResolution|getaddrinfo|Name or service not known|nodename", str(exc)):
        return JiraDnsError
    return JiraConnectionError


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (requests hides urllib3's reason in args)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return seen


def _compose(
    cls: type[JiraError],
    status: int | None,
    method: str | None,
    path: str | None,
    detail: str,
    flavour: Any,
    request_id: str | None,
    timeout: float | None = None,
) -> str:
    where = f"{method or '?'} {path or '?'}"
    head = (
        f"Jira answered HTTP {status} to {where}" if status else f"No answer from Jira to {where}"
    )
    parts = [head + (f": {detail}" if detail else "") + "."]
    parts.append(hint(cls.code, flavour=flavour, timeout=timeout))
    if request_id:
        parts.append(f"(Jira request id {request_id})")
    return " ".join(parts)


def _html_text(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    if title and title.group(1).strip():
        return "HTML page: " + html.unescape(title.group(1).strip())
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.I | re.S)
    return "HTML page: " + html.unescape(re.sub(r"<[^>]+>", " ", body))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
