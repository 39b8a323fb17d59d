"""What every page shares: settings read at the edge, the services, the user's name."""

from __future__ import annotations

import os

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
