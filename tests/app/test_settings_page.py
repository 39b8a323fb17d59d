"""The Settings page under AppTest: the update limit, the refresh interval, the endpoint."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lib.connections.api_token import ensure_token
from lib.outbox.policy import UpdateLimit, load_update_limit
from lib.services import services_for


@pytest.fixture
def svc(tmp_settings, monkeypatch):
    monkeypatch.setenv("ANOMALY_DESK_REFRESH_MINUTES", "7")
    return services_for(tmp_settings)


@pytest.fixture
def at(svc, page_path):
    app = AppTest.from_file(page_path("settings"), default_timeout=30)
    app.run()
    assert not app.exception
    return app


def save(at, most, seconds) -> None:
    at.number_input(key="settings_max_updates").set_value(most)
    at.number_input(key="settings_per_seconds").set_value(seconds)
    at.button(key="settings_save_limit").click().run()
    assert not at.exception


def test_shows_the_current_limit_and_saves_a_new_one(at, svc):
    assert at.title[0].value == "Settings"
    assert "At most 10 automatic update(s) per 60 s" in at.info[0].value
    save(at, 3, 30.0)
    assert load_update_limit(svc.db) == UpdateLimit(3, 30.0)
    assert "At most 3 automatic update(s) per 30 s" in at.success[0].value
    assert "At most 3 automatic update(s) per 30 s" in at.info[0].value
    save(at, 0, 30.0)
    assert load_update_limit(svc.db) == UpdateLimit(0, 30.0)
    assert "Off" in at.success[0].value


@pytest.mark.parametrize("most, seconds", [(-1, 60.0), (5, 0.0), (5, -10.0)])
def test_bad_values_are_refused_and_nothing_is_saved(at, svc, most, seconds):
    save(at, most, seconds)
    assert "Not saved:" in at.error[0].value and "positive number of seconds" in at.error[0].value
    assert load_update_limit(svc.db) == UpdateLimit(10, 60.0)
    assert not at.success


def test_refresh_interval_is_read_only_with_its_variable(at):
    field = at.text_input(key="settings_refresh_minutes")
    assert field.value == "7" and field.disabled
    assert any("ANOMALY_DESK_REFRESH_MINUTES" in c.value for c in at.caption)


def test_endpoint_shows_the_url_and_token_file_but_never_the_token(svc, page_path, tmp_settings):
    token = ensure_token(tmp_settings.api_token_path)
    at = AppTest.from_file(page_path("settings"), default_timeout=30).run()
    assert (
        at.text_input(key="settings_endpoint_url").value == "http://127.0.0.1:8501/api/v1/advanced"
    )
    assert at.text_input(key="settings_token_path").value == str(tmp_settings.api_token_path)
    shown = at.text_input(key="settings_token").value
    assert shown.startswith("••••") and f"({len(token)} characters)" in shown
    everything = " ".join(str(e.proto) for e in at.main)
    assert token not in everything and token[:8] not in everything
