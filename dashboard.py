"""The navigation script: shared chrome and the pages, in sections."""
import streamlit as st

from pages.common import sidebar_identity

st.set_page_config(page_title="Anomaly Desk", page_icon=":material/troubleshoot:", layout="wide")

PAGES = {
    "Anomalies": [
        st.Page("pages/anomalies.py", title="Anomalies", icon=":material/report:", default=True),
    ],
    "Jira": [
        st.Page("pages/connect.py", title="Connect to Jira", icon=":material/link:"),
    ],
    "Operations": [
        st.Page("pages/log.py", title="Log", icon=":material/receipt_long:"),
        st.Page("pages/statistics.py", title="Statistics", icon=":material/monitoring:"),
    ],
}

navigation = st.navigation(PAGES)
sidebar_identity()
navigation.run()
