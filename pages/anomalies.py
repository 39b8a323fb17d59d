"""Anomalies: filter, page and open anomalies; act on one; import a file."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from components import linked_tickets
from components.common import actor, services
from lib.anomalies.changes import Mode
from lib.anomalies.importing import ImportRefused
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

svc = services()
st.title("Anomalies")


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
    c1, c2, c3, c4, c5 = st.columns([2, 2, 1, 2, 2])
    chosen = c1.multiselect("Datastore", list(stores), format_func=stores.get, key="anomalies_ds")
    statuses = c2.multiselect("Status", [s.value for s in Status], key="anomalies_status")
    kind = c3.selectbox("Type", ["Any", "shape", "record"], key="anomalies_type")
    days = c4.date_input("Detected between", value=(), key="anomalies_dates")
    text = c5.text_input("Search table, field, message", key="anomalies_text")
    start = end = None
    if isinstance(days, (tuple, list)) and len(days) == 2:
        start = datetime.combine(days[0], time.min)
        end = datetime.combine(days[1], time.min) + timedelta(days=1)
    elif isinstance(days, date) or (isinstance(days, (tuple, list)) and len(days) == 1):
        day = days if isinstance(days, date) else days[0]
        start, end = (
            datetime.combine(day, time.min),
            datetime.combine(day, time.min) + timedelta(days=1),
        )
    return AnomalyFilter(
        tuple(chosen), tuple(statuses), None if kind == "Any" else kind, start, end, text
    )


def table(flt: AnomalyFilter) -> None:
    s1, s2, s3 = st.columns([2, 1, 1])
    sort = s1.selectbox("Sort by", list(SORTS), key="anomalies_sort")
    descending = s2.toggle("Descending", value=True, key="anomalies_desc")
    page_no = s3.number_input("Page", min_value=1, value=1, step=1, key="anomalies_page")
    result = svc.anomalies.page(
        flt,
        sort=SORTS[sort],
        descending=descending,
        limit=PAGE_SIZE,
        offset=(int(page_no) - 1) * PAGE_SIZE,
    )
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
    frame = pd.DataFrame(result.rows)
    frame["status"] = [
        f"{s} ({r})" if isinstance(r, str) else s
        for s, r in zip(frame["status"], frame["archive_reason"])
    ]
    frame = frame.drop(columns=["archive_reason"])
    pages = max(1, -(-result.total // PAGE_SIZE))
    st.caption(f"Page {int(page_no)} of {pages}: select a row to open it.")
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="anomalies_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "id": st.column_config.NumberColumn("Id", format="%d"),
            "detected_at": st.column_config.DatetimeColumn(
                "Detected (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "datastore_name": "Datastore",
            "container": "Table / file",
            "fields": "Fields",
            "anomaly_type": "Type",
            "status": "Status",
            "weight": "Weight",
            "checks": "Failed checks",
        },
    )
    rows = event.selection.rows if event else []
    if rows:
        picked = str(int(frame.iloc[rows[0]]["id"]))
        if st.query_params.get("anomaly") != picked:
            st.query_params["anomaly"] = picked
            st.rerun()


def _open_typed() -> None:
    typed = st.session_state.get("anomalies_open")
    if typed is not None:
        st.query_params["anomaly"] = str(int(typed))


def selected_id() -> int | None:
    st.number_input(
        "Open anomaly by id",
        min_value=1,
        value=None,
        step=1,
        key="anomalies_open",
        on_change=_open_typed,
    )
    raw = st.query_params.get("anomaly")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        st.error(f"'{raw}' is not an anomaly id: ids are whole numbers.")
        return None
    return int(raw)


def act(label: str, action) -> None:
    try:
        action()
    except (InvalidTransition, AnomalyNotFound, ValueError) as exc:
        flash("error", str(exc))
    else:
        flash("success", label)
    st.rerun()


def actions(anomaly_id: int, status: str) -> None:
    c1, c2, c3, c4 = st.columns([1, 2, 1, 1])
    if status == Status.ACTIVE.value and c1.button("Acknowledge", key="anomalies_ack"):
        act("Acknowledged.", lambda: svc.changes.acknowledge(anomaly_id, actor(), mode=Mode.MANUAL))
    if status != Status.ARCHIVED.value:
        reason = c2.selectbox(
            "Archive reason",
            [r.value for r in ArchiveReason],
            key="anomalies_reason",
            label_visibility="collapsed",
        )
        if c3.button("Archive", key="anomalies_archive"):
            act(
                f"Archived ({reason}).",
                lambda: svc.changes.archive(anomaly_id, reason, actor(), mode=Mode.MANUAL),
            )
    if status != Status.ACTIVE.value and c4.button("Reopen", key="anomalies_reopen"):
        act("Reopened.", lambda: svc.changes.reopen(anomaly_id, actor(), mode=Mode.MANUAL))


def details(anomaly_id: int) -> None:
    anomaly = svc.anomalies.get(anomaly_id)
    if anomaly is None:
        st.warning(
            f"Anomaly {anomaly_id} does not exist (it may have been removed, or the "
            "link is wrong). Pick one from the table."
        )
        return
    st.subheader(f"Anomaly {anomaly.id} · {anomaly.status_label}")
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
    left, right = st.columns(2)
    with left:
        st.markdown("**Comments**")
        for c in svc.anomalies.comments(anomaly.id):
            st.markdown(f"*{c.author}*, {c.created_at:%Y-%m-%d %H:%M} UTC")
            st.text(c.body)
        text = st.text_area("Add a comment", key="anomalies_comment_text")
        if st.button("Comment", key="anomalies_comment"):
            act(
                "Comment added.",
                lambda: svc.changes.comment(anomaly.id, actor(), text, mode=Mode.MANUAL),
            )
    with right:
        st.markdown("**Status history**")
        history = svc.anomalies.history(anomaly.id)
        if history:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "when (UTC)": h.changed_at,
                            "who": h.changed_by,
                            "from": h.from_label,
                            "to": h.to_label,
                        }
                        for h in history
                    ]
                ),
                hide_index=True,
                key="anomalies_history",
                width="stretch",
            )
        else:
            st.caption("No status changes yet.")
    linked_tickets.section(svc, anomaly, actor())


show_flash()
import_section()
table(read_filter())
st.divider()
current = selected_id()
if current is not None:
    details(current)
