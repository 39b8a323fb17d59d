"""Standalone sandbox: ``python -m lib.jira.sandbox --port 8080 [--flavour cloud|dc|both] ...``.

Prints its base URL and the demo credentials, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from .app import create_sandbox_app
from .config import FLAVOURS, SandboxConfig
from .server import listening_socket


def _rate_limit(text: str) -> tuple[int, float]:
    """``N/SECONDS`` (or just ``N`` per 60 s)."""
    count, _, seconds = text.partition("/")
    try:
        return int(count), float(seconds or 60)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N/SECONDS, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lib.jira.sandbox", description="Jira-compatible sandbox server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--flavour", choices=FLAVOURS, default="cloud")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--rate-limit", type=_rate_limit, default=(0, 60.0), metavar="N/SECONDS")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of 5xx answers, 0..1")
    parser.add_argument(
        "--timeout-rate", type=float, default=0.0, help="share of answers that never come"
    )
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument(
        "--captcha-after", type=int, default=0, help="bad Basic logins before a CAPTCHA lockout"
    )
    parser.add_argument(
        "--state-file", default=None, help="keep issues in this JSON file across restarts"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    limit, seconds = args.rate_limit
    return SandboxConfig(
        flavour=args.flavour,
        latency_ms=args.latency_ms,
        rate_limit=limit,
        rate_limit_seconds=seconds,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        drop_rate=args.drop_rate,
        hang_seconds=args.hang_seconds,
        captcha_after=args.captcha_after,
        state_file=args.state_file,
        seed=args.seed,
    )


def describe(config: SandboxConfig, base_url: str) -> str:
    lines = [f"Jira sandbox ({config.flavour}) at {base_url}"]
    if config.flavour in ("cloud", "both"):
        lines.append(
            f"  Cloud API {base_url}/rest/api/3  Basic {config.cloud_email} : {config.cloud_api_token}"
        )
    if config.flavour in ("dc", "both"):
        lines.append(
            f"  DC API    {base_url}/rest/api/2  Bearer {config.dc_pat}  or Basic {config.dc_username} : {config.dc_password}"
        )
    # The second user (a colleague in Jira), beside the first, after it.
    if config.flavour in ("cloud", "both"):
        lines.append(
            f"  Other user (Cloud)  Basic {config.other_cloud_email} : {config.other_cloud_api_token}"
        )
    if config.flavour in ("dc", "both"):
        lines.append(f"  Other user (DC)     Bearer {config.other_dc_pat}")
    lines.append(f"  Browse    {base_url}/   Control {base_url}/_sandbox/stats")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sock = listening_socket(args.host, args.port)  # Nagle off: see server.py
    host, port = sock.getsockname()[:2]
    print(describe(config, f"http://{host}:{port}"), flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_sandbox_app(config),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
