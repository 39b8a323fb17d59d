"""How the sandbox runs: mounted under a prefix, persisted to a file, from the CLI, as pages."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import requests
from starlette.applications import Starlette
from starlette.routing import Mount

from lib.jira.sandbox import SandboxConfig, create_sandbox_app, start_sandbox_in_thread
from lib.jira.sandbox.server import serve_in_thread
from tests.waiting import wait_until

from .conftest import CLOUD_AUTH, V3Caller, adf, issue_fields

ROOT = Path(__file__).resolve().parents[2]


def test_mounted_under_a_prefix_links_carry_the_prefix(openapi_for, adf_validator):
    outer = Starlette(routes=[Mount("/sandbox", app=create_sandbox_app(SandboxConfig()))])
    server_url, stop = serve_in_thread(outer)
    try:
        base_url = server_url + "/sandbox"
        caller = V3Caller(base_url, openapi_for(base_url), adf_validator)
        created = caller.create(description=adf("see the dashboard"))
        assert created["self"] == f"{base_url}/rest/api/3/issue/{created['id']}"
        issue = caller.get(f"/rest/api/3/issue/{created['key']}").json()
        assert issue["fields"]["status"]["self"].startswith(base_url + "/rest/api/3/")
        assert caller.get("/rest/api/3/serverInfo", auth=None).json()["baseUrl"] == base_url
        index = requests.get(base_url + "/", timeout=5).text
        assert f"{base_url}/browse/DQ-1" in index
        assert (
            requests.get(server_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5).status_code
            == 404
        )
        faults = requests.post(
            base_url + "/_sandbox/faults",
            json=[{"kind": "status", "path": "^/rest/api/3/myself$", "status": 502}],
            timeout=5,
        )
        assert faults.status_code == 201  # fault paths are relative to the mount point
        assert (
            requests.get(base_url + "/rest/api/3/myself", auth=CLOUD_AUTH, timeout=5).status_code
            == 502
        )
    finally:
        stop()


def test_state_file_survives_a_restart(tmp_path):
    state_file = tmp_path / "sandbox.json"
    config = SandboxConfig(state_file=str(state_file))
    first = start_sandbox_in_thread(config)
    try:
        url = first.base_url + "/rest/api/3/issue"
        key = requests.post(
            url,
            json={"fields": issue_fields(labels=["anomaly-desk-3"])},
            auth=CLOUD_AUTH,
            timeout=5,
        ).json()["key"]
        requests.post(
            f"{url}/{key}/comment", json={"body": adf("kept")}, auth=CLOUD_AUTH, timeout=5
        ).raise_for_status()
    finally:
        first.stop()
    assert json.loads(state_file.read_text())["issues"][0]["key"] == "DQ-1"
    second = start_sandbox_in_thread(config)
    try:
        issue = requests.get(
            second.base_url + "/rest/api/3/issue/DQ-1", auth=CLOUD_AUTH, timeout=5
        ).json()
        assert issue["fields"]["labels"] == ["anomaly-desk-3"]
        assert issue["fields"]["comment"]["comments"][0]["body"] == adf("kept")
        made = requests.post(
            second.base_url + "/rest/api/3/issue",
            json={"fields": issue_fields()},
            auth=CLOUD_AUTH,
            timeout=5,
        )
        assert made.json()["key"] == "DQ-2"  # key counters persisted too
    finally:
        second.stop()


def test_browse_page_renders_escaped_rich_text(cloud):
    key = cloud.create(
        summary="<script>alert(1)</script>",
        description={
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {
                            "type": "text",
                            "text": "open",
                            "marks": [{"type": "link", "attrs": {"href": "javascript:alert(1)"}}],
                        },
                        {"type": "text", "text": " <b>", "marks": [{"type": "strong"}]},
                    ],
                },
            ],
        },
    )["key"]
    page = requests.get(f"{cloud.base_url}/browse/{key}", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "javascript:" not in page.text and "<strong> &lt;b&gt;</strong>" in page.text
    assert "To Do" in page.text
    assert requests.get(f"{cloud.base_url}/browse/DQ-404", timeout=5).status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_starts_and_prints_its_url_and_credentials(tmp_path):
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "lib.jira.sandbox",
        "--port",
        str(port),
        "--flavour",
        "both",
        "--latency-ms",
        "1",
        "--rate-limit",
        "100/60",
        "--error-rate",
        "0",
        "--state-file",
        str(tmp_path / "s.json"),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first_line = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line
        banner = first_line + process.stdout.readline() + process.stdout.readline()
        assert "sandbox-api-token" in banner and "sandbox-pat" in banner
        info = wait_until(
            lambda: requests.get(match.group(1) + "/rest/api/3/serverInfo", timeout=1),
            10,
            "the CLI sandbox answering",
        )
        assert info.json()["deploymentType"] == "Cloud"
        assert info.headers["X-RateLimit-Limit"] == "100"
    finally:
        process.terminate()
        process.wait(timeout=10)
