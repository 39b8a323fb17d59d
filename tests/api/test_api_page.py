"""The API page under AppTest, and its catalogue checked against the API's own routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.connections.api_token import ensure_token
from lib.http.api.app import build_api
from lib.http.api.catalog import ENDPOINTS, curl
from lib.services import services_for

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "api.py")


@pytest.fixture(autouse=True)
def _clear_caches():
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def test_the_page_lists_every_endpoint_with_a_curl_and_masks_the_token(tmp_settings):
    services_for(tmp_settings)
    token = ensure_token(tmp_settings.api_token_path)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    commands = [c.value for c in at.code]
    shown = " ".join(m.value for m in at.markdown) + " ".join(commands)
    for endpoint in ENDPOINTS:
        assert curl(endpoint, f"{tmp_settings.dashboard_url}/api") in commands
    assert f"{tmp_settings.dashboard_url}/api/openapi.json" in shown
    assert token not in shown and token not in at.text_input(key="api_token").value
    assert at.text_input(key="api_token").value.startswith(token[:4])


def _operation(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")


def test_every_catalogue_entry_is_a_documented_operation():
    document = build_api(lambda: None, lambda: "t").openapi()
    operations = [
        (method.upper(), _operation(path))
        for path, item in document["paths"].items()
        for method in item
    ]
    for endpoint in ENDPOINTS:
        path = endpoint.path.split("?")[0]
        assert any(m == endpoint.method and p.match(path) for m, p in operations), endpoint
    # ...and every operation but the command line's v1 routes has an example.
    documented = {(m, p.pattern) for m, p in operations if "/v1/" not in p.pattern}
    covered = {
        (m, p.pattern)
        for m, p in operations
        for e in ENDPOINTS
        if m == e.method and p.match(e.path.split("?")[0])
    }
    assert documented == covered
