"""Jira: the sandbox's own pages in demo mode; with a real Jira, a link and the linked tickets.

A real Jira refuses to be framed (X-Frame-Options), so only the sandbox is
embedded; a real site opens in a new tab and its tickets are listed here with
their status as last read, refreshed on demand.
"""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st

from components.common import services
from lib.jira import looks_like_issue_key

REFRESH_LIMIT = 50  # links refreshed per click: each is one Jira call

site = services().site
st.title("Jira")
connection = site.connection()


def sandbox_view(base: str) -> None:
    st.caption(f"Demo mode: the built-in Jira sandbox at {base}.")
    c1, c2 = st.columns([3, 1])
    key = c1.text_input("Open an issue", key="jira_browse_key", placeholder="DQ-1").strip().upper()
    c2.link_button("Open in a new tab", f"{base}/", icon=":material/open_in_new:")
    if key and not looks_like_issue_key(key):
        st.error(f"'{key}' is not an issue key (like DQ-1).")
        key = ""
    st.iframe(f"{base}/browse/{quote(key)}" if key else f"{base}/", height=720)


def refresh(links) -> None:
    outcome = site.refresh(links)
    if outcome.failures:
        st.warning(
            f"Refreshed {outcome.refreshed} of {outcome.tried}; these failed:\n\n- "
            + "\n- ".join(outcome.failures)
        )
    else:
        st.success(f"Refreshed {outcome.refreshed} ticket(s) from Jira.")


def linked_tickets() -> None:
    st.subheader("Linked tickets")
    links = site.recent_links(REFRESH_LIMIT)
    if not links:
        st.info("No anomaly is linked to a ticket on this Jira yet.")
        return
    if st.button(
        f"Refresh from Jira (the {len(links)} most recent)",
        key="jira_refresh",
        icon=":material/refresh:",
    ):
        refresh(links)
        links = site.recent_links(REFRESH_LIMIT)
    frame = pd.DataFrame(
        [
            {
                "anomaly": link.anomaly_id,
                "key": link.issue_key,
                "url": link.url,
                "summary": link.summary,
                "status": link.status_name,
                "priority": link.priority,
                "last sync (UTC)": link.last_synced_at,
            }
            for link in links
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        key="jira_links",
        column_config={"url": st.column_config.LinkColumn("Jira", display_text="Open")},
    )


if connection.kind == "sandbox" and connection.host.startswith(("http://", "https://")):
    sandbox_view(connection.host.rstrip("/"))
else:
    st.caption(
        f"{connection.label}. Jira does not allow itself to be shown inside another "
        "page, so it opens in a new tab."
    )
    st.link_button("Open Jira", connection.host, icon=":material/open_in_new:", type="primary")
    linked_tickets()
