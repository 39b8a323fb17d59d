"""What every page shares: the settings the app read, the services, the user's name."""

from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime.secrets import secrets_singleton

from lib.connections.secret_box import SecretKeyInvalid
from lib.services import Services, served_settings, services_for
from lib.settings import Settings, SettingsError, read_secrets, read_settings, secrets_path
from lib.store.db import DatabaseLocked


def _handed_secrets() -> dict:
    """Tables a test put in ``st.secrets`` (AppTest swaps in its own); empty otherwise.

    Streamlit's own ``st.secrets`` reads secrets.toml from the working directory,
    which is not where the settings come from, so it is never read here.
    """
    if st.secrets is secrets_singleton:
        return {}
    try:
        return {k: st.secrets[k] for k in st.secrets}
    except Exception:  # StreamlitSecretNotFoundError or a malformed file
        return {}


def settings() -> Settings:
    """The settings the running dashboard read at start.

    A page run on its own (AppTest) has no dashboard: it reads them the same
    way the dashboard does, with whatever tables the test put in ``st.secrets``
    in place of the file's.
    """
    served = served_settings()
    if served is not None:
        return served
    environ = os.environ
    secrets = {**read_secrets(secrets_path(environ)), **_handed_secrets()}
    return read_settings(environ, secrets)


def services() -> Services:
    """The shared services, or a clear message (and a stopped page) when they cannot open."""
    try:
        svc = services_for(settings())
    except (DatabaseLocked, SecretKeyInvalid, SettingsError) as exc:
        st.error(str(exc))
        st.stop()
    _warn_if_settings_changed(svc.settings)
    return svc


def _warn_if_settings_changed(running: Settings) -> None:
    """Say so when secrets.toml no longer matches what the running dashboard read."""
    if served_settings() is None:
        return
    try:
        now = read_settings(os.environ, served_at=running.dashboard_url)
    except SettingsError as exc:
        st.warning(f"{exc}. The dashboard keeps the settings it started with.")
        return
    if now != running:
        st.warning(
            f"{secrets_path(os.environ)} changed since the dashboard started: "
            "restart it (`make run`) to use the new settings."
        )


def actor() -> str:
    """Who is acting: the name set in the sidebar (shared by all pages)."""
    name = st.session_state.get("user_name", "").strip()
    return name or "analyst"


def sidebar_identity() -> None:
    st.sidebar.text_input(
        "Your name",
        key="user_name",
        placeholder="analyst",
        help="Recorded with your status changes and comments.",
    )
