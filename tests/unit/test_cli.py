import json
import subprocess
import sys
from pathlib import Path

from lib.cli import main

ROW = {
    "id": 1,
    "datastore_id": 1,
    "datastore_name": "Warehouse",
    "container": "ORDERS",
    "fields": ["ORDER_ID"],
    "type": "record",
    "status": "Active",
    "detected_at": "2026-11-20T08:00:00Z",
    "failed_checks": [{"check_id": 1, "rule_type": "notNull", "message": "nulls"}],
}


def test_import_into_a_closed_database(tmp_path, capsys):
    env = {"ANOMALY_DESK_DB": str(tmp_path / "cli.duckdb")}
    good = tmp_path / "good.json"
    good.write_text(json.dumps([ROW, {**ROW, "id": 2}]))
    assert main(["import", str(good)], env) == 0
    assert "2 new, 0 updated" in capsys.readouterr().out
    assert main(["import", str(good)], env) == 0
    assert "0 new, 2 updated" in capsys.readouterr().out


def test_bad_file_is_refused_with_exit_1(tmp_path, capsys):
    env = {"ANOMALY_DESK_DB": str(tmp_path / "cli.duckdb")}
    bad = tmp_path / "bad.csv"
    bad.write_text("id,status\n1,Active\n")
    assert main(["import", str(bad)], env) == 1
    assert "Missing required column(s)" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "absent.json")], env) == 2


def test_import_while_the_dashboard_holds_the_database_goes_through_it(dashboard, tmp_path, capsys):
    env = {"ANOMALY_DESK_DB": dashboard.db_path, "ANOMALY_DESK_DASHBOARD_URL": dashboard.url}
    good = tmp_path / "late.json"
    good.write_text(json.dumps([{**ROW, "id": 5000}]))
    assert main(["import", str(good)], env) == 0
    assert "through the running dashboard: 1 new" in capsys.readouterr().out
    bad = tmp_path / "late-bad.json"
    bad.write_text(json.dumps([{**ROW, "id": 5001, "status": "Closed"}]))
    assert main(["import", str(bad)], env) == 1
    assert "status 'Closed'" in capsys.readouterr().err


def test_locked_database_without_a_dashboard_gives_a_clear_message(tmp_path, capsys):
    import subprocess
    import sys

    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(db)!r}); "
            "print('ready', flush=True); sys.stdin.read()",  # holds it until told
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        good = tmp_path / "x.json"
        good.write_text(json.dumps([ROW]))
        env = {"ANOMALY_DESK_DB": str(db), "ANOMALY_DESK_DASHBOARD_URL": "http://127.0.0.1:9"}
        assert main(["import", str(good)], env) == 2
        err = capsys.readouterr().err
        assert "is in use by process" in err and "Traceback" not in err
    finally:
        holder.kill()


def test_the_command_line_starts_without_pandas_or_arrow():
    """pandas is 0.2 s of every command's start (only the Statistics page's frames use it),
    pyarrow and numpy 0.08 s (only the row path's writes and checks use them)."""
    probe = "import sys, lib.cli; print([m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules])"
    root = Path(__file__).resolve().parents[2]
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]"
