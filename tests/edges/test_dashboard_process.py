"""The real dashboard process: its navigation, its address for the CLI, a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edges.page_client import open_page
from tests.edges.server import ROOT, free_port, start_dashboard
from tests.waiting import wait_until

# dashboard.py's navigation: the default page is "" (Anomalies), then the others.
NAVIGATION = [
    "",
    "connect",
    "tickets",
    "jira",
    "rules",
    "reconciliation",
    "log",
    "statistics",
    "settings",
    "api",
]


def test_a_page_address_opened_first_shows_the_navigation(tmp_path):
    server = start_dashboard(tmp_path)
    try:
        first = open_page(server.url, "statistics")  # nobody has opened / yet
    finally:
        server.stop()
    assert first.finished
    assert first.nav_pages == NAVIGATION  # not Streamlit's automatic list of pages/
    assert "Your name" in first.texts and "Statistics" in first.texts  # dashboard.py's layout
    assert first.favicon and not first.favicon.startswith(":material")  # nothing to fetch


def _cli(args: list[str], db: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANOMALY_DESK_")}
    env.update(
        {
            "ANOMALY_DESK_DB": str(db),
            "ANOMALY_DESK_SECRETS_FILE": str(cwd / "absent.toml"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "lib.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_finds_a_dashboard_on_another_port_with_no_variable(tmp_path):
    port = free_port()  # not 8501, and free whoever else runs tests here
    server = start_dashboard(tmp_path, port=port)
    address = server.db_path.with_name(server.db_path.name + ".dashboard.json")
    try:
        assert json.loads(address.read_text())["url"] == f"http://127.0.0.1:{port}"
        data = tmp_path / "one.json"
        row = json.loads((ROOT / "data" / "demo_anomalies.json").read_text())["anomalies"][0]
        data.write_text(json.dumps([{**row, "id": 99_001}]))
        done = _cli(["import", str(data)], server.db_path, tmp_path)
        assert done.returncode == 0, done.stderr
        assert "through the running dashboard: 1 new" in done.stdout
        connect = open_page(server.url, "connect")  # demo mode's sandbox follows the port too
        assert any(f"127.0.0.1:{port}/sandbox" in text for text in connect.texts)
    finally:
        assert server.stop() == 0
    assert not address.exists()  # removed on a clean stop


def test_a_stale_address_file_from_a_crash_is_ignored(tmp_path):
    port = free_port()
    server = start_dashboard(tmp_path, port=port)
    address = server.db_path.with_name(server.db_path.name + ".dashboard.json")
    saved = address.read_text()
    server.stop(signal.SIGKILL)  # a crash: the file stays behind, naming a dead process
    address.write_text(saved)
    data = tmp_path / "one.json"
    row = json.loads((ROOT / "data" / "demo_anomalies.json").read_text())["anomalies"][0]
    data.write_text(json.dumps([{**row, "id": 99_002}]))
    done = _cli(["import", str(data)], server.db_path, tmp_path)
    assert done.returncode == 0, done.stderr  # nobody holds the file: imported directly
    assert "through the running dashboard" not in done.stdout
    restarted = start_dashboard(tmp_path, port=free_port())
    try:
        assert json.loads(address.read_text())["url"] == restarted.url  # overwritten
    finally:
        restarted.stop()


def test_an_edited_secrets_toml_keeps_one_worker_and_stops_cleanly(tmp_path):
    folder = tmp_path / "elsewhere"  # started from another folder, with its own secrets
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "secrets.toml").write_text("[anomaly_desk]\nrefresh_minutes = 3\n")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[anomaly_desk]\nrefresh_minutes = 5\n")
    server = start_dashboard(tmp_path, cwd=folder, env={"ANOMALY_DESK_SECRETS_FILE": str(secrets)})
    try:
        assert "Anomalies" in open_page(server.url).texts
        secrets.write_text('[anomaly_desk]\nrefresh_minutes = 9\n[jira]\nkind = "cloud"\n')
        page = open_page(server.url, "statistics")
        assert page.finished and "Statistics" in page.texts
        assert any("restart it" in text for text in page.texts)
        assert server.health()["sync_workers"] == 1
    finally:
        code = server.stop(signal.SIGTERM)
    output = server.output()
    assert code == 0, output[-3000:]
    assert "connection is busy" not in output.lower()
    assert "Traceback" not in output


@pytest.mark.parametrize("sig", [signal.SIGINT])
def test_ctrl_c_stops_cleanly_too(tmp_path, sig):
    server = start_dashboard(tmp_path)
    wait_until(lambda: server.health()["sync_workers"] == 1, 10, "the worker running")
    assert server.stop(sig) == 0, server.output()[-3000:]
