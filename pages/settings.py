"""Settings: the automatic update limit, the refresh interval, and the automation endpoint."""

from __future__ import annotations

import streamlit as st

from components.common import services

REFRESH_ENV = "ANOMALY_DESK_REFRESH_MINUTES"

operator = services().operator
describe = operator.describe
st.title("Settings")


def update_limit_section() -> None:
    st.subheader("Update rate limit")
    st.caption(
        "Automatic updates and comments sent to Jira (manual ones are never held back). "
        "0 updates switches the limit off."
    )
    current = operator.update_limit()
    st.info(f"Current: {describe(current)}")
    if saved_note := st.session_state.pop("settings_flash", None):
        st.success(saved_note)
    with st.form("settings_limit_form", border=False):
        c1, c2 = st.columns(2)
        most = c1.number_input(
            "Max automatic updates", value=current.max_updates, step=1, key="settings_max_updates"
        )
        seconds = c2.number_input(
            "Per interval (seconds)",
            value=float(current.per_seconds),
            step=10.0,
            key="settings_per_seconds",
        )
        saved = st.form_submit_button("Save limit", key="settings_save_limit")
    if not saved:
        return
    try:
        saved_limit = operator.save_update_limit(most, seconds)
    except ValueError as exc:  # the store's rule, in its own words; nothing was saved
        st.error(f"Not saved: {exc}")
        return
    st.session_state["settings_flash"] = f"Saved. {describe(saved_limit)}"
    st.rerun()  # so "Current" above shows the new limit


def refresh_section() -> None:
    st.subheader("Background refresh")
    minutes = operator.refresh_minutes
    st.text_input(
        "Linked tickets are re-read from Jira every (minutes)",
        value=str(minutes) if minutes else "0 (never)",
        disabled=True,
        key="settings_refresh_minutes",
    )
    st.caption(
        f"Set at start with the environment variable `{REFRESH_ENV}` (or "
        "`refresh_minutes` in secrets.toml); 0 switches it off."
    )


def masked(length: int | None) -> str:
    """Never the token itself: only whether it exists and how long it is."""
    return (
        "not created yet (the dashboard writes it when it starts)"
        if not length
        else f"{'•' * 12} ({length} characters)"
    )


def automation_section() -> None:
    st.subheader("Automation endpoint")
    endpoint = operator.automation_endpoint()
    url, path = endpoint.url, endpoint.token_path
    st.text_input("URL (POST)", value=url, disabled=True, key="settings_endpoint_url")
    st.text_input(
        "Token file (owner-only)", value=str(path), disabled=True, key="settings_token_path"
    )
    st.text_input("Token", value=masked(endpoint.token_length), disabled=True, key="settings_token")
    st.caption(
        "Send the token as `Authorization: Bearer <token>`. Answers: 200 done, 400 "
        "refused (the message says which part is wrong), 401 missing or wrong token, "
        "503 could not run (send the same command again)."
    )
    st.code(
        f"curl -X POST {url} \\\n  -H \"Authorization: Bearer $(cat '{path}')\" \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"command": "job-1|CREATE|summary;Disk full on orders|priority;High"}\'\n\n'
        "# or, on this machine (it forwards to the dashboard while it runs):\n"
        ".venv/bin/python -m lib.cli advanced 'job-1|UPDATE|priority;Low'",
        language="bash",
    )


update_limit_section()
refresh_section()
automation_section()
