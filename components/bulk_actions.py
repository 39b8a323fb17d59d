"""Bulk actions on the Anomalies page: the selection, the action form, the job's progress.

The page calls ``section`` with its filter and the ids of the rows shown;
everything is done by ``svc.bulk`` (one use-case service). The job id is kept
in session state, and recent jobs can be reopened, because a job keeps going
when the page is closed (the worker sends its rows): coming back shows it.
While a job runs its progress redraws itself every second (a fragment run
on a timer, not a sleep in the script).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.jira import JiraError
from lib.jira.wording import explain
from lib.services import Services
from lib.store.models import AnomalyFilter, ArchiveReason
from lib.tickets.bulk import BulkRefused, BulkRequest, JobNotFound, JobProgress

IDS = "anomalies_bulk_ids"  # the selected anomaly ids (rows ticked, or chosen in the box)
JOB = "anomalies_bulk_job"  # the job this page shows
TABLE = "anomalies_bulk_table"
ACTIONS = {
    "One ticket per anomaly": "ticket_each",
    "One ticket for the group": "ticket_group",
    "Link all to an existing ticket": "link",
    "Acknowledge": "acknowledge",
    "Archive": "archive",
    "Comment on all": "comment",
}
STATE_LABELS = {"pending": "Pending", "done": "Done", "failed": "Failed", "cancelled": "Cancelled"}


def take_selection(ids: list[int]) -> None:
    """The table's ticked rows become the selection (the rows of this page only)."""
    picked = st.session_state.get(TABLE)
    rows = picked.selection.rows if picked is not None else []
    st.session_state[IDS] = [int(ids[n]) for n in rows if 0 <= n < len(ids)]


def section(svc: Services, flt: AnomalyFilter, page_ids: list[int], total: int, actor: str) -> None:
    """The selection and action form, then the current job's progress."""
    st.markdown("**Bulk action**")
    everything = st.checkbox(
        f"All {total:,} matching these filters", key="anomalies_bulk_all", disabled=not total
    )
    chosen: list[int] = []
    if not everything:
        known = list(dict.fromkeys([*page_ids, *st.session_state.get(IDS, [])]))
        chosen = st.multiselect(
            "Selected anomalies",
            known,
            key=IDS,
            placeholder="Tick rows in the table, or pick ids here",
        )
    request = _action_form(
        flt if everything else None, tuple(chosen), disabled=not (everything or chosen)
    )
    if request is not None:
        _start(svc, request, actor)
    _job_panel(svc, actor)


def _action_form(
    flt: AnomalyFilter | None, ids: tuple[int, ...], *, disabled: bool
) -> BulkRequest | None:
    with st.form("anomalies_bulk_form", border=True):
        label = st.selectbox("Action", list(ACTIONS), key="anomalies_bulk_action")
        reason = st.selectbox(
            "Archive reason (Archive)",
            [r.value for r in ArchiveReason],
            key="anomalies_bulk_reason",
        )
        text = st.text_area("Comment (Comment on all)", key="anomalies_bulk_text", height=80)
        key = st.text_input("Ticket key (Link all)", key="anomalies_bulk_key", placeholder="DQ-123")
        summary = st.text_input(
            "Summary (One ticket for the group)",
            key="anomalies_bulk_summary",
            placeholder="Made from the anomalies' checks and tables when empty",
        )
        pressed = st.form_submit_button("Run", key="anomalies_bulk_run", disabled=disabled)
    if not pressed:
        return None
    return BulkRequest(
        ACTIONS[label],
        ids,
        flt,
        archive_reason=reason,
        text=text,
        ticket_key=key,
        summary=summary.strip() or None,
    )


def _start(svc: Services, request: BulkRequest, actor: str) -> None:
    try:
        progress = svc.bulk.start(request, actor)
    except BulkRefused as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())
        st.error(str(exc) + (f" ({details})" if details else ""))
        return
    except JiraError as exc:
        st.error(explain(exc, svc.jira.connection()))
        return
    st.session_state[JOB] = progress.job.id


def _job_panel(svc: Services, actor: str) -> None:
    recent = svc.bulk.recent(10)
    if not recent:
        return
    ids = [job.id for job in recent]
    current = st.session_state.get(JOB)
    if current not in ids:
        current = ids[0]
    labels = {
        job.id: f"Job {job.id} · {job.action} · {job.created_at:%Y-%m-%d %H:%M}" for job in recent
    }
    chosen = st.selectbox(
        "Job", ids, index=ids.index(current), format_func=labels.get, key="anomalies_bulk_pick"
    )
    st.session_state[JOB] = chosen
    _progress(svc, int(chosen), actor)


def _progress(svc: Services, job_id: int, actor: str) -> None:
    try:
        running = svc.bulk.progress(job_id).running
    except JobNotFound as exc:
        st.warning(str(exc))
        return
    (_live if running else _still)(svc, job_id, actor)


@st.fragment(run_every=1.0)
def _live(svc: Services, job_id: int, actor: str) -> None:
    """Redrawn every second while the worker sends the job's rows."""
    if not _body(svc, job_id, actor):
        st.rerun()  # finished: draw it once more as a still panel, with no timer


@st.fragment
def _still(svc: Services, job_id: int, actor: str) -> None:
    _body(svc, job_id, actor)


def _body(svc: Services, job_id: int, actor: str) -> bool:
    """The job's bar, results and buttons; True while it runs."""
    progress = svc.bulk.progress(job_id)
    _show(progress)
    row = st.container(horizontal=True)
    if progress.counts.get("failed") and row.button(
        f"Retry {progress.counts['failed']} failed", key="anomalies_bulk_retry"
    ):
        svc.bulk.retry(job_id, actor)
        st.rerun()
    if progress.running and row.button("Cancel", key="anomalies_bulk_cancel"):
        svc.bulk.cancel(job_id, actor)
        st.rerun()
    return progress.running


def _show(progress: JobProgress) -> None:
    counts = progress.counts
    st.progress(
        progress.fraction,
        text=f"{progress.finished} of {progress.total} finished · {counts.get('done', 0)} done · "
        f"{counts.get('failed', 0)} failed · {counts.get('cancelled', 0)} cancelled",
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "anomaly": item.anomaly_id,
                    "result": STATE_LABELS.get(item.state, item.state),
                    "ticket": item.ticket_key or "",
                    "error": item.error or item.note or "",
                }
                for item in progress.items
            ]
        ),
        hide_index=True,
        width="stretch",
        key="anomalies_bulk_results",
        column_config={"anomaly": st.column_config.NumberColumn("Anomaly", format="%d")},
    )
