"""Settings read the same by the app, a page and the command line, from any folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lib.connections.api_token import ensure_token
from lib.settings import SettingsError, read_settings
from lib.store.db import Database

ROOT = Path(__file__).resolve().parents[2]

SECRETS = """
[anomaly_desk]
refresh_minutes = 7
public_url = "https://desk.example.com"

[jira]
kind = "cloud"
host = "https://acme.atlassian.net"
email = "me@acme.com"
api_token = "not-a-real-token"
"""

# What Streamlit's st.secrets would find in the working directory: a trap.
DECOY = '[anomaly_desk]\nrefresh_minutes = 3\n[jira]\nkind = "dc"\nhost = "https://wrong.example"\n'

READ_ALL_THREE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import app
    from components import common
    import lib.cli as cli

    seen = {}
    def capture(settings, file):
        seen["cli"] = settings
        return 0
    cli.cmd_import = capture
    cli.main(["import", "anything.csv"])
    out = {"app": app.SETTINGS, "page": common.settings(), "cli": seen["cli"]}
    print(json.dumps({k: repr(v) for k, v in out.items()}))
    """
)


def _env(tmp_path: Path, secrets_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANOMALY_DESK_")}
    env["ANOMALY_DESK_DB"] = str(tmp_path / "alike.duckdb")
    env["ANOMALY_DESK_DEMO_DATA"] = "0"
    env["ANOMALY_DESK_SECRETS_FILE"] = str(secrets_file)
    return env


@pytest.fixture
def elsewhere(tmp_path) -> tuple[Path, Path]:
    """A working directory with a decoy secrets.toml, and the real file somewhere else."""
    folder = tmp_path / "elsewhere"
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "secrets.toml").write_text(DECOY)
    real = tmp_path / "conf" / "secrets.toml"
    real.parent.mkdir()
    real.write_text(SECRETS)
    return folder, real


def test_app_page_and_cli_read_the_same_settings_from_another_folder(tmp_path, elsewhere):
    folder, real = elsewhere
    done = subprocess.run(
        [sys.executable, "-c", READ_ALL_THREE, str(ROOT)],
        cwd=folder,
        env=_env(tmp_path, real),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["app"] == seen["page"] == seen["cli"]
    assert "refresh_minutes=7" in seen["app"] and "acme.atlassian.net" in seen["app"]
    assert "wrong.example" not in seen["app"]


class _Recorder(BaseHTTPRequestHandler):
    calls: list[tuple[str, str]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        _Recorder.calls.append((self.path, self.headers.get("authorization", "")))
        body = json.dumps({"inserted": 1, "updated": 0}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.calls
    server.shutdown()
    server.server_close()


def test_cli_honours_secrets_toml(tmp_path, elsewhere, recorder):
    """The dashboard's address in secrets.toml is where the command sends its file."""
    folder, real = elsewhere
    url, calls = recorder
    real.write_text(f'[anomaly_desk]\ndashboard_url = "{url}"\n')
    env = _env(tmp_path, real)
    token = ensure_token(Path(env["ANOMALY_DESK_DB"] + ".api_token"))
    held = Database(Path(env["ANOMALY_DESK_DB"]))  # as a running dashboard would hold it
    try:
        data = folder / "a.json"
        data.write_text("[]")
        done = subprocess.run(
            [sys.executable, "-m", "lib.cli", "import", str(data)],
            cwd=folder,
            env={**env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        held.close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert calls == [("/api/v1/import?filename=a.json", f"Bearer {token}")]


def test_a_malformed_secrets_toml_is_named_without_its_contents(tmp_path):
    bad = tmp_path / "secrets.toml"
    bad.write_text('[jira]\napi_token = "s3cret-value\n')
    with pytest.raises(SettingsError) as caught:
        read_settings({"ANOMALY_DESK_SECRETS_FILE": str(bad)})
    assert str(bad) in str(caught.value) and "s3cret" not in str(caught.value)


def test_the_cli_refuses_a_malformed_secrets_toml_with_exit_2(tmp_path, capsys):
    import lib.cli as cli

    bad = tmp_path / "secrets.toml"
    bad.write_text("[anomaly_desk\n")
    env = {"ANOMALY_DESK_SECRETS_FILE": str(bad), "ANOMALY_DESK_DB": str(tmp_path / "x.duckdb")}
    assert cli.main(["import", str(bad)], environ=env) == 2
    assert "is not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()


def test_environment_wins_over_the_file_and_relative_paths_mean_the_project(tmp_path):
    conf = tmp_path / "secrets.toml"
    conf.write_text('[anomaly_desk]\ndb_path = "data/other.duckdb"\nrefresh_minutes = 4\n')
    env = {"ANOMALY_DESK_SECRETS_FILE": str(conf), "ANOMALY_DESK_REFRESH_MINUTES": "9"}
    settings = read_settings(env)
    assert settings.refresh_minutes == 9
    assert settings.db_path == ROOT / "data" / "other.duckdb"
