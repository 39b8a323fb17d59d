"""The navigation script: shared chrome and the pages, in sections."""

import streamlit as st

from components.common import sidebar_identity

# An emoji favicon is drawn by the browser itself; a ":material/..." one is
# fetched from fonts.gstatic.com, which an offline deployment cannot reach.
st.set_page_config(page_title="Anomaly Desk", page_icon="🔎", layout="wide")

PAGES = {
    "Anomalies": [
        st.Page("pages/anomalies.py", title="Anomalies", icon=":material/report:", default=True),
    ],
    "Jira": [
        st.Page("pages/connect.py", title="Connect to Jira", icon=":material/link:"),
        st.Page("pages/tickets.py", title="Tickets", icon=":material/confirmation_number:"),
        st.Page("pages/jira.py", title="Jira", icon=":material/open_in_browser:"),
        st.Page("pages/rules.py", title="Rules", icon=":material/rule:"),
        st.Page("pages/reconciliation.py", title="Reconciliation", icon=":material/sync_problem:"),
    ],
    "Operations": [
        st.Page("pages/log.py", title="Log", icon=":material/receipt_long:"),
        st.Page("pages/statistics.py", title="Statistics", icon=":material/monitoring:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
        st.Page("pages/api.py", title="API", icon=":material/api:"),
    ],
}

navigation = st.navigation(PAGES)
sidebar_identity()
navigation.run()
