"""The "Linked tickets" part of an anomaly's details: list, refresh, unlink, add.

New ticket and Link existing open as dialogs; which one is open is kept in
session state, so the dialog survives reruns and closes when dismissed.
"""

from __future__ import annotations

import streamlit as st

from lib.anomalies.overview import AnomalyOverview
from lib.jira import JiraError
from lib.jira.wording import explain
from lib.services import Services, utc_now
from lib.store.links import DuplicateLink
from lib.store.models import Anomaly
from lib.tickets.create_form import input_kind, jira_value, load_create_form
from lib.tickets.description import anomaly_doc, default_summary, doc_text
from lib.tickets.service import TicketRefused

DIALOG = "tickets_dialog"
UNLINK = "tickets_unlink_confirm"  # the link whose Unlink waits for a yes
DISMISSED = "tickets_dismissed"  # superseded failures the user put away (log ids)
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
    panel = AnomalyOverview.of(svc).ticket_panel(anomaly.id)
    if panel.refresh_problem:
        st.caption(panel.refresh_problem)
    if not panel.links:
        st.caption("No linked tickets.")
    for link in panel.links:
        _link_row(svc, link, actor)
    _problems(svc, panel)
    row = st.container(horizontal=True)
    if row.button("New ticket", key="tickets_new", icon=":material/add:"):
        st.session_state[DIALOG] = ("new", anomaly.id)
        # One key per opening: a second press of Create answers the first ticket.
        st.session_state[SUBMISSION] = svc.tickets.new_submission()
    if row.button("Link existing", key="tickets_link", icon=":material/link:"):
        st.session_state[DIALOG] = ("link", anomaly.id)
    if panel.links and row.button(
        "Refresh from Jira", key="tickets_refresh_all", icon=":material/refresh:"
    ):
        _refresh_all(svc, anomaly.id)
    opened = st.session_state.get(DIALOG)
    if opened == ("new", anomaly.id):
        new_ticket_dialog(svc, anomaly, actor)
    elif opened == ("link", anomaly.id):
        link_dialog(svc, anomaly, actor)


def _link_row(svc: Services, link, actor: str) -> None:
    # Text on the left, buttons at their natural width on the right: fixed
    # narrow columns cut "Refresh" and "Unlink" to "Ref..." at the default width.
    text, buttons = st.columns([3, 2], vertical_alignment="center")
    synced = f"{link.last_synced_at:%Y-%m-%d %H:%M} UTC" if link.last_synced_at else "never"
    text.markdown(f"[{link.issue_key}]({link.url}) {link.summary or ''}")
    text.caption(
        f"{link.status_name or 'status unknown'} · priority {link.priority or '-'} · "
        f"synced {synced}"
    )
    if svc.inbound is not None:
        _jira_side(text, link, svc.inbound.ticket_view(link.id))
    row = buttons.container(horizontal=True, horizontal_alignment="right")
    row.link_button("View", link.url, icon=":material/open_in_new:")
    if row.button("Refresh", key=f"tickets_refresh_{link.id}", icon=":material/refresh:"):
        try:
            svc.tickets.read_from_jira(link.id, actor)  # state and comments, as the poll reads
        except (TicketRefused, JiraError) as exc:
            st.session_state["anomalies_flash"] = ("error", _jira_error(svc, exc))
        st.rerun()
    if row.button("Unlink", key=f"tickets_unlink_{link.id}", icon=":material/link_off:"):
        st.session_state[UNLINK] = link.id
    if st.session_state.get(UNLINK) == link.id:
        _confirm_unlink(svc, link, actor)


# Jira's status category colours, as its boards show them.
CATEGORY_COLOURS = {"new": "gray", "indeterminate": "blue", "done": "green"}


def _jira_side(box, link, view) -> None:
    """Status in its category colour, resolution, assignee, last updated, "Jira activity"."""
    state = view.state
    if state is not None and state.gone_at is not None:
        box.markdown(
            f":red-badge[Deleted in Jira or not visible] since {state.gone_at:%Y-%m-%d %H:%M} UTC"
            " · the link stays; its updates cannot reach Jira."
        )
        return
    colour = CATEGORY_COLOURS.get(link.status_category or "", "gray")
    parts = [f":{colour}-badge[{link.status_name or 'status unknown'}]"]
    if state is not None:
        parts.append(f"resolution {state.resolution or 'none'}")
        parts.append(f"assignee {state.assignee or 'unassigned'}")
        if state.jira_updated:
            parts.append(f"updated in Jira {state.jira_updated:%Y-%m-%d %H:%M} UTC")
        if state.moved_from:
            parts.append(f"moved from {state.moved_from}")
    box.markdown(" · ".join(parts))
    if view.activity:
        with box.expander(f"Jira activity ({len(view.activity)})"):
            for comment in view.activity:
                when = f"{comment.created_at:%Y-%m-%d %H:%M} UTC" if comment.created_at else ""
                st.markdown(f"**{comment.author or 'someone'}** · {when}")
                st.text(comment.body_text)


def _confirm_unlink(svc: Services, link, actor: str) -> None:
    box = st.container(border=True)
    box.warning(
        f"Unlink {link.issue_key} from this anomaly? Its updates stop going to that issue; "
        "the Jira issue itself is not changed."
    )
    row = box.container(horizontal=True)
    if row.button("Yes, unlink", key=f"tickets_unlink_yes_{link.id}", type="primary"):
        st.session_state.pop(UNLINK, None)
        try:
            svc.tickets.unlink(link.id, actor)
        except TicketRefused as exc:
            st.session_state["anomalies_flash"] = ("error", str(exc))
        else:
            st.session_state["anomalies_flash"] = (
                "success",
                f"Unlinked {link.issue_key} (the Jira issue itself is unchanged).",
            )
        st.rerun()
    if row.button("Cancel", key=f"tickets_unlink_no_{link.id}"):
        st.session_state.pop(UNLINK, None)
        st.rerun()


def _refresh_all(svc: Services, anomaly_id: int) -> None:
    """Every ticket's state and comments from Jira now, in one search (the poll, by id)."""
    result = svc.reconciliation.resync([anomaly_id])
    if result.problem:
        st.session_state["anomalies_flash"] = ("error", result.problem)
    st.rerun()


def _problems(svc: Services, panel) -> None:
    if panel.waiting:
        st.caption(f"{panel.waiting} update(s) waiting to be sent to Jira.")
    for row in panel.failures:
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.error(f"{row.action.capitalize()} {row.ticket_key or ''} failed: {row.error}")
        if button.button("Retry", key=f"tickets_retry_{row.id}"):
            try:
                svc.sync.retry(row.id)
            except ValueError as exc:
                st.session_state["anomalies_flash"] = ("error", str(exc))
            else:
                st.session_state["anomalies_flash"] = ("info", "Queued again.")
            st.rerun()
    _superseded(panel)


def _superseded(panel) -> None:
    """Old failures a later success replaced: a quiet note each, until dismissed."""
    dismissed = st.session_state.setdefault(DISMISSED, set())
    for row, by in panel.superseded:
        if row.id in dismissed:
            continue
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.caption(
            f"An earlier {row.action} {row.ticket_key or ''} failed ({row.error}); "
            f"superseded{f' by {by}' if by else ''} since."
        )
        if button.button("Dismiss", key=f"tickets_dismiss_{row.id}", type="tertiary"):
            dismissed.add(row.id)
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
        c1, c2, c3, c4 = st.columns([1.2, 5, 1.6, 1], vertical_alignment="center")
        c1.markdown(f"[{hit.key}]({hit.url})")
        c2.write(hit.summary)
        c3.caption(hit.status_name or "status unknown")
        if c4.button("Link", key=f"tickets_pick_{hit.key}"):
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
