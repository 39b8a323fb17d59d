"""The integration-health banner: why automation is paused, and a Resume button.

A small component so the Rules page and the every-page banner can be one:
it takes the failing state (``IntegrationHealth.automation_paused``'s answer)
and a resume callable, and shows nothing while automation runs.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lib.outbox.health import Health


def health_banner(
    paused: Health | None, resume: Callable[[str], object], actor: str, *, key: str
) -> None:
    """Show the pause reason with Resume (nothing while automation runs)."""
    if paused is None:
        return
    since = f" since {paused.since:%Y-%m-%d %H:%M} UTC" if paused.since else ""
    st.error(
        f"Automation is paused{since}: {paused.reason or 'Jira kept failing.'} "
        "Rules and automatic tickets wait until you resume."
    )
    if st.button("Resume", key=f"{key}_resume", type="primary"):
        resume(actor)
        st.rerun()
