"""Log: every Jira call and queued change, filtered and paged; details, retry, export, cleanup."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from components.common import actor, services
from lib.reporting.log_service import LogAction, LogFilter, LogStatus, LogType

log = services().log
st.title("Log")
st.caption("Every call to Jira and every queued change, newest first. Times are UTC.")


def flash(kind: str, text: str) -> None:
    st.session_state["log_flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("log_flash", (None, None))
    if kind:
        getattr(st, kind)(text)


def day_range(days) -> tuple[datetime | None, datetime | None]:
    """The date input's one or two days as [start, end) in naive UTC."""
    picked = [days] if isinstance(days, date) else list(days or ())
    if not picked:
        return None, None
    return (
        datetime.combine(picked[0], time.min),
        datetime.combine(picked[-1], time.min) + timedelta(days=1),
    )


def read_filter() -> LogFilter:
    c1, c2, c3, c4, c5, c6 = st.columns([1.2, 2, 2, 2, 2, 2])
    types = c1.multiselect("Type", list(LogType), key="log_type")
    actions = c2.multiselect("Action", list(LogAction), key="log_action")
    statuses = c3.multiselect("Status", list(LogStatus), key="log_status")
    kinds = c4.multiselect(
        "Error kind",
        list(log.ERROR_KINDS),
        format_func=log.kind_label,
        key="log_error_kind",
        help="What went wrong on a failed row: authentication, permission, validation, ...",
    )
    days = c5.date_input("Between (UTC)", value=(), key="log_dates")
    text = c6.text_input("Search key, error, anomaly id", key="log_text")
    start, end = day_range(days)
    return LogFilter(tuple(types), tuple(actions), tuple(statuses), start, end, text, tuple(kinds))


def table(flt: LogFilter) -> tuple[int | None, int]:
    """The page of rows; returns the selected row's id (if any) and the match count."""
    page_no = st.number_input("Page", min_value=1, value=1, step=1, key="log_page")
    result = log.page(flt, int(page_no))
    pages = max(1, -(-result.total // log.PAGE_SIZE))
    st.caption(f"{result.total:,} matching entries · page {int(page_no)} of {pages:,}")
    if not result.rows:
        st.info(
            "No log entry matches these filters."
            if result.total == 0
            else "This page is past the last one: go back a page."
        )
        return None, result.total
    frame = pd.DataFrame(
        [
            {
                "id": r.id,
                "time": r.created_at,
                "type": r.type,
                "action": r.action,
                "status": r.status,
                "anomaly": r.anomaly_id,
                "ticket id": r.ticket_id,
                "key": r.ticket_url or None,
                "URL": r.ticket_url,
                "error kind": log.kind_label(r.error_kind) or None,
                "error": r.error,
            }
            for r in result.rows
        ]
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="log_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            # The key links to the ticket: show the URL's last segment (the issue key).
            "key": st.column_config.LinkColumn("key", display_text=r".*/([^/?#]+)$"),
            "anomaly": st.column_config.NumberColumn("anomaly", format="%d"),
        },
    )
    chosen = event.selection.rows if event is not None else []
    return (int(frame["id"].iloc[chosen[0]]) if chosen else None), result.total


def export(flt: LogFilter, matching: int) -> None:
    if matching > log.EXPORT_CAP:
        st.caption(
            f"The export holds the newest {log.EXPORT_CAP:,} of "
            f"{matching:,} matching entries: narrow the filters for the rest."
        )
    # A callable: the CSV is built only when clicked, not on every rerun.
    st.download_button(
        "Export CSV",
        data=lambda: log.export_csv(flt).data,
        file_name="sync_log.csv",
        mime="text/csv",
        key="log_export",
        icon=":material/download:",
    )


def retry(log_id: int) -> None:
    try:
        result = log.retry(log_id, actor())  # an outbox row also wakes the worker at once
    except ValueError as exc:
        flash("error", str(exc))
    else:
        flash("success" if result.ok else "error", result.message)
    st.rerun()


def copy_as_curl(log_id: int) -> None:
    """The request as the engine sends it, the credentials left to shell variables."""
    with st.expander("Copy as cURL", icon=":material/terminal:"):
        try:
            found = log.curl(log_id)
        except ValueError as exc:
            st.caption(str(exc))
            return
        names = ", ".join(f"`{name}`" for name in found.variables)
        st.caption(
            f"The request the engine sends for this row, as it would send it now. Set {names} "
            "in your shell first: the secret is never part of the command."
        )
        st.code(found.command, language="bash")


def details(log_id: int) -> None:
    found = log.details(log_id)
    if found is None:
        st.warning(f"Log entry {log_id} does not exist (it may have been cleaned up).")
        return
    st.subheader(f"Log entry {found.id} · {found.action} · {found.status}")
    c1, c2, c3 = st.columns(3)
    c1.metric("Attempts", found.attempts)
    c2.metric(
        "Next attempt (UTC)",
        f"{found.next_attempt_at:%Y-%m-%d %H:%M:%S}" if found.next_attempt_at else "none",
    )
    c3.metric("Permanent failure", "yes" if found.permanent else "no")
    if found.error:
        kind = log.kind_label(found.error_kind)
        st.error(f"**{kind}** · {found.error}" if kind else found.error)
    if found.retryable and st.button("Retry", key="log_retry", icon=":material/replay:"):
        retry(found.id)
    copy_as_curl(found.id)
    left, right = st.columns(2)
    left.markdown("**Sent** (secrets masked)")
    left.code(found.request or "(nothing recorded)", language="json")
    right.markdown("**Jira's answer**")
    right.code(found.response or "(nothing recorded)", language="json")


def settings_section() -> None:
    current = log.retention()
    with st.expander("Log settings: how much log to keep"):
        st.caption(
            "Only finished entries (Ok, Failed) are removed, oldest first; pending and "
            "deferred work and ticket links never are. 0 means no limit. The cleanup "
            "also runs daily."
        )
        c1, c2 = st.columns(2)
        entries = c1.number_input(
            "Maximum entries",
            min_value=0,
            max_value=log.LIMIT,
            value=current.max_entries,
            step=1000,
            key="log_max_entries",
        )
        age = c2.number_input(
            "Maximum age in days",
            min_value=0,
            max_value=log.LIMIT,
            value=current.max_age_days,
            step=1,
            key="log_max_age_days",
        )
        b1, b2 = st.columns(2)
        if b1.button("Save", key="log_save"):
            try:
                saved = log.save_retention(int(entries), int(age))
            except ValueError as exc:
                st.error(str(exc))
            else:
                st.success(
                    f"Saved: keep {saved.max_entries or 'any number of'} entries, "
                    f"{saved.max_age_days or 'any number of'} days."
                )
        if b2.button("Clean up now", key="log_cleanup", help="Uses the saved settings."):
            result = log.clean_up_now()
            flash(
                "success",
                f"Removed {result.removed:,} entries ({result.by_age:,} too old, "
                f"{result.by_count:,} beyond the maximum).",
            )
            st.rerun()


def selected_id(from_table: int | None) -> int | None:
    typed = st.number_input(
        "Show details of log entry id",
        min_value=1,
        value=None,
        step=1,
        key="log_detail_id",
        placeholder="select a row or type an id",
    )
    return from_table if from_table is not None else (int(typed) if typed else None)


show_flash()
log_filter = read_filter()
selected, matching = table(log_filter)
export(log_filter, matching)
st.divider()
current_id = selected_id(selected)
if current_id is not None:
    details(current_id)
st.divider()
settings_section()
