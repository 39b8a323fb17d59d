import base64
import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lib.services
from lib.reporting import retention
from lib.services import services_for
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 5, 20, 12, 0)  # naive UTC; 14:00 in Berlin (CEST)


def write(db, at: datetime, action: str, status: str, anomaly: int | None = None, **values) -> int:
    """One log row the product's way (finished rows are counted by the rollup)."""
    with db.transaction() as cur:
        return SyncLog.insert_in(
            cur, now=at, action=action, mode="automatic", status=status, anomaly_id=anomaly,
            **values,
        )  # fmt: skip


def anomaly(db, ident: int, detected: datetime, table: str = "T", status: str = "Active") -> None:
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO anomalies VALUES (?, 1, 'W', ?, [], 'shape', ?, ?, ?, '', 1, [], '', ?)",
            [
                ident,
                table,
                status,
                "Resolved" if status == "Archived" else None,
                detected,
                detected,
            ],
        )


def link(db, ident: int, anomaly_id: int, at: datetime, done_at: datetime | None = None) -> None:
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " status_category, created_by_us, linked_at, linked_by, last_synced_at)"
            " VALUES (?, 0, ?, ?, 'https://jira.example', ?, TRUE, ?, 'ana', ?)",
            [anomaly_id, str(ident), f"DQ-{ident}", "done" if done_at else "new", at, done_at],
        )


@pytest.fixture
def clock(tmp_settings, monkeypatch):
    monkeypatch.setattr(lib.services, "utc_now", lambda: NOW)
    return services_for(tmp_settings)


@pytest.fixture
def seeded(clock):
    db = clock.db
    anomaly(db, 5, datetime(2026, 5, 18, 6, 0))
    write(db, datetime(2026, 5, 18, 12, 0), "create", "ok", 5)
    write(db, datetime(2026, 5, 19, 8, 0), "update", "ok", 5)
    write(db, datetime(2026, 5, 19, 22, 30), "comment", "ok", 5)  # Berlin: May 20 00:30
    write(db, datetime(2026, 5, 20, 9, 0), "create", "ok", 6)
    write(db, datetime(2026, 5, 20, 10, 0), "create", "failed", 7, error_kind="validation")
    link(db, 1, 5, datetime(2026, 5, 18, 12, 0))
    return clock


def seed_days(services, days: int) -> None:
    """``days`` days ending today: each day 2 creates, 1 comment, 1 failure, 1 429 and links."""
    db = services.db
    for n in range(days):
        at = NOW - timedelta(days=n, hours=1)
        ident = 100 + n
        anomaly(db, ident, at - timedelta(hours=3 + n % 50), table=f"T{n % 3}")
        write(db, at, "create", "ok", ident, latency_ms=100.0 + n)
        write(db, at, "create", "ok", ident, latency_ms=400.0)
        write(db, at, "comment", "ok", ident, latency_ms=50.0)
        write(db, at, "update", "failed", ident, error_kind="permission")
        row = write(db, at, "comment", "pending", ident)
        with db.transaction() as cur:
            SyncLog.claim_in(cur, SyncLog.get_in(cur, row), token="t", now=at)
            SyncLog.release_in(
                cur, row, error="429", next_attempt_at=at + timedelta(seconds=30),
                needs_reconcile=False, latency_ms=20.0, error_kind="rate_limited",
            )  # fmt: skip
        link(db, ident, ident, at, done_at=at + timedelta(hours=5) if n % 2 == 0 else None)


@pytest.fixture
def app(page_path):
    return AppTest.from_file(page_path("statistics"), default_timeout=30)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def chart(at, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    assert found, f"no chart {key}"
    return json.loads(found[0].proto.spec)


def chart_keys(at) -> set[str]:
    keys = set()
    for c in at.get("plotly_chart"):
        keys |= {k for k in CHARTS if k in c.proto.id}
    return keys


CHARTS = (
    "stats_chart_activity",
    "stats_chart_outcomes",
    "stats_chart_kinds",
    "stats_chart_latency",
    "stats_chart_linked",
    "stats_chart_detection",
    "stats_chart_resolution",
    "stats_chart_ageing",
    "stats_chart_tables",
)


def arr(value) -> list:
    """A plotly array: plain JSON list, or plotly's typed array ({dtype, bdata})."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def pick_days(at, start: date, end: date):
    return at.date_input(key="stats_range").set_value((start, end)).run()


def test_counters_in_utc_and_berlin(seeded, app):
    app.run()
    assert not app.exception
    got = metrics(app)
    assert [got[f"Create {p}"] for p in ("since reset", "today", "yesterday")] == ["2", "1", "0"]
    assert [got[f"Update {p}"] for p in ("since reset", "today", "yesterday")] == ["2", "0", "2"]
    assert [got[f"Total {p}"] for p in ("since reset", "today", "yesterday")] == ["4", "1", "2"]
    app.selectbox(key="stats_tz").select("Europe/Berlin").run()
    got = metrics(app)
    assert (got["Update today"], got["Update yesterday"]) == ("1", "1")
    assert (got["Total today"], got["Total yesterday"]) == ("2", "1")
    assert all(m.help for m in app.metric)  # every counter says what it counts


def test_reset_asks_first_then_starts_every_counter_again(seeded, app):
    app.run()
    assert "Last reset: never" in [c.value for c in app.caption]
    app.button(key="stats_reset").click().run()
    assert "Start Create, Update and Total again" in app.warning[0].value
    app.button(key="stats_reset_no").click().run()
    assert metrics(app)["Create since reset"] == "2"
    app.button(key="stats_reset").click().run()
    app.button(key="stats_reset_yes").click().run()
    assert "Counters reset." in app.success[0].value
    got = metrics(app)
    assert (got["Create since reset"], got["Update since reset"], got["Total since reset"]) == (
        "0",
        "0",
        "0",
    )
    assert got["Total today"] == "1"  # a calendar day: a reset does not change it
    assert "Last reset: 2026-05-20 12:00 UTC by" in " ".join(c.value for c in app.caption)


def test_cleaning_up_the_log_changes_no_number_on_the_page(seeded, app):
    app.run()
    before = metrics(app)
    activity = arr(chart(app, "stats_chart_activity")["data"][0]["y"])
    retention.save(seeded.db, 1, 0)
    assert retention.cleanup(seeded.db, NOW).removed == 4
    app.run()
    assert metrics(app) == before
    assert arr(chart(app, "stats_chart_activity")["data"][0]["y"]) == activity


def test_one_day_of_data_draws_readable_charts(clock, app):
    seed_days(clock, 1)
    app.run()
    pick_days(app, date(2026, 5, 20), date(2026, 5, 20))
    assert not app.exception
    assert chart_keys(app) == set(CHARTS)
    activity = chart(app, "stats_chart_activity")
    created, updated = activity["data"]
    assert (arr(created["x"]), arr(created["y"]), arr(updated["y"])) == (["2026-05-20"], [2], [1])
    assert activity["data"][0]["type"] == "bar"  # a bar, not a lone dot
    # The axis spans the day, half a day each side, with one tick: never 23:59:59.9996.
    assert activity["layout"]["xaxis"]["range"] == ["2026-05-19T12:00:00", "2026-05-20T12:00:00"]
    assert activity["layout"]["xaxis"]["dtick"] == 86_400_000
    assert activity["layout"]["legend"]["orientation"] == "h"
    assert activity["layout"]["legend"]["y"] < 0  # under the plot, not over the bars
    outcomes = {t["name"]: arr(t["y"]) for t in chart(app, "stats_chart_outcomes")["data"]}
    assert outcomes == {"Ok": [3], "Failed": [1], "Deferred": [0], "Retried": [1]}
    kinds = chart(app, "stats_chart_kinds")
    assert "1 × 429, 30 s waited" in kinds["layout"]["title"]["text"]
    assert {(t["name"], tuple(arr(t["y"])), tuple(arr(t["x"]))) for t in kinds["data"]} == {
        ("Failed", ("Permission", "Rate limited (429)"), (1, 0)),
        ("Retried", ("Permission", "Rate limited (429)"), (0, 1)),
    }
    latency = chart(app, "stats_chart_latency")
    assert [t["mode"] for t in latency["data"]] == ["lines+markers"] * 2
    assert 40 < arr(latency["data"][0]["y"])[0] < 120  # the median of 20, 50, 100, 400 ms
    detection = chart(app, "stats_chart_detection")
    assert arr(detection["data"][0]["y"])[HOUR_INDEX["2-4 h"]] == 1
    assert len(detection["layout"]["shapes"]) == 3  # the 50/85/95% lines
    labels = [a["text"] for a in detection["layout"]["annotations"]]
    assert [t.split(":")[0] for t in labels] == ["50%", "85%", "95%"]
    assert (
        len({a["y"] for a in detection["layout"]["annotations"]}) == 3
    )  # not on top of each other
    assert detection["layout"]["xaxis"]["type"] == "category"
    ageing = chart(app, "stats_chart_ageing")
    assert arr(ageing["data"][0]["y"]) == [0, 0, 0, 0]  # its one ticket is Done
    resolution = chart(app, "stats_chart_resolution")
    assert arr(resolution["data"][0]["y"])[HOUR_INDEX["4-8 h"]] == 1
    assert app.metric[-1].label == "Active with a ticket" and app.metric[-1].value == "100%"


HOUR_INDEX = {label: i for i, label in enumerate(("< 1 h", "1-2 h", "2-4 h", "4-8 h"))}


def test_ninety_days_of_data_fill_every_chart(clock, app):
    seed_days(clock, 90)
    app.run()
    pick_days(app, date(2026, 2, 20), date(2026, 5, 20))
    assert not app.exception
    assert chart_keys(app) == set(CHARTS)
    activity = chart(app, "stats_chart_activity")
    created = arr(activity["data"][0]["x"])
    assert len(created) == 90 and created[0] == "2026-02-20" and created[-1] == "2026-05-20"
    assert sum(arr(activity["data"][0]["y"])) == 180
    assert "dtick" not in activity["layout"]["xaxis"]  # plotly's own ticks for a long range
    linked = {t["name"]: arr(t["y"]) for t in chart(app, "stats_chart_linked")["data"]}
    assert sum(linked["Linked"]) == 90 and sum(linked["Resolved"]) == 45
    assert linked["Open at end of day"][-1] == 45
    latency = chart(app, "stats_chart_latency")
    assert len(arr(latency["data"][1]["x"])) == 90
    assert all(p95 >= p50 for p50, p95 in zip(*(arr(t["y"]) for t in latency["data"])))
    resolution = chart(app, "stats_chart_resolution")
    assert sum(arr(resolution["data"][0]["y"])) == 45
    tables = chart(app, "stats_chart_tables")["data"][0]
    assert arr(tables["x"]) == [30, 30, 30] and arr(tables["y"])[0] == "W / T0"
    ageing = chart(app, "stats_chart_ageing")
    assert arr(ageing["data"][0]["y"]) == [3, 12, 30, 0]  # the odd days' open tickets
    assert len(app.get("download_button")) == len(CHARTS)


def test_empty_log_shows_messages_not_charts(clock, app):
    app.run()
    assert not app.exception
    assert metrics(app)["Total since reset"] == "0"
    infos = [i.value for i in app.info]
    assert "No sync call finished in these days." in infos
    assert "No anomaly got its first ticket in these days." in infos
    assert chart_keys(app) == {"stats_chart_ageing"}


def test_a_write_between_reruns_is_drawn_at_once(seeded, app):
    app.run()
    activity = chart(app, "stats_chart_activity")
    assert arr(activity["data"][0]["y"])[-1] == 1  # today's creates
    app.run()  # a rerun without a write draws the kept chart: the same figure
    assert chart(app, "stats_chart_activity") == activity
    write(seeded.db, NOW - timedelta(minutes=5), "create", "ok", 5)
    app.run()
    assert arr(chart(app, "stats_chart_activity")["data"][0]["y"])[-1] == 2
