"""Every failure the API answers, as JSON: one error shape, one place that maps exceptions.

Decisions, and why:
- One body for every error (``{"error", "code", "field_errors"}``) so a script
  checks one shape; pydantic's 422 is rewritten into it, with the field names
  the caller sent (``title``), and Jira's field errors mapped onto those names
  (Jira says ``summary``, the caller said ``title``).
- A catch-all middleware turns any unexpected exception into a JSON 500 and
  logs it with the request path only: no traceback ever reaches a caller, and
  no header (a token) reaches the log.
- Bodies are capped (1 MB; the import route keeps a larger cap) before they
  are read: the declared length is checked first, a chunked body while it streams.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from lib.http.api.models import UNION_TAGS
from lib.jira import (
    BadCredentials,
    BadRequest,
    CaptchaRequired,
    Forbidden,
    JiraConnectionError,
    JiraDnsError,
    JiraError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    ServerError,
)

log = logging.getLogger("anomaly_desk.api")

BODY_LIMIT = 1_000_000  # bytes: a ticket or a comment is a few KB
IMPORT_LIMIT = 64_000_000  # an anomaly file (the CLI sends it whole)

# Jira's field names -> the names in this API's requests.
JIRA_FIELD_NAMES = {"summary": "title", "issuetype": "issue_type"}

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    500: "internal",
    502: "jira_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success: status, message and optional per-field errors."""

    def __init__(self, status: int, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_errors = dict(field_errors or {})


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the cap. An HTTPException, because FastAPI
    turns any other exception from reading a body into a 400."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


def error_response(
    status: int, message: str, field_errors: dict | None = None, headers: dict | None = None
) -> JSONResponse:
    body = {
        "error": message,
        "code": _CODES.get(status, "error"),
        "field_errors": field_errors or {},
    }
    return JSONResponse(body, status_code=status, headers=headers)


def api_field_errors(jira_errors: dict[str, str]) -> dict[str, str]:
    """Jira's (or the ticket service's) field errors under the names the caller used."""
    out: dict[str, str] = {}
    for name, message in jira_errors.items():
        if name in ("summary", "issuetype", "description", "priority", "project", "labels"):
            out[JIRA_FIELD_NAMES.get(name, name)] = message
        else:
            out[f"fields.{name}"] = message
    return out


def from_jira(exc: JiraError) -> ApiError:
    """What a caller should hear when Jira failed or refused."""
    if isinstance(exc, NotFound):
        return ApiError(404, "Jira has no such issue, or this account may not see it.")
    if isinstance(exc, BadRequest):
        fields = getattr(exc, "field_errors", None) or {}
        return ApiError(422, f"Jira refused the request: {exc}", api_field_errors(fields))
    if isinstance(
        exc,
        (JiraConnectionError, JiraDnsError, JiraTimeout, JiraTLSError, RateLimited, ServerError),
    ):
        return ApiError(503, f"Jira cannot be reached right now; try again later ({exc}).")
    if isinstance(exc, (BadCredentials, CaptchaRequired, Forbidden)):
        return ApiError(502, f"Jira refused this connection's credentials: {exc}")
    return ApiError(502, f"Jira answered unexpectedly: {exc}")


def _validation_fields(exc: RequestValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in ("query", "path", "header"):
            loc = loc[1:2]  # the parameter's name, not the index inside a repeated one
        else:
            loc = [part for part in loc[1:] if part not in UNION_TAGS]
        if error.get("type", "").startswith("union_tag"):
            loc = [str(error.get("ctx", {}).get("discriminator", "")).strip("'")]
        name = ".".join(loc) or "body"
        fields.setdefault(name, str(error.get("msg", "invalid")))
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.field_errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _validation_fields(exc)
        names = ", ".join(sorted(fields))
        return error_response(422, f"Fix the fields marked: {names}.", fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "No such path in the API.", 405: "Method not allowed here."}.get(
            exc.status_code, str(exc.detail)
        )
        if exc.status_code == 400:  # FastAPI's "error parsing the body": bytes that are not JSON
            return error_response(422, "The body is not valid JSON.", {"body": "Not valid JSON."})
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return error_response(exc.status_code, message, headers=headers)

    @app.exception_handler(JiraError)
    async def _jira(_request: Request, exc: JiraError) -> JSONResponse:
        mapped = from_jira(exc)
        return error_response(mapped.status, mapped.message, mapped.field_errors)


def _allowed_methods(request: Request) -> str:
    """Every method any route of this path takes: Starlette names only the first route's."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


class GuardMiddleware:
    """Outermost layer: the body cap, and a JSON 500 for anything unexpected."""

    def __init__(self, app, body_limit: int = BODY_LIMIT, import_limit: int = IMPORT_LIMIT):
        self.app = app
        self.body_limit = body_limit
        self.import_limit = import_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.import_limit if scope["path"].endswith("/v1/import") else self.body_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_json(send, 413, "The request body is too large.")
            return
        started = False
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, "The request body is too large.")
        except Exception:  # noqa: BLE001 - the last net: log it, answer JSON, never a traceback
            log.exception("api.unexpected_error method=%s path=%s", scope["method"], scope["path"])
            if not started:
                await _send_json(send, 500, "Something went wrong on our side; it was logged.")


async def _send_json(send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "code": _CODES.get(status, "error"), "field_errors": {}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
