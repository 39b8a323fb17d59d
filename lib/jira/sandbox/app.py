"""The sandbox as a Starlette app: ``create_sandbox_app(config)``.

One app serves both API versions: ``/rest/api/3`` behaves like Jira Cloud
and ``/rest/api/2`` like Data Center (see ``SandboxConfig`` for which one the
server claims to be). Handlers get a ``Call`` (version, base URL with the
mount prefix, runtime) after the version gate and authentication ran.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import OTHER_USER, PRIMARY_USER, SandboxConfig
from .faults import FaultController, FaultMiddleware
from .state import SandboxState


class JiraJSONResponse(JSONResponse):
    media_type = "application/json;charset=UTF-8"


@dataclass
class SandboxRuntime:
    """Everything a handler may touch: settings, the issues, the fault controller."""

    config: SandboxConfig
    state: SandboxState
    faults: FaultController

    def reset(self) -> None:
        self.state.reset()
        self.faults.reset()


@dataclass
class Call:
    request: Request
    version: str
    runtime: SandboxRuntime

    @property
    def base(self) -> str:
        return sandbox_base_url(self.request)

    @property
    def config(self) -> SandboxConfig:
        return self.runtime.config

    @property
    def user(self) -> str:
        """Who authenticated: ``PRIMARY_USER`` or ``OTHER_USER`` (the colleague in Jira)."""
        who, _ = caller(self.request.headers.get("authorization", ""), self.config)
        return who or PRIMARY_USER

    @property
    def cloud_api(self) -> bool:
        """Cloud-only endpoints (project/search, search/jql) exist on this path."""
        return self.version == "3" or self.config.flavour == "cloud"


def sandbox_base_url(request: Request) -> str:
    """Base URL incl. the mount prefix, ending in '/' (for self and browse links).

    Not ``request.base_url``: Starlette builds that from the *top-level* app's
    root, which drops the ``/sandbox`` prefix when the dashboard mounts us.
    """
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}/"


class PayloadError(Exception):
    """The request body is not JSON: Jira answers 400 before looking further."""


def jira_error(status: int, messages=(), errors: dict | None = None, headers=None) -> Response:
    """Jira's usual error body: ``{"errorMessages": [...], "errors": {...}}``."""
    body = {"errorMessages": list(messages), "errors": errors or {}}
    return JiraJSONResponse(body, status_code=status, headers=headers)


def json_answer(body: Any, status: int = 200) -> Response:
    return JiraJSONResponse(body, status_code=status)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)


NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


async def json_body(request: Request) -> Any:
    """The parsed JSON body (None when empty). Raises: PayloadError."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(str(exc)) from exc


def _credentials_ok(header: str, config: SandboxConfig) -> tuple[bool, bool]:
    """(valid, was_basic) for an Authorization header, by the server's flavour."""
    who, was_basic = caller(header, config)
    return who is not None, was_basic


def caller(header: str, config: SandboxConfig) -> tuple[str | None, bool]:
    """(who, was_basic): ``PRIMARY_USER``, ``OTHER_USER`` or None for bad credentials."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        token = value.strip()
        if config.flavour not in ("dc", "both"):
            return None, False
        if token == config.dc_pat:
            return PRIMARY_USER, False
        return (OTHER_USER if token == config.other_dc_pat else None), False
    if scheme.lower() != "basic":
        return None, False
    try:
        user, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, True
    cloud = config.flavour in ("cloud", "both")
    if cloud and (user, secret) == (config.cloud_email, config.cloud_api_token):
        return PRIMARY_USER, True
    if cloud and (user, secret) == (config.other_cloud_email, config.other_cloud_api_token):
        return OTHER_USER, True
    dc_ok = config.flavour in ("dc", "both") and (user, secret) == (
        config.dc_username,
        config.dc_password,
    )
    return (PRIMARY_USER if dc_ok else None), True


def authenticate(request: Request, runtime: SandboxRuntime) -> Response | None:
    """None when the caller may proceed, else Jira's 401.

    A DC-style CAPTCHA lockout follows ``captcha_after`` bad Basic logins:
    from then on even correct Basic credentials get 401 with
    ``X-Seraph-LoginReason: AUTHENTICATION_DENIED`` (until a reset), because
    that is what makes a real client stop retrying and ask for a browser login.
    """
    header = request.headers.get("authorization", "")
    valid, was_basic = _credentials_ok(header, runtime.config) if header else (False, False)
    faults = runtime.faults
    captcha_after = faults.settings.captcha_after
    if was_basic and captcha_after and faults.bad_logins >= captcha_after:
        denied = {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}
        return jira_error(401, [NOT_AUTHENTICATED], headers=denied)
    if valid:
        if was_basic:
            faults.bad_logins = 0
        return None
    if was_basic:
        faults.bad_logins += 1
    headers = (
        {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if runtime.config.flavour == "dc" else None
    )
    return jira_error(401, [NOT_AUTHENTICATED], headers=headers)


Handler = Callable[[Call], Awaitable[Response]]


def api_route(
    path: str,
    handler: Handler,
    methods: list[str],
    runtime: SandboxRuntime,
    *,
    anonymous: bool = False,
) -> Route:
    """A ``/rest/api/{version}`` route with the version gate and auth in front."""

    async def endpoint(request: Request) -> Response:
        version = request.path_params["version"]
        if version not in ("2", "3") or (version == "3" and not runtime.config.serves_v3):
            return jira_error(404, ["The requested resource could not be found."])
        if not anonymous:
            refusal = authenticate(request, runtime)
            if refusal is not None:
                return refusal
        try:
            return await handler(Call(request, version, runtime))
        except PayloadError:
            return jira_error(
                400, ["Invalid request payload. Refer to the REST API documentation and try again."]
            )

    return Route("/rest/api/{version}" + path, endpoint, methods=methods)


def create_sandbox_app(config: SandboxConfig | None = None) -> Starlette:
    """A Jira-compatible ASGI app; mount it anywhere (links follow the prefix)."""
    from . import control, issues, meta, pages, search

    config = config or SandboxConfig()
    runtime = SandboxRuntime(config, SandboxState(config.state_file), FaultController(config))
    routes = (
        meta.routes(runtime)
        + issues.routes(runtime)
        + search.routes(runtime)
        + pages.routes(runtime)
    )
    if config.control_api:
        routes += control.routes(runtime)
    app = Starlette(
        routes=routes, middleware=[Middleware(FaultMiddleware, controller=runtime.faults)]
    )
    app.state.sandbox = runtime
    return app
