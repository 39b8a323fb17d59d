"""What every page shares: settings read at the edge, the services, the user's name."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote

import streamlit as st

from lib.connections.secret_box import SecretKeyInvalid
from lib.services import Services, services_for
from lib.settings import Settings, load_settings
from lib.store.db import DatabaseLocked


def secrets_dict() -> dict:
    """``st.secrets`` as a plain dict; empty when there is no secrets.toml."""
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except Exception:  # StreamlitSecretNotFoundError or a malformed file
        return {}


def settings() -> Settings:
    return load_settings(os.environ, secrets_dict())


def services() -> Services:
    """The shared services, or a clear message (and a stopped page) when the file is taken."""
    try:
        return services_for(settings())
    except (DatabaseLocked, SecretKeyInvalid) as exc:
        st.error(str(exc))
        st.stop()


USER_KEY = "user_name"
USER_COOKIE = "anomaly_desk_user"
_COOKIE_DAYS = 365


def actor() -> str:
    """Who is acting: the name set in the sidebar (shared by all pages, kept in a cookie)."""
    name = st.session_state.get(USER_KEY)
    if name is None:  # a page run without the sidebar (e.g. alone under AppTest)
        name = _remembered_name()
    return (name or "").strip() or "analyst"


def _remembered_name() -> str:
    """The name this browser was given before (cookies come with each new session)."""
    try:
        raw = st.context.cookies.get(USER_COOKIE, "")
    except Exception:  # no browser behind this run
        return ""
    return unquote(raw)[:100] if isinstance(raw, str) else ""


def sidebar_identity() -> None:
    """The "Your name" box; the name outlives a reload and a link opened in this browser.

    A session starts with the cookie's name (Streamlit reads cookies when the
    browser connects); a changed name is written back by a one-line script,
    since Streamlit itself cannot set cookies.
    """
    if USER_KEY not in st.session_state:
        st.session_state[USER_KEY] = _remembered_name()
    name = st.sidebar.text_input(
        "Your name",
        key=USER_KEY,
        placeholder="analyst",
        max_chars=100,
        help="Recorded with your status changes and comments; remembered in this browser.",
    )
    if st.session_state.get("user_name_saved") != name:
        st.session_state["user_name_saved"] = name
        value = quote(name.strip(), safe="")  # letters, digits and %XX only: safe in <script>
        with st.sidebar:
            st.html(
                f"<script>document.cookie = '{USER_COOKIE}={value}; path=/; "
                f"max-age={_COOKIE_DAYS * 86400}; SameSite=Lax';</script>",
                unsafe_allow_javascript=True,
                width="content",
            )
