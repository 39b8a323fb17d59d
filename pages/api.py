"""API: the REST endpoints under /api, each with a ready curl command (token masked)."""

from __future__ import annotations

import streamlit as st

from components.common import services
from lib.connections.api_token import read_token
from lib.http.api.catalog import ENDPOINTS, TOKEN_PLACEHOLDER, curl, masked
from lib.http.api.tokens import tokens_for

svc = services()
api_url = f"{svc.settings.dashboard_url}/api"
token_path = svc.settings.api_token_path

st.title("API")
st.write(
    f"Scripts drive tickets and anomalies through the REST API at `{api_url}`. "
    f"Every call but `/health` needs `Authorization: Bearer <token>`. "
    f"The OpenAPI document: [{api_url}/openapi.json]({api_url}/openapi.json)."
)
st.text_input("Token file (owner-only)", value=str(token_path), disabled=True, key="api_token_path")
st.text_input("Token", value=masked(read_token(token_path)), disabled=True, key="api_token")
st.code(f"export ANOMALY_DESK_TOKEN=$(cat {token_path})", language="bash")
st.caption(
    f"The commands below read the token from `{TOKEN_PLACEHOLDER}`. Errors are JSON: "
    "401 token, 404 unknown id or path, 409 duplicate link or not allowed now, 413 body over "
    "1 MB, 422 field errors, 503 no Jira connection."
)

tokens = tokens_for(svc)
st.subheader("Named tokens")
st.caption("One per script or tool, each revocable on its own. A token is shown once.")
with st.form("api_new_token", clear_on_submit=True):
    name = st.text_input("Name", key="api_token_name", placeholder="nightly-triage")
    if st.form_submit_button("Create token"):
        try:
            made, secret = tokens.make(name)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.success(f"Token {made.name!r} created. Copy it now: it is not shown again.")
            st.code(secret, language=None)
for token in tokens.list():
    left, right = st.columns([4, 1])
    state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M} UTC" if token.revoked_at else "active"
    used = f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never"
    left.markdown(f"**{token.name}** `{token.hint}…`: {state}; last used {used}")
    if token.active and right.button("Revoke", key=f"api_revoke_{token.id}"):
        tokens.revoke(token.id)
        st.rerun()

for group in dict.fromkeys(e.group for e in ENDPOINTS):
    st.subheader(group)
    for endpoint in (e for e in ENDPOINTS if e.group == group):
        st.markdown(
            f"**{endpoint.method}** `/api{endpoint.path.split('?')[0]}`: {endpoint.summary}"
        )
        st.code(curl(endpoint, api_url), language="bash")
