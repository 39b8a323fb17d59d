"""Named API tokens: made on the API page, accepted by the API, refused once revoked."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.http.api.tokens import tokens_for

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "api.py")


@pytest.fixture(autouse=True)
def _clear_caches():
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def sync_log(base, token):
    return requests.get(
        f"{base}/api/sync-log", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def test_a_named_token_works_until_it_is_revoked(api_server, bare_services):
    base = api_server[0]
    tokens = tokens_for(bare_services)
    made, secret = tokens.make("nightly")
    other, other_secret = tokens.make("ci")
    assert sync_log(base, secret).status_code == 200
    tokens.revoke(made.id)
    refused = sync_log(base, secret)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert sync_log(base, other_secret).status_code == 200
    assert sync_log(base, secret[:-1] + ("x" if secret[-1] != "x" else "y")).status_code == 401
    listed = {t.name: t for t in tokens.list()}
    assert listed["nightly"].revoked_at is not None and listed["ci"].last_used_at is not None


def test_only_a_hash_is_stored(bare_services):
    _, secret = tokens_for(bare_services).make("x")
    with bare_services.db.read() as cur:
        rows = cur.execute("SELECT * FROM api_tokens").fetchall()
    assert rows and secret not in repr(rows) and secret[8:] not in repr(rows)


@pytest.mark.parametrize("name", ["", "   ", "n" * 61])
def test_bad_names_are_refused(bare_services, name):
    with pytest.raises(ValueError, match="name"):
        tokens_for(bare_services).make(name)
    assert tokens_for(bare_services).list() == []


def test_a_duplicate_active_name_and_a_second_revoke_are_refused(bare_services):
    tokens = tokens_for(bare_services)
    made, _ = tokens.make("ci")
    with pytest.raises(ValueError, match="already called"):
        tokens.make("ci")
    tokens.revoke(made.id)
    with pytest.raises(ValueError, match="already revoked"):
        tokens.revoke(made.id)
    tokens.make("ci")  # the name is free again once revoked


def test_the_page_makes_shows_once_and_revokes(bare_services):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.text_input(key="api_token_name").input("nightly")
    at.button[0].click().run()
    assert not at.exception
    secret = next(c.value for c in at.code if c.value.startswith("adk_"))
    (made,) = tokens_for(bare_services).list()
    assert made.name == "nightly" and made.active
    at.run()  # shown once: a rerun no longer has it
    assert secret not in [c.value for c in at.code]
    at.button(key=f"api_revoke_{made.id}").click().run()
    assert not at.exception
    assert not tokens_for(bare_services).list()[0].active
