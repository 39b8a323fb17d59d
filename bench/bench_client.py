"""Benchmark: the Jira client's pooled session vs a fresh connection per request.

Starts a local HTTP/1.1 keep-alive server answering ``/rest/api/2/myself``
and sends N requests (default 1,000) both ways. Run:

    .venv/bin/python bench/bench_client.py [N]
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.jira import BearerAuth, Flavour, JiraClient  # noqa: E402

BODY = json.dumps({"name": "bench", "displayName": "Bench"}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Jira behind a proxy would do
    # Headers and body go out in two writes; with Nagle on, a kept-alive
    # connection waits ~40 ms for the client's delayed ACK on every answer.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args) -> None:
        pass


def run(n: int) -> tuple[float, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    auth = BearerAuth("bench-token")
    try:
        pooled = JiraClient(base, auth, flavour=Flavour.DATA_CENTER, trust_env=False)
        pooled.myself()  # warm-up: open the connection once
        started = time.perf_counter()
        for _ in range(n):
            pooled.myself()
        pooled_rate = n / (time.perf_counter() - started)

        started = time.perf_counter()
        for _ in range(n):
            # A new session per call: a new TCP connection each time.
            with requests.Session() as session:
                JiraClient(
                    base, auth, flavour=Flavour.DATA_CENTER, session=session, trust_env=False
                ).myself()
        fresh_rate = n / (time.perf_counter() - started)
    finally:
        server.shutdown()
        server.server_close()
    return pooled_rate, fresh_rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pooled, fresh = run(n)
    print(f"requests: {n}")
    print(f"pooled session:           {pooled:8.0f} req/s")
    print(f"fresh connection per call: {fresh:8.0f} req/s")
    print(f"ratio pooled/fresh:        {pooled / fresh:8.2f}x")


if __name__ == "__main__":
    main()
