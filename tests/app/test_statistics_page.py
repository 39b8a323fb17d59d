import base64
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lib.services
from lib.services import services_for

NOW = datetime(2026, 5, 20, 12, 0)  # naive UTC; 14:00 in Berlin (CEST)


def insert_log(db, rows: list[tuple]) -> None:
    frame = pd.DataFrame(rows, columns=["id", "created_at", "action", "status", "anomaly_id"])
    frame["mode"] = "automatic"
    with db.transaction() as cur:
        cur.register("incoming_log", frame)
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming_log")
        cur.unregister("incoming_log")


@pytest.fixture
def clock(tmp_settings, monkeypatch):
    monkeypatch.setattr(lib.services, "utc_now", lambda: NOW)
    return services_for(tmp_settings)


@pytest.fixture
def seeded(clock):
    with clock.db.transaction() as cur:
        cur.execute(
            "INSERT INTO anomalies VALUES (5, 1, 'W', 'T', [], 'shape', 'Active', NULL, ?,"
            " '', 1, [], '', ?)",
            [datetime(2026, 5, 18, 6, 0)] * 2,
        )
    insert_log(
        clock.db,
        [
            (1, datetime(2026, 5, 18, 12, 0), "create", "ok", 5),
            (2, datetime(2026, 5, 19, 8, 0), "update", "ok", 5),
            (3, datetime(2026, 5, 19, 22, 30), "comment", "ok", 5),  # Berlin: May 20 00:30
            (4, datetime(2026, 5, 20, 9, 0), "create", "ok", 6),
            (5, datetime(2026, 5, 20, 10, 0), "create", "failed", 7),
        ],
    )
    return clock


@pytest.fixture
def app(page_path):
    return AppTest.from_file(page_path("statistics"), default_timeout=30)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def chart(at, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    return json.loads(found[0].proto.spec)


def arr(value) -> list:
    """A plotly array: plain JSON list, or plotly's typed array ({dtype, bdata})."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def test_counters_in_utc_and_berlin(seeded, app):
    app.run()
    assert not app.exception
    got = metrics(app)
    assert (got["Create total"], got["Create today"], got["Create yesterday"]) == ("2", "1", "0")
    assert (got["Update total"], got["Update today"], got["Update yesterday"]) == ("2", "0", "2")
    assert (got["Total total"], got["Total today"], got["Total yesterday"]) == ("4", "1", "2")
    app.selectbox(key="stats_tz").select("Europe/Berlin").run()
    got = metrics(app)
    assert (got["Update today"], got["Update yesterday"]) == ("1", "1")
    assert (got["Total today"], got["Total yesterday"]) == ("2", "1")


def test_reset_asks_first_then_starts_again(seeded, app):
    app.run()
    assert "Last reset: never" in [c.value for c in app.caption]
    app.button(key="stats_reset_create").click().run()
    assert "Start the Create counter again" in app.warning[0].value
    app.button(key="stats_reset_no_create").click().run()
    assert metrics(app)["Create total"] == "2"
    app.button(key="stats_reset_create").click().run()
    app.button(key="stats_reset_yes_create").click().run()
    assert "Create counter reset." in app.success[0].value
    got = metrics(app)
    assert (got["Create total"], got["Update total"]) == ("0", "2")
    assert "Last reset: 2026-05-20 12:00 UTC" in [c.value for c in app.caption]


def test_charts_carry_the_per_day_numbers(seeded, app):
    app.run()
    activity = chart(app, "stats_chart_activity")
    assert activity["layout"]["barmode"] == "stack"
    created, updated = activity["data"]
    assert created["name"] == "Created" and len(created["x"]) == 30
    assert arr(created["x"])[-3:] == ["2026-05-18", "2026-05-19", "2026-05-20"]
    assert (arr(created["y"])[-3:], arr(updated["y"])[-3:]) == ([1, 0, 1], [0, 2, 0])
    assert sum(arr(created["y"])) == 2
    total = chart(app, "stats_chart_total")
    assert arr(total["data"][0]["y"])[-3:] == [1, 3, 4]
    failures = chart(app, "stats_chart_failures")
    assert arr(failures["data"][0]["y"])[-1] == 1 and arr(failures["data"][1]["y"])[-1] == 50.0
    first = chart(app, "stats_chart_first_ticket")
    assert arr(first["data"][0]["x"]) == ["2026-05-18"] and arr(first["data"][0]["y"]) == [6.0]


def test_empty_log_shows_messages_not_charts(clock, app):
    app.run()
    assert not app.exception
    assert metrics(app)["Total total"] == "0"
    assert not app.get("plotly_chart")
    assert "No tickets were created" in app.info[0].value
    assert "No anomaly got its first ticket" in app.info[1].value
