"""Anomalies: filter, page and open anomalies; act on one or many; import a file.

**Select several** turns the table's clicks into ticks (no row opens) and shows
the bulk action form and its job (``components/bulk_actions.py``).

An open anomaly (a row clicked, or ``/?anomaly=ID``) replaces the list: its
details start at the top of the page, with Back to the list. The list's
filters, sort and page are kept in session state while it is hidden, since
Streamlit drops the state of widgets a run does not draw.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from components import bulk_actions, linked_tickets
from components.anomaly_table import table_frame
from components.common import actor, services
from lib.anomalies.changes import Mode
from lib.anomalies.importing import ImportRefused
from lib.anomalies.overview import AnomalyOverview, BadAnomalyId, parse_anomaly_id
from lib.store.anomalies import AnomalyNotFound, InvalidTransition
from lib.store.models import AnomalyFilter, ArchiveReason, Status

PAGE_SIZE = 50
SORTS = {
    "Detected": "detected",
    "Id": "id",
    "Datastore": "datastore",
    "Table": "container",
    "Status": "status",
    "Type": "type",
    "Weight": "weight",
}

LIST_STATE = {  # the list's widgets and their starting values
    "anomalies_ds": [],
    "anomalies_status": [],
    "anomalies_type": "Any",
    "anomalies_dates": (),
    "anomalies_text": "",
    "anomalies_sort": "Detected",
    "anomalies_desc": True,
    "anomalies_page": 1,
    "anomalies_bulk_mode": False,
}

svc = services()
overview = AnomalyOverview.of(svc)


def start_list_state() -> None:
    for key, value in LIST_STATE.items():
        st.session_state.setdefault(key, value)


def keep_list_state() -> None:
    """Write the hidden list's values back, so they outlive runs that do not draw it."""
    for key in LIST_STATE:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def first_page() -> None:
    """A new filter or sort starts again at page 1 (the old page may not exist any more)."""
    st.session_state["anomalies_page"] = 1


def flash(kind: str, text: str) -> None:
    st.session_state["anomalies_flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("anomalies_flash", (None, None))
    if kind:
        getattr(st, kind)(text)  # success, info or error


def import_section() -> None:
    with st.expander("Import anomalies from a file (CSV, JSON, Parquet)"):
        upload = st.file_uploader("File", type=["csv", "json", "parquet"], key="anomalies_upload")
        if upload is not None and st.button("Import", key="anomalies_import"):
            try:
                result = svc.changes.import_file(upload.name, upload.getvalue(), mode=Mode.MANUAL)
            except ImportRefused as exc:
                st.error(str(exc))
            else:
                sent = (
                    f" {result.status_changes} status change(s), {result.queued} Jira update(s) queued."
                    if result.status_changes
                    else ""
                )
                flash(
                    "success",
                    f"Imported {upload.name}: {result.inserted} new, {result.updated} updated."
                    + sent,
                )
                st.rerun()


def read_filter() -> AnomalyFilter:
    stores = dict(svc.anomalies.datastores())
    c1, c2, c3, c4, c5 = st.columns([1.9, 1.9, 1.1, 3, 2])
    chosen = c1.multiselect(
        "Datastore",
        list(stores),
        format_func=stores.get,
        key="anomalies_ds",
        on_change=first_page,
        placeholder="Any",
    )
    statuses = c2.multiselect(
        "Status",
        [s.value for s in Status],
        key="anomalies_status",
        on_change=first_page,
        placeholder="Any",
    )
    kind = c3.selectbox(
        "Type", ["Any", "shape", "record"], key="anomalies_type", on_change=first_page
    )
    days = c4.date_input("Detected between", key="anomalies_dates", on_change=first_page)
    text = c5.text_input(
        "Search",
        key="anomalies_text",
        on_change=first_page,
        placeholder="table, field, message",
        help="Words in the table or file name, a field, or a failed check's message.",
    )
    start, end = day_range(days)
    return AnomalyFilter(
        tuple(chosen), tuple(statuses), None if kind == "Any" else kind, start, end, text
    )


def day_range(days) -> tuple[datetime | None, datetime | None]:
    """The date input's one or two days as [start, end) datetimes."""
    if isinstance(days, date):
        days = (days,)
    if not isinstance(days, (tuple, list)) or not days:
        return None, None
    first, last = days[0], days[-1]
    return datetime.combine(first, time.min), datetime.combine(last, time.min) + timedelta(days=1)


# What a triager scans first (status, tickets, Jira updates) before the grid scrolls sideways.
ORDER = ("id", "status", "tickets", "jira", "detected_at", "datastore_name", "container")
ORDER += ("fields", "anomaly_type", "weight", "checks")
COLUMNS = {
    "id": st.column_config.NumberColumn("Id", format="%d"),
    "detected_at": st.column_config.DatetimeColumn("Detected (UTC)", format="YYYY-MM-DD HH:mm"),
    "datastore_name": "Datastore",
    "container": "Table / file",
    "fields": "Fields",
    "anomaly_type": "Type",
    "status": "Status",
    "weight": "Weight",
    "checks": "Failed checks",
    "tickets": "Tickets",
    "jira": st.column_config.TextColumn(
        "Jira updates", help="Changes still queued for Jira, or failed (see the details)."
    ),
}


def table(flt: AnomalyFilter) -> None:
    s1, s2, s3, s4, s5 = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    sort = s1.selectbox("Sort by", list(SORTS), key="anomalies_sort", on_change=first_page)
    descending = s2.toggle("Descending", key="anomalies_desc", on_change=first_page)
    page_no = s3.number_input("Page", min_value=1, step=1, key="anomalies_page")
    open_by_id(s4)
    s5.toggle("Select several", key="anomalies_bulk_mode", help="Act on many anomalies at once")
    listed = overview.list_page(
        flt,
        sort=SORTS[sort],
        descending=descending,
        limit=PAGE_SIZE,
        offset=(int(page_no) - 1) * PAGE_SIZE,
    )
    result = listed.page
    cols = st.columns(len(result.status_counts) + 1)
    cols[0].metric("Matching", f"{result.total:,}")
    for col, (status, count) in zip(cols[1:], result.status_counts.items()):
        col.metric(status, f"{count:,}")
    if not result.rows:
        st.info(
            "No anomaly matches these filters."
            if result.total == 0
            else "This page is past the last one: go back a page."
        )
        return
    frame = table_frame(listed)
    pages = max(1, -(-result.total // PAGE_SIZE))
    if st.session_state.get("anomalies_bulk_mode"):
        bulk_table(flt, frame, result.total, int(page_no), pages)
        return
    st.caption(f"Page {int(page_no)} of {pages}: select a row to open it.")
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="anomalies_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config=COLUMNS,
        column_order=ORDER,
    )
    rows = event.selection.rows if event else []
    if rows:
        st.query_params["anomaly"] = str(int(frame.iloc[rows[0]]["id"]))
        st.rerun()


def bulk_table(flt: AnomalyFilter, frame: pd.DataFrame, total: int, page_no: int, pages: int):
    """Select several: ticking rows selects them (no row opens), then one action for all."""
    ids = [int(i) for i in frame["id"]]
    st.caption(f"Page {page_no} of {pages}: tick rows to select them.")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=bulk_actions.TABLE,
        on_select=lambda: bulk_actions.take_selection(ids),
        selection_mode="multi-row",
        column_config=COLUMNS,
        column_order=ORDER,
    )
    bulk_actions.section(svc, flt, ids, total, actor())


def _open_typed() -> None:
    typed = st.session_state.get("anomalies_open")
    if typed is not None:
        st.query_params["anomaly"] = str(int(typed))
        st.session_state["anomalies_open"] = None


def open_by_id(where) -> None:
    where.number_input(
        "Open anomaly by id",
        min_value=1,
        value=None,
        step=1,
        key="anomalies_open",
        on_change=_open_typed,
    )


def selected_id() -> int | None:
    """The anomaly the address names; a bad id is said once, and the list is shown."""
    raw = st.query_params.get("anomaly")
    if raw is None:
        return None
    try:
        return parse_anomaly_id(raw)
    except BadAnomalyId as exc:
        st.error(str(exc))
        return None


def back_to_list() -> None:
    st.query_params.pop("anomaly", None)


def act(label: str, action) -> None:
    try:
        action()
    except (InvalidTransition, AnomalyNotFound, ValueError) as exc:
        flash("error", str(exc))
    else:
        flash("success", label)
    st.rerun()


def actions(anomaly_id: int, status: str) -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom")
    if status == Status.ACTIVE.value and row.button("Acknowledge", key="anomalies_ack"):
        act("Acknowledged.", lambda: svc.changes.acknowledge(anomaly_id, actor(), mode=Mode.MANUAL))
    if status != Status.ARCHIVED.value:
        reason = row.selectbox(
            "Archive reason",
            [r.value for r in ArchiveReason],
            key="anomalies_reason",
            label_visibility="collapsed",
            width=200,
        )
        if row.button("Archive", key="anomalies_archive"):
            act(
                f"Archived ({reason}).",
                lambda: svc.changes.archive(anomaly_id, reason, actor(), mode=Mode.MANUAL),
            )
    if status != Status.ACTIVE.value and row.button("Reopen", key="anomalies_reopen"):
        act("Reopened.", lambda: svc.changes.reopen(anomaly_id, actor(), mode=Mode.MANUAL))


def details(anomaly_id: int) -> None:
    anomaly = svc.anomalies.get(anomaly_id)
    if anomaly is None:
        st.warning(
            f"Anomaly {anomaly_id} does not exist (it may have been removed, or the "
            "link is wrong). Go back to the list and pick one."
        )
        return
    st.subheader(f"Anomaly {anomaly.id} · {anomaly.status_label}")
    show_flash()
    st.markdown(
        f"**Datastore** {anomaly.datastore_name} · **Table/file** `{anomaly.container}` · "
        f"**Fields** {', '.join(anomaly.fields)} · **Type** {anomaly.anomaly_type} · "
        f"**Detected** {anomaly.detected_at:%Y-%m-%d %H:%M:%S} UTC · **Weight** {anomaly.weight}"
        + (f" · **Tags** {', '.join(anomaly.tags)}" if anomaly.tags else "")
    )
    actions(anomaly.id, anomaly.status)
    st.markdown("**Failed checks**")
    st.dataframe(
        pd.DataFrame([c.__dict__ for c in anomaly.failed_checks]),
        hide_index=True,
        key="anomalies_checks",
        width="stretch",
    )
    if anomaly.description:
        st.markdown("**Description**")
        st.text(anomaly.description)
    linked_tickets.section(svc, anomaly, actor())
    left, right = st.columns(2)
    with left:
        comments(anomaly.id)
    with right:
        history(anomaly.id)


COMMENT_GEN = "anomalies_comment_gen"  # bumped per posted comment: a new, empty box
COMMENT_ECHO = "anomalies_comment_echo"  # (anomaly, box) just posted from: its echo is ignored
COMMENT_FLASH = "anomalies_comment_flash"


def comment_box_key(anomaly_id: int) -> str:
    return f"anomalies_comment_text_{anomaly_id}_{st.session_state.get(COMMENT_GEN, 0)}"


def post_comment(anomaly_id: int) -> None:
    """Comment's callback: post the box's text once, then give the anomaly a fresh box.

    A double click sends a second submit: from the fresh, empty box (ignored
    here), or merged with the first by Streamlit into one run. Either way it
    posts once, to the anomaly and to each linked ticket.
    """
    box = comment_box_key(anomaly_id)
    text = st.session_state.get(box) or ""
    echo = st.session_state.pop(COMMENT_ECHO, None) == (anomaly_id, box)
    if echo and not text.strip():
        return
    try:
        svc.changes.comment(anomaly_id, actor(), text, mode=Mode.MANUAL)
    except (AnomalyNotFound, ValueError) as exc:
        st.session_state[COMMENT_FLASH] = ("error", str(exc))
        return
    st.session_state[COMMENT_GEN] = st.session_state.get(COMMENT_GEN, 0) + 1
    st.session_state[COMMENT_ECHO] = (anomaly_id, comment_box_key(anomaly_id))
    st.session_state[COMMENT_FLASH] = ("success", "Comment added.")


def comments(anomaly_id: int) -> None:
    st.markdown("**Comments**")
    for c in svc.anomalies.comments(anomaly_id):
        st.markdown(f"*{c.author}*, {c.created_at:%Y-%m-%d %H:%M} UTC")
        st.text(c.body)
    # The box's key names the anomaly: a draft never follows the user to another one.
    with st.form(f"anomalies_comment_form_{anomaly_id}", border=False):
        st.text_area("Add a comment", key=comment_box_key(anomaly_id))
        posted = st.form_submit_button(
            "Comment", key="anomalies_comment", on_click=post_comment, args=(anomaly_id,)
        )
    if not posted:
        st.session_state.pop(COMMENT_ECHO, None)  # only the very next submit can be an echo
    kind, text = st.session_state.pop(COMMENT_FLASH, (None, None))
    if kind:
        getattr(st, kind)(text)


def history(anomaly_id: int) -> None:
    st.markdown("**Status history**")
    changes = svc.anomalies.history(anomaly_id)
    if not changes:
        st.caption("No status changes yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "when (UTC)": h.changed_at,
                    "who": h.changed_by,
                    "from": h.from_label,
                    "to": h.to_label,
                }
                for h in changes
            ]
        ),
        hide_index=True,
        key="anomalies_history",
        width="stretch",
    )


def scroll_to_top(anomaly_id: int) -> None:
    """Opening an anomaly from far down the list lands on its first line, once per opening."""
    if st.session_state.get("anomalies_scrolled_to") == anomaly_id:
        return
    st.session_state["anomalies_scrolled_to"] = anomaly_id
    st.html(
        "<script>setTimeout(() => {window.scrollTo(0, 0);"
        " document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')"
        ".forEach((e) => e.scrollTo(0, 0));}, 30);</script>",
        unsafe_allow_javascript=True,
    )


start_list_state()
current = selected_id()
if current is None:
    st.session_state.pop("anomalies_scrolled_to", None)
    st.title("Anomalies")
    show_flash()
    import_section()
    table(read_filter())
else:
    keep_list_state()
    st.button(
        "Back to the list",
        key="anomalies_back",
        icon=":material/arrow_back:",
        type="tertiary",
        on_click=back_to_list,
    )
    details(current)
    scroll_to_top(current)
