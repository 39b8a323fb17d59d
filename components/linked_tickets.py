"""The "Linked tickets" part of an anomaly's details: list, refresh, unlink, add.

New ticket and Link existing open as dialogs; which one is open is kept in
session state, so the dialog survives reruns and closes when dismissed.
"""

from __future__ import annotations

import streamlit as st

from lib.connections.jira_connections import explain
from lib.jira import JiraError
from lib.services import Services, utc_now
from lib.store.links import DuplicateLink
from lib.store.models import Anomaly
from lib.tickets.create_form import input_kind, jira_value, load_create_form
from lib.tickets.description import anomaly_doc, default_summary, doc_text
from lib.tickets.service import TicketRefused

DIALOG = "tickets_dialog"
SUBMISSION = "tickets_submission"


def _close() -> None:
    st.session_state.pop(DIALOG, None)


def _jira_error(svc: Services, exc: Exception) -> str:
    return explain(exc, svc.jira.connection()) if isinstance(exc, JiraError) else str(exc)


def section(svc: Services, anomaly: Anomaly, actor: str) -> None:
    st.markdown("**Linked tickets**")
    connection = svc.jira.connection()
    if connection.is_demo:
        st.caption(
            "Demo mode: tickets go to the built-in Jira sandbox. Connect a real Jira on "
            "the Connect to Jira page."
        )
    links = svc.tickets.links_for(anomaly.id)
    if not links:
        st.caption("No linked tickets.")
    for link in links:
        _link_row(svc, link, actor)
    _problems(svc, anomaly.id)
    c1, c2, c3 = st.columns([1, 1, 4])
    if c1.button("New ticket", key="tickets_new", icon=":material/add:"):
        st.session_state[DIALOG] = ("new", anomaly.id)
        # One key per opening: a second press of Create answers the first ticket.
        st.session_state[SUBMISSION] = svc.tickets.new_submission()
    if c2.button("Link existing", key="tickets_link", icon=":material/link:"):
        st.session_state[DIALOG] = ("link", anomaly.id)
    if links and c3.button("Refresh from Jira", key="tickets_refresh_all"):
        _refresh_all(svc, anomaly.id)
    opened = st.session_state.get(DIALOG)
    if opened == ("new", anomaly.id):
        new_ticket_dialog(svc, anomaly, actor)
    elif opened == ("link", anomaly.id):
        link_dialog(svc, anomaly, actor)


def _link_row(svc: Services, link, actor: str) -> None:
    cols = st.columns([1.2, 3, 1.3, 1, 1.6, 0.8, 0.8, 0.8])
    cols[0].markdown(f"[{link.issue_key}]({link.url})")
    cols[1].write(link.summary or "")
    cols[2].write(link.status_name or "-")
    cols[3].write(link.priority or "-")
    synced = f"{link.last_synced_at:%Y-%m-%d %H:%M} UTC" if link.last_synced_at else "never"
    cols[4].caption(f"synced {synced}")
    cols[5].link_button("View", link.url)
    if cols[6].button("Refresh", key=f"tickets_refresh_{link.id}"):
        try:
            svc.tickets.refresh(link.id)
        except (TicketRefused, JiraError) as exc:
            st.session_state["anomalies_flash"] = ("error", _jira_error(svc, exc))
        st.rerun()
    if cols[7].button("Unlink", key=f"tickets_unlink_{link.id}"):
        svc.tickets.unlink(link.id, actor)
        st.session_state["anomalies_flash"] = (
            "success",
            f"Unlinked {link.issue_key} (the Jira issue itself is unchanged).",
        )
        st.rerun()


def _refresh_all(svc: Services, anomaly_id: int) -> None:
    try:
        svc.tickets.refresh_anomaly(anomaly_id)
    except (TicketRefused, JiraError) as exc:
        st.session_state["anomalies_flash"] = ("error", _jira_error(svc, exc))
    st.rerun()


def _problems(svc: Services, anomaly_id: int) -> None:
    rows = svc.sync.log.for_anomaly(anomaly_id)
    waiting = [r for r in rows if r.status in ("pending", "sending", "deferred")]
    if waiting:
        st.caption(f"{len(waiting)} update(s) waiting to be sent to Jira.")
    for row in (r for r in rows if r.status == "failed"):
        c1, c2 = st.columns([6, 1])
        c1.error(f"{row.action.capitalize()} {row.ticket_key or ''} failed: {row.error}")
        if c2.button("Retry", key=f"tickets_retry_{row.id}"):
            try:
                svc.sync.retry(row.id)
            except ValueError as exc:
                st.session_state["anomalies_flash"] = ("error", str(exc))
            else:
                st.session_state["anomalies_flash"] = ("info", "Queued again.")
            st.rerun()


@st.cache_data(ttl=300, show_spinner="Reading Jira's create metadata...")
def _form_meta(connection_key: tuple, project: str | None, issue_type: str | None, _svc: Services):
    active = _svc.jira()
    return load_create_form(active.client, project, issue_type)


@st.dialog("New Jira ticket", width="large", on_dismiss=_close)
def new_ticket_dialog(svc: Services, anomaly: Anomaly, actor: str) -> None:
    connection = svc.jira.connection()
    cache_key = (connection.id, connection.host, connection.checked_at)
    try:
        meta = _form_meta(cache_key, None, None, svc)
        keys = [p.key for p in meta.projects]
        project = st.selectbox(
            "Project",
            keys,
            key="tickets_project",
            index=keys.index(connection.project_key) if connection.project_key in keys else 0,
        )
        meta = _form_meta(cache_key, project, None, svc)
        types = {t.id: t.name for t in meta.issue_types}
        wanted = connection.issue_type_id or next(
            (i for i, n in types.items() if n == connection.issue_type_name), None
        )
        type_ids = list(types)
        issue_type = st.selectbox(
            "Issue type",
            type_ids,
            format_func=types.get,
            key="tickets_issue_type",
            index=type_ids.index(wanted) if wanted in type_ids else 0,
        )
        meta = _form_meta(cache_key, project, issue_type, svc)
    except (JiraError, ValueError) as exc:
        st.error(f"Jira's create metadata could not be read: {_jira_error(svc, exc)}")
        return
    _ticket_form(svc, anomaly, actor, project, issue_type, meta, connection.priority_name)


def _ticket_form(svc, anomaly, actor, project, issue_type, meta, default_priority) -> None:
    errors = st.session_state.get("tickets_field_errors", {})
    doc = anomaly_doc(anomaly, svc.connections.public_url(svc.jira.connection()), utc_now())
    prefilled = doc_text(doc)
    summary = st.text_input(
        "Summary", value=default_summary(anomaly), max_chars=255, key="tickets_summary"
    )
    _field_error(errors, "summary")
    description = st.text_area(
        "Description", value=prefilled, height=260, key="tickets_description"
    )
    _field_error(errors, "description")
    priority = None
    if meta.priorities:
        names = list(meta.priorities)
        priority = st.selectbox(
            "Priority",
            names,
            key="tickets_priority",
            index=names.index(default_priority)
            if default_priority in names
            else min(2, len(names) - 1),
        )
        _field_error(errors, "priority")
    extra = {}
    for field in meta.extra_required:
        extra[field.field_id] = jira_value(field, _extra_input(field))
        _field_error(errors, field.field_id)
    for name in ("project", "issuetype", "labels"):
        _field_error(errors, name)
    if st.button("Create ticket", type="primary", key="tickets_create"):
        missing = [f.name for f in meta.extra_required if extra[f.field_id] is None]
        if missing:
            st.error(f"Required by Jira: {', '.join(missing)}.")
            return
        _create(
            svc,
            anomaly,
            actor,
            project,
            issue_type,
            priority,
            extra,
            summary,
            doc if description == prefilled else description,
        )


def _extra_input(field):
    kind = input_kind(field)
    label = f"{field.name} (required)"
    key = f"tickets_extra_{field.field_id}"
    names = [v.name for v in field.allowed_values]
    if kind == "choice":
        return st.selectbox(label, names, index=None, key=key)
    if kind == "choices":
        return st.multiselect(label, names, key=key)
    if kind == "number":
        return st.number_input(label, value=None, key=key)
    if kind == "date":
        return st.date_input(label, value=None, key=key)
    return st.text_input(label, key=key)


def _field_error(errors: dict, name: str) -> None:
    if name in errors:
        st.error(errors[name])


def _create(svc, anomaly, actor, project, issue_type, priority, extra, summary, description):
    try:
        result = svc.tickets.create_ticket(
            anomaly.id,
            summary=summary,
            description=description,
            priority=priority,
            issue_type=issue_type,
            project=project,
            extra_fields=extra,
            actor=actor,
            submission=st.session_state.get(SUBMISSION),
        )
    except TicketRefused as exc:
        st.session_state["tickets_field_errors"] = dict(exc.field_errors)
        st.error(exc.args[0] if exc.args else "Jira refused the ticket.")
        if exc.field_errors:
            st.rerun()
        return
    except JiraError as exc:
        st.error(_jira_error(svc, exc))
        return
    st.session_state.pop("tickets_field_errors", None)
    _close()
    if result.status == "created":
        st.toast(f"Created {result.key}", icon=":material/check_circle:")
        st.session_state["anomalies_flash"] = (
            "success",
            f"Created [{result.key}]({result.link.url}) and linked it.",
        )
    else:
        st.session_state["anomalies_flash"] = ("info", result.message)
    st.rerun()


@st.dialog("Link an existing Jira ticket", width="large", on_dismiss=_close)
def link_dialog(svc: Services, anomaly: Anomaly, actor: str) -> None:
    query = st.text_input(
        "Issue key or words of the summary",
        key="tickets_query",
        placeholder="DQ-12 or 'orders null'",
    )
    if not query.strip():
        st.caption("A key opens that issue; words search summaries (issue picker and JQL).")
        return
    try:
        hits = svc.tickets.search_issues(query, svc.jira.connection().project_key)
    except (TicketRefused, JiraError) as exc:
        st.error(_jira_error(svc, exc))
        return
    if not hits:
        st.info("No issue matches. Check the key, or try other words.")
        return
    for hit in hits:
        c1, c2, c3 = st.columns([1.2, 5, 1])
        c1.markdown(f"[{hit.key}]({hit.url})")
        c2.write(f"{hit.summary} · {hit.status_name or ''}")
        if c3.button("Link", key=f"tickets_pick_{hit.key}"):
            _link(svc, anomaly, actor, hit.key)


def _link(svc: Services, anomaly: Anomaly, actor: str, key: str) -> None:
    try:
        result = svc.tickets.link_existing(anomaly.id, key, actor)
    except (TicketRefused, DuplicateLink, JiraError) as exc:
        st.error(_jira_error(svc, exc))
        return
    _close()
    note = "" if result.comment.status == "ok" else " The details comment is queued."
    st.session_state["anomalies_flash"] = (
        "success",
        f"Linked {result.link.issue_key}; the anomaly's details were added as a comment.{note}",
    )
    st.rerun()
