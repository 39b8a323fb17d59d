"""Bad import input: a clear message and nothing changed, through every way in.

The service, the command line (directly and through a running dashboard), the
HTTP route and the page's Import box each get the same bad files
(``bad_files.CASES``); every file also holds a good row that would have
acknowledged anomaly 50, which must stay Active with no history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from lib.anomalies.changes import Actor, AnomalyChanges, Mode
from lib.anomalies.importing import ImportRefused, ParsedAnomaly, parse_records
from lib.cli import main
from lib.services import services_for
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from tests.anomalies.bad_files import CASES, IDS, ONE_PER_CLASS, SEEDED
from tests.anomalies.helpers import post_import, record

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "anomalies.py")
SEED = json.dumps([record(SEEDED)]).encode()


def assert_unchanged(repo: AnomalyRepository) -> None:
    assert repo.count() == 1
    assert repo.get(SEEDED).status == "Active"
    assert repo.history(SEEDED) == []


@pytest.fixture
def seeded(tmp_settings):
    svc = services_for(tmp_settings)
    svc.changes.import_file("seed.json", SEED, mode=Mode.MANUAL)
    return svc


@pytest.mark.parametrize("kind, case, filename, data, expected", CASES, ids=IDS)
def test_service_refuses_with_the_reason(seeded, kind, case, filename, data, expected):
    with pytest.raises(ImportRefused) as refused:
        seeded.changes.import_file(filename, data, mode=Mode.MANUAL)
    assert any(expected in p for p in refused.value.problems), refused.value.problems
    assert "nothing was changed" in str(refused.value)
    assert_unchanged(seeded.anomalies)


@pytest.mark.parametrize("kind, case, filename, data, expected", CASES, ids=IDS)
def test_http_route_answers_400_json(seeded, kind, case, filename, data, expected):
    status, body = post_import(seeded, filename, data)
    assert status == 400
    assert expected in body["error"] and any(expected in p for p in body["problems"])
    assert_unchanged(seeded.anomalies)


@pytest.fixture
def cli_db(tmp_path):
    env = {"ANOMALY_DESK_DB": str(tmp_path / "cli.duckdb"), "ANOMALY_DESK_DEMO_DATA": "0"}
    seed = tmp_path / "seed.json"
    seed.write_bytes(SEED)
    assert main(["import", str(seed)], env) == 0
    return env


@pytest.mark.parametrize("kind, case, filename, data, expected", CASES, ids=IDS)
def test_cli_exits_1_with_the_message(
    cli_db, tmp_path, capsys, kind, case, filename, data, expected
):
    path = tmp_path / filename
    path.write_bytes(data)
    capsys.readouterr()
    assert main(["import", str(path)], cli_db) == 1
    out = capsys.readouterr()
    assert expected in out.err and "Traceback" not in out.err + out.out
    db = Database(Path(cli_db["ANOMALY_DESK_DB"]))
    try:
        assert_unchanged(AnomalyRepository(db))
    finally:
        db.close()


def test_cli_through_the_dashboard_exits_1_with_the_message(dashboard, tmp_path, capsys):
    env = {"ANOMALY_DESK_DB": dashboard.db_path, "ANOMALY_DESK_DASHBOARD_URL": dashboard.url}
    count = requests.get(f"{dashboard.url}/api/v1/health", timeout=5).json()["anomalies"]
    for _kind, case, filename, data, expected in ONE_PER_CLASS:
        path = tmp_path / filename
        path.write_bytes(data)
        capsys.readouterr()
        assert main(["import", str(path)], env) == 1, case
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, (case, err)
    assert requests.get(f"{dashboard.url}/api/v1/health", timeout=5).json()["anomalies"] == count


@pytest.mark.parametrize("kind, case, filename, data, expected", ONE_PER_CLASS, ids=lambda c: c)
def test_page_shows_the_message(seeded, kind, case, filename, data, expected):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.file_uploader(key="anomalies_upload").upload(
        filename, data, "application/octet-stream"
    ).run()
    at.button(key="anomalies_import").click().run()
    assert not at.exception
    assert expected in at.error[0].value and not at.success
    assert_unchanged(seeded.anomalies)


def test_a_value_the_store_refuses_still_comes_back_as_a_refusal(seeded):
    """Validation should catch it first; if it does not, the write is rolled back with a message."""
    (good,) = parse_records([record(SEEDED, status="Acknowledged")])
    (fine,) = parse_records([record(60)])
    too_heavy = ParsedAnomaly(fine.anomaly.__class__(**{**fine.anomaly.__dict__, "weight": 2**31}))
    changes = AnomalyChanges(seeded.db, lambda: fine.anomaly.detected_at)
    with pytest.raises(ImportRefused, match="The database cannot hold a value"):
        changes.import_parsed([good, too_heavy], actor=Actor.importer("x.json"), mode=Mode.MANUAL)
    assert_unchanged(seeded.anomalies)
