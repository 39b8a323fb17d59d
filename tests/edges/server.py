"""A real dashboard process for tests: ``streamlit run app.py`` on a port, with a temporary DB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DashboardProcess:
    proc: subprocess.Popen
    url: str
    db_path: Path
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self) -> dict:
        return requests.get(f"{self.url}/api/v1/health", timeout=5).json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` and wait; the exit code (killed, and a failed test, if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the dashboard did not stop within {timeout} s: {self.output()[-2000:]}")


def start_dashboard(
    data: Path,
    *,
    port: int | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> DashboardProcess:
    """Start the dashboard on ``port`` (a free one by default) and wait for its health route."""
    port = port or free_port()
    db = data / "e2e.duckdb"
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ANOMALY_DESK_")  # only what the test asks for
    }
    full_env.update(
        {
            "ANOMALY_DESK_DB": str(db),
            "ANOMALY_DESK_DEMO_DATA": "1",
            # Not the project's secrets.toml: a developer's [jira] must not reach tests.
            "ANOMALY_DESK_SECRETS_FILE": str(data / "secrets.toml"),
            **(env or {}),
        }
    )
    log_path = data / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=cwd,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = DashboardProcess(proc, f"http://127.0.0.1:{port}", db, log_path)

    def answering() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited: {running.output()[-2000:]}")
        return requests.get(f"{running.url}/api/v1/health", timeout=1).ok

    try:
        wait_until(answering, timeout, f"the dashboard answering at {running.url}")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return running
