"""What every page shares: the settings the app read, the services, the user's name."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote

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
    integration_chrome(svc)
    return svc


_STATE_COLOURS = {"Connected": "green", "Degraded": "orange", "Failing": "red"}


def integration_chrome(svc: Services) -> None:
    """The sidebar's health at a glance and, while failing, the banner with Resume.

    Every page calls ``services()`` once, at its top, so both appear on every
    page (and on a page run alone under AppTest) from one service call.
    """
    status = svc.integration.status()
    colour = _STATE_COLOURS[status.state_label]
    demo = " (demo)" if status.demo else ""
    oldest = (
        f" · oldest {age_words(status.oldest_pending_age_s)}"
        if status.oldest_pending_age_s is not None
        else ""
    )
    last = (
        f"  \nLast calls failed: {status.kind_label or 'error'}"
        if status.state_label == "Degraded"
        else ""
    )
    with st.sidebar:
        st.markdown(f"**Jira:** {status.connection_kind}{demo} · :{colour}[{status.state_label}]")
        st.caption(
            f"{status.connection_label}  \nOutbox: {status.outbox_depth:,} waiting{oldest}{last}"
        )
    if status.automation_paused:
        failing_banner(svc, status)


def failing_banner(svc: Services, status) -> None:
    """Why the integration is failing, and Resume (automation stays paused until then)."""
    kind = f" ({status.kind_label})" if status.kind_label else ""
    since = f" since {status.since:%Y-%m-%d %H:%M} UTC" if status.since else ""
    st.error(
        f"**The Jira integration is failing{kind}{since}: automation is paused.** "
        f"{status.explanation}",
        icon=":material/error:",
    )
    if status.reason:
        st.caption(f"Last failure: {status.reason}")
    if st.button("Resume", key="health_resume", icon=":material/play_arrow:"):
        svc.integration.resume(actor())
        st.rerun()


def age_words(seconds: float) -> str:
    """An age in the largest whole unit: 45 s, 3 min, 2 h, 4 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


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
