"""Connect to Jira: the active connection, adding and managing connections, ticket defaults.

Actions run in button callbacks, before the widgets are drawn, so an input
error can be shown right under the field it belongs to. The text fields of the
add and edit forms sit in ``st.form``s: outside a form, a password field left
with Tab did not send its value (seen in Chromium with Streamlit 1.67: no rerun
followed the Tab, unlike a plain text field), so Create saw an empty field
while the browser still showed the dots. In a form, every field's value
travels with the submit button. Widgets with ``on_change`` (kind, flavour,
sign-in method) stay above the form, which does not allow them.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from components.common import services
from components.ticket_moves import moves_section
from lib.connections.models import (
    KIND_LABELS,
    Connection,
    ConnectionCheckFailed,
    ConnectionInput,
    ConnectionNotFound,
    InvalidConnectionInput,
    TicketDefaults,
)

KIND_BY_LABEL = {label: kind for kind, label in KIND_LABELS.items()}
DC_AUTH = {"Personal access token": "pat", "Username and password": "basic"}
FLAVOURS = {"Cloud (REST v3)": "cloud", "Data Center (REST v2)": "dc"}
CREDENTIAL_HELP = {
    "cloud": "Paste email:api_token (your Atlassian email, a colon, then an API token from "
    "id.atlassian.com > Security > API tokens).",
    "pat": "Paste a personal access token (Jira > Profile > Personal Access Tokens).",
    "basic": "Enter username:password (split at the first colon; the password may contain colons).",
}

connect = services().connect
st.title("Connect to Jira")


def flash(kind: str, text: str) -> None:
    st.session_state["connect_flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("connect_flash", (None, None))
    if kind:
        getattr(st, kind)(text)


def field_error(scope: str, field: str) -> None:
    """The message of a refused input, under the field it is about."""
    found = st.session_state.get(scope)
    if found and found[0] == field:
        st.error(found[1])


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "never"


def status_line(conn: Connection) -> None:
    if conn.check_status == "ok":
        st.success(f"Connected as {conn.account_name} · last checked {when(conn.checked_at)}")
    elif conn.check_status == "failed":
        st.error(f"Last check failed ({when(conn.checked_at)}): {conn.check_message}")
    else:
        st.caption("Not checked yet: press Test again.")


# -- callbacks ------------------------------------------------------------------


def on_test(connection_id: int) -> None:
    try:
        result = connect.test(connection_id)
    except ConnectionNotFound as exc:
        flash("error", str(exc))
        return
    flash("success" if result.ok else "error", result.message)


def on_activate(connection_id: int) -> None:
    try:
        connect.activate(connection_id)
    except ConnectionNotFound as exc:
        flash("error", str(exc))


def on_delete_asked(connection_id: int) -> None:
    st.session_state["connect_confirm_delete"] = connection_id


def on_delete_cancelled() -> None:
    st.session_state.pop("connect_confirm_delete", None)


def on_delete(connection_id: int) -> None:
    st.session_state.pop("connect_confirm_delete", None)
    try:
        connect.delete(connection_id)
    except ConnectionNotFound as exc:
        flash("error", str(exc))
    else:
        flash("success", "Connection deleted (tickets linked through it keep it as history).")


def add_input() -> ConnectionInput:
    get = st.session_state.get
    return ConnectionInput(
        kind=KIND_BY_LABEL[get("connect_kind", "Jira Cloud")],
        host=get("connect_host", ""),
        credentials=get("connect_credentials", ""),
        dc_auth=DC_AUTH[get("connect_dc_auth", "Personal access token")],
        flavour=FLAVOURS[get("connect_sandbox_flavour", "Cloud (REST v3)")],
        api_prefix=get("connect_api_prefix", ""),
        trust_env=get("connect_trust_env", True),
        ca_bundle=get("connect_ca_bundle", ""),
    )


def on_create() -> None:
    st.session_state.pop("connect_add_error", None)
    try:
        _, result = connect.create(add_input())
    except InvalidConnectionInput as exc:
        st.session_state["connect_add_error"] = (exc.field, exc.message)
    except ConnectionCheckFailed as exc:
        st.session_state["connect_add_error"] = ("check", f"Not saved: {exc}")
    else:
        st.session_state["connect_credentials"] = ""
        flash("success", f"{result.message}. The connection is saved and active.")


def on_detect() -> None:
    data = add_input()
    try:
        found = connect.detect(
            data.host, chosen_kind=data.kind, ca_bundle=data.ca_bundle.strip() or None
        )
    except InvalidConnectionInput as exc:
        st.session_state["connect_add_error"] = (exc.field, exc.message)
        return
    except ConnectionCheckFailed as exc:
        st.session_state["connect_add_error"] = ("host", str(exc))
        return
    st.session_state.pop("connect_add_error", None)
    st.session_state["connect_kind"] = KIND_LABELS[found.kind]
    speaks = next(k for k, v in FLAVOURS.items() if v == found.flavour)
    if found.kind == "sandbox":
        st.session_state["connect_sandbox_flavour"] = speaks
        if not data.credentials.strip():  # what the kind change would have filled in
            st.session_state["connect_credentials"] = connect.sandbox_credentials(
                found.flavour, data.dc_auth
            )
        label = f"{KIND_LABELS[found.flavour]}, served by the sandbox"
    else:
        label = KIND_LABELS[found.kind]
    st.session_state["connect_detected"] = f"Detected: {label}."


def on_kind_change() -> None:
    """Sandbox: prefill its address and public demo credentials (editable)."""
    data = add_input()
    if data.kind == "sandbox":
        if not data.host.strip() or data.host.rstrip("/").endswith("/sandbox"):
            st.session_state["connect_host"] = connect.sandbox_url
        st.session_state["connect_credentials"] = connect.sandbox_credentials(
            data.flavour, data.dc_auth
        )


def on_save_edit(conn: Connection) -> None:
    scope = f"connect_edit_error_{conn.id}"
    get = st.session_state.get
    st.session_state.pop(scope, None)
    data = ConnectionInput(
        kind=conn.kind,
        host=get(f"connect_edit_host_{conn.id}", conn.host),
        credentials=get(f"connect_edit_credentials_{conn.id}", ""),
        flavour=conn.flavour,
        dc_auth=DC_AUTH[get(f"connect_edit_dc_auth_{conn.id}", "Personal access token")],
        api_prefix=get(f"connect_edit_api_prefix_{conn.id}", ""),
        trust_env=get(f"connect_edit_trust_env_{conn.id}", True),
        ca_bundle=get(f"connect_edit_ca_bundle_{conn.id}", ""),
    )
    try:
        _, result = connect.update(conn.id, data)
    except InvalidConnectionInput as exc:
        st.session_state[scope] = (exc.field, exc.message)
    except ConnectionCheckFailed as exc:
        st.session_state[scope] = ("check", f"Not saved: {exc}")
    except ConnectionNotFound as exc:
        flash("error", str(exc))
    else:
        st.session_state.pop("connect_editing", None)
        flash("success", f"{result.message}. Changes saved.")


# -- sections -------------------------------------------------------------------


def active_section() -> Connection:
    conn = connect.active()
    st.subheader("Active connection")
    if connect.deployed_error:
        st.error(connect.deployed_error)
    if conn.is_demo:
        st.info(
            f"Demo mode (Jira sandbox): no connection is active, so tickets go to the sandbox "
            f"built into this dashboard at {conn.host}. Add a connection below to use your Jira."
        )
    elif conn.source == "secrets":
        st.caption("From secrets.toml (read-only: change it in .streamlit/secrets.toml).")
    st.markdown(f"**{conn.label}**")
    status_line(conn)
    st.button("Test again", key="connect_test_active", on_click=on_test, args=(conn.id,))
    return conn


def jira_lists(conn: Connection, name: str, load, *args):
    """Projects, issue types or priorities, fetched once per session; None after an error."""
    cache = st.session_state.setdefault("connect_meta", {})
    key = (conn.id, name, *args)
    if key not in cache:
        try:
            cache[key] = load(conn, *args)
        except ConnectionCheckFailed as exc:
            st.error(str(exc))
            return None
    return cache[key]


def defaults_section(conn: Connection) -> None:
    with st.expander("Defaults for new tickets", expanded=True):
        st.caption(
            f"Now: project {conn.project_key or '-'}, issue type {conn.issue_type_name or '-'}, "
            f"priority {conn.priority_name or '-'}."
        )
        defaults = TicketDefaults(
            conn.project_key, conn.issue_type_id, conn.issue_type_name, conn.priority_name
        )
        if st.toggle("Choose from Jira", key=f"connect_defaults_load_{conn.id}"):
            defaults = choose_defaults(conn)
        url = st.text_input(
            "Public address of the dashboard (for links from Jira)",
            value=connect.public_url(conn),
            key=f"connect_public_url_{conn.id}",
        )
        if st.button("Save defaults", key=f"connect_defaults_save_{conn.id}"):
            save_defaults(
                conn,
                TicketDefaults(
                    defaults.project_key,
                    defaults.issue_type_id,
                    defaults.issue_type_name,
                    defaults.priority_name,
                    url,
                ),
            )


def on_done_comes_back(connection_id: int) -> None:
    on = bool(st.session_state.get(f"connect_done_back_{connection_id}"))
    connect.set_done_comes_back(connection_id, on)
    flash(
        "success",
        "Jira's Done now archives the anomaly." if on else "Jira's Done no longer archives.",
    )


def inbound_section(conn: Connection) -> None:
    """Per connection, off by default: Jira's Done archives the anomaly here."""
    st.checkbox(
        "Jira's Done comes back",
        value=conn.done_comes_back,
        key=f"connect_done_back_{conn.id}",
        on_change=on_done_comes_back,
        args=(conn.id,),
        help="When every linked ticket of an anomaly is in Jira's Done category, archive the "
        "anomaly (reason from the resolution), recorded as done by Jira; nothing is sent back.",
    )


def save_defaults(conn: Connection, defaults: TicketDefaults) -> None:
    try:
        connect.save_defaults(conn.id, defaults)
    except InvalidConnectionInput as exc:
        st.error(exc.message)  # right under the address field and its button
    else:
        flash("success", "Defaults for new tickets saved.")
        st.rerun()


def choose_defaults(conn: Connection) -> TicketDefaults:
    projects = jira_lists(conn, "projects", connect.projects)
    if not projects:
        return TicketDefaults(
            conn.project_key, conn.issue_type_id, conn.issue_type_name, conn.priority_name
        )
    keys = [p.key for p in projects]
    names = {p.key: f"{p.key} · {p.name}" for p in projects}
    project = st.selectbox(
        "Project",
        keys,
        format_func=names.get,
        key=f"connect_project_{conn.id}",
        index=keys.index(conn.project_key) if conn.project_key in keys else 0,
    )
    types = jira_lists(conn, "types", connect.issue_types, project) or []
    type_ids = [t.id for t in types]
    type_names = {t.id: t.name for t in types}
    type_id = st.selectbox(
        "Issue type",
        type_ids,
        format_func=type_names.get,
        key=f"connect_issue_type_{conn.id}_{project}",
        index=type_ids.index(conn.issue_type_id) if conn.issue_type_id in type_ids else 0,
    )
    priorities = (
        (jira_lists(conn, "priorities", connect.priorities, project, type_id) or [])
        if type_id
        else []
    )
    priority = st.selectbox(
        "Priority",
        [None, *priorities],
        format_func=lambda p: p or "(Jira's default)",
        key=f"connect_priority_{conn.id}_{project}_{type_id}",
        index=priorities.index(conn.priority_name) + 1 if conn.priority_name in priorities else 0,
    )
    return TicketDefaults(project, type_id, type_names.get(type_id), priority)


def add_section() -> None:
    st.subheader("Add a connection")
    kind = st.selectbox("Kind", list(KIND_BY_LABEL), key="connect_kind", on_change=on_kind_change)
    kind = KIND_BY_LABEL[kind]
    flavour = kind
    if kind == "sandbox":
        flavour = FLAVOURS[
            st.selectbox(
                "Sandbox speaks",
                list(FLAVOURS),
                key="connect_sandbox_flavour",
                on_change=on_kind_change,
            )
        ]
    auth = "cloud"
    if flavour == "dc":
        auth = DC_AUTH[
            st.radio(
                "Sign in with",
                list(DC_AUTH),
                key="connect_dc_auth",
                horizontal=True,
                on_change=on_kind_change,
            )
        ]
    with st.form("connect_add_form", border=False, enter_to_submit=False):
        add_fields(kind, auth)


def add_fields(kind: str, auth: str) -> None:
    placeholder = {
        "cloud": "https://your-site.atlassian.net",
        "dc": "https://jira.example.com",
        "sandbox": connect.sandbox_url,
    }[kind]
    st.text_input("Jira address", key="connect_host", placeholder=placeholder)
    field_error("connect_add_error", "host")
    st.form_submit_button("Detect Cloud or Data Center", key="connect_detect", on_click=on_detect)
    if "connect_detected" in st.session_state:
        st.caption(st.session_state.pop("connect_detected"))
    st.text_input(
        "Credentials", key="connect_credentials", type="password", help=CREDENTIAL_HELP[auth]
    )
    field_error("connect_add_error", "credentials")
    with st.expander("Advanced"):
        st.text_input(
            "REST API prefix (leave empty for rest/api/3 on Cloud, rest/api/2 on Data Center)",
            key="connect_api_prefix",
        )
        field_error("connect_add_error", "api_prefix")
        st.checkbox("Use the system proxy (HTTP(S)_PROXY)", value=True, key="connect_trust_env")
        st.text_input(
            "CA bundle path (PEM; for an internal certificate authority)", key="connect_ca_bundle"
        )
        field_error("connect_add_error", "ca_bundle")
    field_error("connect_add_error", "kind")
    st.form_submit_button("Create", key="connect_create", type="primary", on_click=on_create)
    field_error("connect_add_error", "check")


def edit_form(conn: Connection) -> None:
    with st.form(f"connect_edit_form_{conn.id}", border=False, enter_to_submit=False):
        edit_fields(conn)


def edit_fields(conn: Connection) -> None:
    scope = f"connect_edit_error_{conn.id}"
    st.text_input("Jira address", value=conn.host, key=f"connect_edit_host_{conn.id}")
    field_error(scope, "host")
    if conn.flavour == "dc":
        current = "Personal access token" if conn.auth_type == "bearer" else "Username and password"
        st.radio(
            "Sign in with",
            list(DC_AUTH),
            index=list(DC_AUTH).index(current),
            horizontal=True,
            key=f"connect_edit_dc_auth_{conn.id}",
        )
    st.text_input(
        "Credentials",
        key=f"connect_edit_credentials_{conn.id}",
        type="password",
        placeholder=f"{conn.username + ':' if conn.username else ''}{conn.secret.masked()}",
        help="Leave empty to keep the stored credentials.",
    )
    field_error(scope, "credentials")
    st.text_input(
        "REST API prefix", value=conn.api_prefix or "", key=f"connect_edit_api_prefix_{conn.id}"
    )
    field_error(scope, "api_prefix")
    st.checkbox(
        "Use the system proxy", value=conn.trust_env, key=f"connect_edit_trust_env_{conn.id}"
    )
    st.text_input(
        "CA bundle path", value=conn.ca_bundle or "", key=f"connect_edit_ca_bundle_{conn.id}"
    )
    field_error(scope, "ca_bundle")
    st.form_submit_button(
        "Save changes", key=f"connect_edit_save_{conn.id}", on_click=on_save_edit, args=(conn,)
    )
    field_error(scope, "check")


def list_section() -> None:
    st.subheader("Stored connections")
    connections = connect.list()
    if not connections:
        st.caption("None yet: the demo sandbox is used until you add one.")
    for conn in connections:
        with st.container(border=True):
            head, b1, b2, b3, b4 = st.columns([6, 1, 1, 1, 1])
            head.markdown(f"**{conn.label}**" + (" · :green[active]" if conn.active else ""))
            head.caption(
                f"Secret {conn.secret.masked()} · last check {conn.check_status or 'none'} "
                f"({when(conn.checked_at)})"
            )
            if not conn.active:
                b1.button(
                    "Activate",
                    key=f"connect_activate_{conn.id}",
                    on_click=on_activate,
                    args=(conn.id,),
                )
            b2.button("Test", key=f"connect_test_{conn.id}", on_click=on_test, args=(conn.id,))
            if b3.button("Edit", key=f"connect_edit_{conn.id}"):
                st.session_state["connect_editing"] = conn.id
            b4.button(
                "Delete",
                key=f"connect_delete_{conn.id}",
                on_click=on_delete_asked,
                args=(conn.id,),
            )
            if st.session_state.get("connect_confirm_delete") == conn.id:
                confirm_delete(conn)
            if st.session_state.get("connect_editing") == conn.id:
                edit_form(conn)
    if any(c.active for c in connections):
        st.button("Use demo mode instead", key="connect_use_demo", on_click=connect.use_demo)


def confirm_delete(conn: Connection) -> None:
    # Two steps: a connection cannot be restored from the page once deleted.
    st.warning(
        f"Delete {conn.label}? Tickets linked through it keep it as history, but it can no "
        "longer be used."
        + (" It is the active connection: the demo sandbox takes over." if conn.active else "")
    )
    yes, no = st.columns(2)
    yes.button(
        "Yes, delete",
        key=f"connect_delete_yes_{conn.id}",
        type="primary",
        on_click=on_delete,
        args=(conn.id,),
    )
    no.button("Cancel", key=f"connect_delete_no_{conn.id}", on_click=on_delete_cancelled)


show_flash()
active = active_section()
defaults_section(active)
inbound_section(active)
moves_section(active)
add_section()
list_section()
