"""Tickets: the power users' creation table, kept in step with the raw JSON sent to Jira.

The canonical rows live in session state. The editor shows ``BASE`` rows plus
its own pending edits; when the rows change from elsewhere (the JSON, Add
field) BASE is replaced, which gives the editor a new identity (its data
changed) and drops its stale edits instead of applying them twice.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from components.common import actor, services
from lib.jira import JiraError
from lib.jira.wording import explain
from lib.services import Services
from lib.store.anomalies import AnomalyNotFound
from lib.tickets.automation import JiraRefused
from lib.tickets.automation_command import AutomationRefused
from lib.tickets.create_form import input_kind, jira_value, load_create_form
from lib.tickets.field_table import (
    EXCLUDE,
    INCLUDE,
    FieldRow,
    FieldTableError,
    json_to_rows,
    rows_to_fields,
    rows_to_payload,
    value_to_cell,
)
from lib.tickets.service import TicketRefused
from lib.tickets.ticket_table import CREATE, UPDATE, TicketTable

EDITOR, JSON = "tickets_table_editor", "tickets_json"
ROWS, BASE, SHOWN = "tickets_table_rows", "tickets_table_base", "tickets_table_last_json"
RICH = "tickets_table_rich_fields"  # textarea fields added from createmeta
SUBMISSION, JSON_PROBLEM = "tickets_table_submission", "tickets_table_json_problem"
CUSTOM_FIELD = re.compile(r"^customfield_\d+$")

svc = services()
st.title("Tickets")
st.caption(
    "For power users: every field Jira takes, as a table and as the JSON that is sent. "
    "Edit either one; rows in exclude mode stay in the table but leave the JSON."
)


def starting_rows(svc: Services) -> list[FieldRow]:
    """Project and issue type from the connection's defaults, then the fields every ticket has."""
    connection = svc.jira.connection()
    kind = (
        {"name": connection.issue_type_name}
        if connection.issue_type_name
        else {"id": connection.issue_type_id}
        if connection.issue_type_id
        else {"name": "Task"}
    )
    return [
        FieldRow("project", json.dumps({"key": connection.project_key or ""})),
        FieldRow("issuetype", json.dumps(kind)),
        FieldRow("summary", ""),
        FieldRow("description", ""),
    ]


def to_json(rows: list[FieldRow]) -> str:
    """The JSON of the rows that have a field name (a row being typed may not yet)."""
    return json.dumps(
        rows_to_payload([r for r in rows if r.field.strip()]), indent=2, ensure_ascii=False
    )


def set_rows(rows: list[FieldRow], *, reset_editor: bool) -> None:
    st.session_state[ROWS] = rows
    if reset_editor:
        st.session_state[BASE] = rows
        st.session_state.pop(EDITOR, None)


def publish_json(rows: list[FieldRow]) -> None:
    """Regenerate the JSON from the rows; an unusable row keeps the JSON and says why."""
    try:
        text = to_json(rows)
    except FieldTableError as exc:
        st.session_state["tickets_table_error"] = str(exc)
        return
    st.session_state[JSON] = st.session_state[SHOWN] = text
    st.session_state.pop(JSON_PROBLEM, None)  # the box holds the table's JSON again


def follow_json_edit() -> None:
    """The JSON was edited since it was last shown: the table follows, or stays with a message.

    Invalid JSON is remembered until it is fixed: nothing is sent meanwhile,
    rather than the table as it was before the edit.
    """
    text = st.session_state.get(JSON)
    if text is None or text == st.session_state.get(SHOWN):
        return
    try:
        rows = json_to_rows(text, st.session_state[ROWS])
    except FieldTableError as exc:
        st.session_state["tickets_table_error"] = str(exc)
        st.session_state[JSON_PROBLEM] = str(exc)
        return
    st.session_state.pop(JSON_PROBLEM, None)
    set_rows(rows, reset_editor=True)
    st.session_state[SHOWN] = text


def add_row(field: str, value) -> None:
    rows = [r for r in st.session_state[ROWS] if r.field != field]
    set_rows(rows + [FieldRow(field, value_to_cell(value), INCLUDE)], reset_editor=True)
    publish_json(st.session_state[ROWS])
    st.session_state["tickets_table_notice"] = f"Added {field}."


# Cached per connection (id, host, last check): cached values are never mutated.
@st.cache_data(ttl=300, show_spinner="Reading Jira's create metadata...")
def create_meta(connection_key: tuple, project: str | None, _svc: Services):
    return load_create_form(_svc.jira().client, project, None)


@st.cache_data(ttl=300, show_spinner="Reading the issue type's fields...")
def type_fields(connection_key: tuple, project: str, issue_type: str, _svc: Services):
    return _svc.jira().client.fields_for_issue_type(project, issue_type)


def metadata_field_picker(svc: Services) -> None:
    connection = svc.jira.connection()
    key = (connection.id, connection.host, connection.checked_at)
    try:
        projects = [p.key for p in create_meta(key, None, svc).projects]
        c1, c2 = st.columns(2)
        project = c1.selectbox("Project", projects, key="tickets_table_meta_project")
        types = (
            {t.id: t.name for t in create_meta(key, project, svc).issue_types} if project else {}
        )
        issue_type = c2.selectbox(
            "Issue type", list(types), format_func=types.get, key="tickets_table_meta_type"
        )
        metas = (
            {f.field_id: f for f in type_fields(key, project, issue_type, svc)}
            if issue_type
            else {}
        )
    except (JiraError, AttributeError) as exc:  # AttributeError: no usable connection (None)
        st.error(f"Jira's create metadata could not be read: {_jira_words(svc, exc)}")
        return
    if not metas:
        st.caption("No fields to pick for this project and issue type.")
        return
    picked = st.selectbox(
        "Field",
        list(metas),
        key="tickets_table_meta_field",
        format_func=lambda f: (
            f"{metas[f].name} ({f})" + (" · required" if metas[f].required else "")
        ),
    )
    meta = metas[picked]
    names = [v.name for v in meta.allowed_values]
    if input_kind(meta) == "choice":
        value = st.selectbox("Value", names, key="tickets_table_meta_choice")
    elif input_kind(meta) == "choices":
        value = st.multiselect("Values", names, key="tickets_table_meta_choices")
    else:
        value = st.text_input("Value", key="tickets_table_meta_value")
    if st.button("Add field", key="tickets_table_add_meta", icon=":material/add:"):
        if meta.rich_text:  # a textarea: sent as rich text (see field_table.rows_to_fields)
            st.session_state[RICH] = {*st.session_state.get(RICH, ()), picked}
        add_row(picked, jira_value(meta, value) if value not in (None, "", []) else "")


def custom_field_adder() -> None:
    c1, c2, c3 = st.columns([2, 3, 1])
    field = c1.text_input(
        "Custom field id", key="tickets_table_custom_id", placeholder="customfield_10010"
    ).strip()
    value = c2.text_input(
        "Value",
        key="tickets_table_custom_value",
        help='Plain text, or JSON such as {"value": "Gold"} or 3.',
    )
    if c3.button("Add", key="tickets_table_add_custom"):
        if not CUSTOM_FIELD.match(field):
            st.session_state["tickets_table_error"] = (
                f"'{field}' is not a custom field id: use customfield_ and digits, "
                "like customfield_10010."
            )
        else:
            add_row(field, value)


def rows_from_editor(frame: pd.DataFrame) -> list[FieldRow]:
    def cell(value) -> str:
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

    return [
        FieldRow(cell(r["field"]).strip(), cell(r["value"]), cell(r["mode"]) or INCLUDE)
        for r in frame.to_dict("records")
    ]


def table() -> None:
    base = st.session_state[BASE]
    frame = pd.DataFrame(
        [{"field": r.field, "value": r.value, "mode": r.mode} for r in base],
        columns=["field", "value", "mode"],
    )
    edited = st.data_editor(
        frame,
        key=EDITOR,
        num_rows="dynamic",
        width="stretch",
        column_config={
            "field": st.column_config.TextColumn("Field", required=True),
            "value": st.column_config.TextColumn("Value", width="large"),
            "mode": st.column_config.SelectboxColumn(
                "Mode", options=[INCLUDE, EXCLUDE], default=INCLUDE, required=True
            ),
        },
    )
    rows = rows_from_editor(edited)
    if rows != st.session_state[ROWS]:
        set_rows(rows, reset_editor=False)  # the editor already shows them
        publish_json(rows)


def _jira_words(svc: Services, exc: Exception) -> str:
    return explain(exc, svc.jira.connection()) if isinstance(exc, JiraError) else str(exc)


# -- execute -----------------------------------------------------------------


def show_refusal(message: str, field_errors: dict | None) -> None:
    details = "".join(f"\n- **{name}**: {text}" for name, text in (field_errors or {}).items())
    st.error(message + details)


def submission(table: TicketTable):
    """One key per intended ticket: the preview shows its request id; a new one after a create."""
    if SUBMISSION not in st.session_state:
        st.session_state[SUBMISSION] = table.new_submission()
    return st.session_state[SUBMISSION]


def table_fields() -> dict:
    """The fields to send. Raises FieldTableError when the JSON box holds invalid JSON."""
    if problem := st.session_state.get(JSON_PROBLEM):
        raise FieldTableError(f"Nothing is sent while the JSON is invalid. {problem}")
    rows = [r for r in st.session_state[ROWS] if r.field.strip()]
    # Textarea fields travel as rich text, rendered for the connection's flavour.
    return rows_to_fields(rows, rich_text=st.session_state.get(RICH, ()))


def create(table: TicketTable, fields: dict, anomaly_text: str) -> None:
    done = table.create(fields, anomaly_text, submission(table), actor())
    if done.plain is not None:
        result = done.plain
        if result.ok:
            st.session_state.pop(SUBMISSION, None)  # the next Create is a new ticket
            st.success(f"Created [{result.ticket_key}]({result.ticket_url}).")
        else:
            st.warning(result.message)
        return
    created = done.linked
    if created.link is not None:
        st.session_state.pop(SUBMISSION, None)
        st.success(
            f"Created [{created.key}]({created.link.url}), linked to anomaly "
            f"{anomaly_text.strip()}."
        )
    else:
        st.info(created.message)


def update(svc: Services, table: TicketTable, fields: dict, key: str, change_type: bool) -> None:
    delivery = table.update(key, fields, actor(), change_type=change_type)
    row = svc.sync.log.get(delivery.log_id)
    if delivery.outcome == "ok":
        st.success(f"Updated [{delivery.ticket_key}]({row.ticket_url}).")
    elif delivery.outcome == "permanent":
        show_refusal(f"Jira refused the update: {delivery.message}", delivery.field_errors)
    else:
        st.info(f"Jira did not take it yet ({delivery.message}); it is queued and retried.")


def preview(table: TicketTable, action: str, target: str, change_type: bool) -> None:
    """The exact request body, or why there is none (the same refusal the send would meet)."""
    st.markdown("**JSON sent to Jira**")
    try:
        fields = table_fields()
        body = (
            table.preview_create(fields, target, submission(table))
            if action == CREATE
            else table.preview_update(fields, change_type=change_type)
        )
    except (FieldTableError, TicketRefused, AutomationRefused, AnomalyNotFound) as exc:
        st.warning(f"No request to show: {exc}")
        return
    except JiraError as exc:
        st.warning(f"No request to show: {_jira_words(svc, exc)}")
        return
    st.code(json.dumps(body, indent=2, ensure_ascii=False), language="json")


def execute(svc: Services) -> None:
    table = TicketTable(svc.tickets, svc.automation)
    st.subheader("Execute")
    action = st.radio("Action", [CREATE, UPDATE], key="tickets_table_action", horizontal=True)
    change_type = False
    if action == CREATE:
        target = st.text_input("Link to anomaly id (optional)", key="tickets_table_anomaly")
    else:
        target = st.text_input("Issue key", key="tickets_table_key", placeholder="DQ-123")
        change_type = st.checkbox(
            "Change the issue type too",
            key="tickets_table_change_type",
            help="Jira never takes project on an edit; the issue type only when you mean it.",
        )
    preview(table, action, target, change_type)
    if not st.button(f"{action} ticket", key="tickets_table_execute", type="primary"):
        return
    try:
        fields = table_fields()
        if action == CREATE:
            create(table, fields, target)
        else:
            update(svc, table, fields, target, change_type)
    except FieldTableError as exc:
        st.error(str(exc))
    except JiraRefused as exc:
        show_refusal(str(exc), exc.field_errors)
    except TicketRefused as exc:
        show_refusal(str(exc), exc.field_errors)
    except (AutomationRefused, AnomalyNotFound) as exc:
        st.error(str(exc))


# -- the page ----------------------------------------------------------------

if ROWS not in st.session_state:
    set_rows(starting_rows(svc), reset_editor=True)
    publish_json(st.session_state[ROWS])
follow_json_edit()
with st.expander("Add field", icon=":material/add:"):
    st.caption(
        "A field of the project's create screen (with its allowed values), or a custom field by id."
    )
    metadata_field_picker(svc)
    st.divider()
    custom_field_adder()
table()
if notice := st.session_state.pop("tickets_table_notice", None):
    st.success(notice)
if problem := st.session_state.pop("tickets_table_error", None):
    st.error(problem)
st.text_area(
    "Fields as JSON",
    key=JSON,
    height=280,
    help="Edit it and the table follows; invalid JSON leaves the table as it was and "
    "blocks sending until it is fixed. The exact request is shown under Execute.",
)
execute(svc)
