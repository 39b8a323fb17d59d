"""One set of services per database per process, whatever settings ask for it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

from lib.connections.models import SECRETS_ID
from lib.http.dashboard_address import find_dashboard, publish_dashboard, withdraw_dashboard
from lib.services import close_all, services_for

JIRA = (
    ("kind", "cloud"),
    ("host", "https://acme.atlassian.net"),
    ("email", "me@acme.com"),
    ("api_token", "not-a-real-token"),
)


def test_other_settings_for_an_open_file_reuse_its_database_and_worker(tmp_settings):
    first = services_for(tmp_settings)
    changed = replace(tmp_settings, refresh_minutes=3, jira=JIRA, public_url="https://d.example")
    second = services_for(changed)
    assert second.db is first.db and second.worker is first.worker
    assert second.sync is first.sync and second.jira is first.jira
    assert second.settings == changed
    assert second.worker.refresh_interval_s == 180
    # The connection part is re-read in place: every holder sees secrets.toml's Jira.
    assert first.connections.active().id == SECRETS_ID
    assert first.connections.active().host == "https://acme.atlassian.net"
    assert services_for(tmp_settings).connections.active().id != SECRETS_ID


def test_close_all_stops_the_one_worker_then_closes_the_database(tmp_settings):
    services = services_for(tmp_settings)
    services.worker.start()
    services_for(replace(tmp_settings, refresh_minutes=1))  # must not hide the started worker
    close_all()
    assert not services.worker.running
    assert services.db.closed


def test_the_address_file_names_a_live_process_or_nothing(tmp_path):
    path = tmp_path / "x.duckdb.dashboard.json"
    assert find_dashboard(path) is None
    publish_dashboard(path, "http://127.0.0.1:8611/")
    assert find_dashboard(path) == "http://127.0.0.1:8611"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    publish_dashboard(path, "http://127.0.0.1:8612", pid=int(gone.stdout))
    assert find_dashboard(path) is None  # a crash left it: its process is gone
    withdraw_dashboard(path)  # not ours: stays for whoever wrote it
    assert path.exists()
    publish_dashboard(path, "http://127.0.0.1:8613")
    withdraw_dashboard(path, pid=os.getpid())
    assert not path.exists()
    path.write_text("{not json")
    assert find_dashboard(path) is None


def test_close_all_waits_for_a_query_in_flight_instead_of_failing(tmp_settings, monkeypatch):
    import duckdb

    import lib.services as services_module

    services = services_for(tmp_settings)
    real_close, busy = services.db.close, iter([True, True])
    pauses: list[float] = []

    def close_while_a_page_queries() -> None:
        if next(busy, False):  # a page's cursor is mid-query for two tries
            raise duckdb.ResourceInUseException("connection is busy with another call")
        real_close()

    monkeypatch.setattr(services.db, "close", close_while_a_page_queries)
    monkeypatch.setattr(services_module, "_pause", pauses.append)
    close_all()
    assert services.db.closed and pauses == [0.05, 0.05]


def test_close_all_leaves_a_database_that_stays_busy_open_without_raising(
    tmp_settings, monkeypatch
):
    import duckdb

    import lib.services as services_module

    services = services_for(tmp_settings)
    real_close = services.db.close

    def always_busy() -> None:
        raise duckdb.ResourceInUseException("connection is busy with another call")

    monkeypatch.setattr(services.db, "close", always_busy)
    monkeypatch.setattr(services_module, "_pause", lambda _s: None)
    close_all()  # no exception: the shutdown goes on
    assert not services.db.closed
    real_close()
