"""Fault injection: latency, Cloud-style rate limits, 5xx, hangs and dropped connections.

Faults come from two places: ``SandboxConfig`` (rates, active for the whole
run, drawn from a seeded RNG so runs repeat) and scripted ``Fault`` rules
added through ``POST /_sandbox/faults`` (deterministic: "the next POST to
/issue is dropped after it was applied"). Only ``/rest/...`` requests are
faulted; the control API and the HTML pages always answer.

A dropped connection is made by starting the response with a header value no
HTTP/1.1 server may send: uvicorn (h11) refuses it before writing a byte and,
as the app then returns without a response, closes the socket. ``requests``
sees ``requests.exceptions.ConnectionError`` (RemoteDisconnected), exactly as
when a proxy or Jira node dies mid-request.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from .config import SandboxConfig

KINDS = (
    "status",
    "timeout",
    "drop",
    "drop_after_apply",
    "timeout_after_apply",
    "latency",
    "captcha",
    "apply_late",  # held latency_ms (past the client's timeout), then applied; answer lost
)
BODIES_KEPT = 100  # recent write bodies, so tests can compare what was sent
NEAR_LIMIT_SHARE = 0.2


@dataclass
class Fault:
    """One scripted fault: what to do to the next ``count`` matching requests."""

    kind: str
    method: str = "*"
    path: str = ".*"
    status: int = 503
    retry_after: int | None = None
    count: int | None = 1  # None: every matching request, until cleared
    latency_ms: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        re.compile(self.path)

    @classmethod
    def from_json(cls, data: dict) -> Fault:
        """Raises: ValueError on unknown keys, kinds or a bad regex."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        return cls(**data)

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method in ("*", method.upper())
        return method_ok and re.search(self.path, path) is not None


@dataclass
class FaultSettings:
    """The run-wide knobs, changeable at runtime through ``POST /_sandbox/settings``."""

    latency_ms: int = 0
    rate_limit: int = 0
    rate_limit_seconds: float = 60.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    hang_seconds: float = 30.0
    captcha_after: int = 0

    @classmethod
    def from_config(cls, config: SandboxConfig) -> FaultSettings:
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


class FaultController:
    """Decides, per request, which fault (if any) applies; keeps request stats."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.settings = FaultSettings.from_config(self._config)
            self.faults = [
                f if isinstance(f, Fault) else Fault.from_json(f) for f in self._config.faults
            ]
            self._rng = random.Random(self._config.seed)
            self._window_start = 0.0
            self._window_count = 0
            self.bad_logins = 0
            self.received: Counter[str] = Counter()
            self.applied: Counter[str] = Counter()
            self.injected: Counter[str] = Counter()
            self.bodies: list[dict] = []

    def update_settings(self, changes: dict) -> None:
        """Raises: ValueError for unknown settings."""
        with self._lock:
            merged = {**asdict(self.settings), **changes}
            self.settings = FaultSettings(**merged)

    def add_faults(self, faults: list[Fault]) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_scripted(self, method: str, path: str) -> Fault | None:
        """The first scripted fault matching the request, consuming one use of it."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def random_fault(self) -> Fault | None:
        with self._lock:
            settings, draw = self.settings, self._rng.random()
            if draw < settings.error_rate:
                return Fault("status", status=self._rng.choice((500, 502, 503, 504)))
            draw -= settings.error_rate
            if draw < settings.timeout_rate:
                return Fault("timeout")
            if draw - settings.timeout_rate < settings.drop_rate:
                return Fault("drop")
        return None

    def take_rate_budget(self) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Count one request against a fixed window; (allowed, headers to send)."""
        with self._lock:
            limit, seconds = self.settings.rate_limit, self.settings.rate_limit_seconds
            if limit <= 0:
                return True, []
            now = time.monotonic()
            if now - self._window_start >= seconds:
                self._window_start, self._window_count = now, 0
            reset_in = self._window_start + seconds - now
            if self._window_count >= limit:
                return False, _limited_headers(limit, reset_in)
            self._window_count += 1
            remaining = limit - self._window_count
        headers = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
        ]
        if remaining < limit * NEAR_LIMIT_SHARE:
            headers.append((b"x-ratelimit-nearlimit", b"true"))
        return True, headers

    def count(self, counter: str, method: str, path: str) -> None:
        with self._lock:
            getattr(self, counter)[f"{method} {path}"] += 1

    def note_body(self, method: str, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.bodies.append({"method": method, "path": path, "body": body})
            del self.bodies[:-BODIES_KEPT]

    def note_injected(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def stats_json(self) -> dict:
        with self._lock:
            return {
                "received": dict(self.received),
                "applied": dict(self.applied),
                "injected": dict(self.injected),
                "faults": [asdict(fault) for fault in self.faults],
                "settings": asdict(self.settings),
                "bad_logins": self.bad_logins,
                "bodies": list(self.bodies),
            }


def _limited_headers(limit: int, reset_in: float) -> list[tuple[bytes, bytes]]:
    retry_after = max(1, math.ceil(reset_in))
    reset_at = datetime.fromtimestamp(time.time() + reset_in, UTC)
    return [
        (b"retry-after", str(retry_after).encode()),
        (b"x-ratelimit-limit", str(limit).encode()),
        (b"x-ratelimit-remaining", b"0"),
        (b"x-ratelimit-reset", reset_at.strftime("%Y-%m-%dT%H:%MZ").encode()),
        (b"ratelimit-reason", b"jira-burst-based"),
    ]


def relative_path(scope: dict) -> str:
    """The request path below any mount prefix (Starlette keeps the full path)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def send_json(send, status: int, body: Any, headers: list | None = None) -> None:
    payload = json.dumps(body).encode()
    head = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": payload})


async def drop_connection(send) -> None:
    """Close the connection without answering (see the module docstring)."""
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"x-sandbox-drop", b"now\r\n")],
            }
        )
    except Exception:  # noqa: BLE001 - the refusal is the point: the server now closes
        return
    # A server that let the header through: leave the body unfinished instead.
    await send({"type": "http.response.body", "body": b"{", "more_body": True})


class FaultMiddleware:
    """ASGI middleware applying the controller's faults to ``/rest/...`` requests."""

    def __init__(self, app, controller: FaultController) -> None:
        self.app = app
        self.controller = controller

    async def __call__(self, scope, receive, send) -> None:
        path = relative_path(scope) if scope["type"] == "http" else ""
        if not path.startswith("/rest/"):
            await self.app(scope, receive, send)
            return
        control, method = self.controller, scope["method"]
        control.count("received", method, path)
        if method in ("POST", "PUT"):
            raw = await _read_body(receive)
            control.note_body(method, path, raw)
            receive = _replay(raw, receive)
        fault = control.take_scripted(method, path)
        latency_ms = control.settings.latency_ms
        if fault is not None and fault.kind == "latency":
            latency_ms, fault = latency_ms + fault.latency_ms, None
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        fault = fault or control.random_fault()
        if fault is not None:
            control.note_injected(fault.kind)
            await self._inject(fault, scope, receive, send, method, path)
            return
        allowed, rate_headers = control.take_rate_budget()
        if not allowed:
            control.note_injected("rate_limit")
            body = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
            await send_json(send, 429, body, rate_headers)
            return
        await self.app(scope, receive, _adding_headers(send, rate_headers))
        control.count("applied", method, path)

    async def _inject(self, fault: Fault, scope, receive, send, method: str, path: str) -> None:
        hang = self.controller.settings.hang_seconds
        if fault.kind == "status":
            headers = (
                [(b"retry-after", str(fault.retry_after).encode())] if fault.retry_after else []
            )
            body = {
                "errorMessages": [f"Sandbox fault: injected HTTP {fault.status}."],
                "errors": {},
            }
            await send_json(send, fault.status, body, headers)
        elif fault.kind == "captcha":
            body = {
                "errorMessages": ["CAPTCHA required: log in once through the browser."],
                "errors": {},
            }
            await send_json(send, 401, body, [(b"x-seraph-loginreason", b"AUTHENTICATION_DENIED")])
        elif fault.kind == "apply_late":
            # Held past the client's timeout, then applied: the client has given
            # up (a timeout), and the write lands later, as Jira sometimes does.
            await asyncio.sleep(fault.latency_ms / 1000)
            await self.app(scope, receive, _swallow)
            self.controller.count("applied", method, path)
            try:
                await drop_connection(send)
            except Exception:  # noqa: BLE001 - the client left long ago: nothing to close
                pass
        elif fault.kind in ("drop", "timeout"):
            # Read the request first: closing on an unread body makes the kernel
            # send a reset, and the client's error would vary between runs.
            await _drain(receive)
            if fault.kind == "timeout":
                # asyncio.sleep, not time.sleep: other requests keep being answered.
                await asyncio.sleep(hang)
            await drop_connection(send)
        else:  # the request is applied, then its answer is lost
            await self.app(scope, receive, _swallow)
            self.controller.count("applied", method, path)
            if fault.kind == "timeout_after_apply":
                await asyncio.sleep(hang)
            await drop_connection(send)


async def _drain(receive) -> None:
    message = {"more_body": True}
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return


async def _read_body(receive) -> bytes:
    chunks: list[bytes] = []
    message = {"more_body": True}
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _replay(raw: bytes, original):
    """A receive that gives the app the body already read, then behaves like the server's."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await original()  # waits for the disconnect, as a live request does

    return receive


async def _swallow(message) -> None:
    """A send that discards the answer of a request whose answer must be lost."""


def _adding_headers(send, headers: list[tuple[bytes, bytes]]):
    if not headers:
        return send

    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + headers}
        await send(message)

    return wrapped
