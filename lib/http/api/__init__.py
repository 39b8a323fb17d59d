"""The REST API served under ``/api`` (FastAPI inside st.App): see ``app.build_api``."""
