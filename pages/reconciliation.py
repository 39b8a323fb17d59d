"""Reconciliation: anomalies whose state and their Jira tickets' state disagree, and why.

Thin: the report and the three actions come from one service
(``lib.tickets.reconciliation.ReconciliationService``).
"""

from __future__ import annotations

import streamlit as st

from components.common import actor, services

reconcile = services().reconciliation
st.title("Reconciliation")
st.caption(
    "Anomalies whose state here and their linked tickets' state in Jira disagree, read from the "
    "worker's poll of Jira. Select rows, then resync them, apply Jira's state here (recorded as "
    "done by Jira, nothing sent back) or apply ours to Jira (the status comment, queued again)."
)


def show_flash() -> None:
    kind, text = st.session_state.pop("reconciliation_flash", (None, None))
    if kind:
        getattr(st, kind)(text)


def act(label: str, run) -> None:
    chosen = st.session_state.get("reconciliation_selected") or []
    if not chosen:
        st.session_state["reconciliation_flash"] = (
            "warning",
            "Select one or more anomalies first.",
        )
        return
    result = run(chosen)
    if result.problem:
        st.session_state["reconciliation_flash"] = ("error", result.problem)
        return
    skipped = "; ".join(f"{i}: {why}" for i, why in result.skipped.items())
    text = f"{label}: {len(result.done)} anomaly(ies)." + (
        f" Skipped {skipped}." if skipped else ""
    )
    st.session_state["reconciliation_flash"] = ("success", text)
    st.session_state.pop("reconciliation_selected", None)


show_flash()
report = reconcile.report()
counts = st.columns(max(1, len(report.counts)))
if not report.counts:
    st.success("Every linked anomaly agrees with its Jira tickets.")
for column, (reason, count) in zip(counts, sorted(report.counts.items())):
    column.metric(reason.capitalize(), count)

rows = {row.anomaly_id: row for row in report.rows}
if rows:
    st.dataframe(
        [
            {
                "anomaly": row.anomaly_id,
                "here": row.status + (f" ({row.archive_reason})" if row.archive_reason else ""),
                "in Jira": row.jira_state,
                "tickets": ", ".join(row.keys),
                "why": "; ".join(str(r) for r in row.reasons),
                "moved from": ", ".join(row.moved_from),
                "queued / failed": f"{row.queued} / {row.failed}",
            }
            for row in report.rows
        ],
        hide_index=True,
        key="reconciliation_table",
    )
    st.multiselect(
        "Anomalies to act on",
        list(rows),
        format_func=lambda i: f"{i} · {', '.join(rows[i].keys)} · {rows[i].reasons[0]}",
        key="reconciliation_selected",
    )
    buttons = st.container(horizontal=True)
    buttons.button(
        "Resync now",
        key="reconciliation_resync",
        on_click=act,
        args=("Read again from Jira", reconcile.resync),
    )
    buttons.button(
        "Apply Jira's state here",
        key="reconciliation_apply_here",
        on_click=act,
        args=("Applied Jira's state", reconcile.apply_jira_here),
    )
    buttons.button(
        "Apply ours to Jira",
        key="reconciliation_apply_ours",
        on_click=act,
        args=(
            "Queued the status comment again",
            lambda ids: reconcile.apply_ours_to_jira(ids, actor()),
        ),
    )

st.subheader("Drift per day")
if report.history:
    st.bar_chart(
        [{"day": day, "reason": reason, "anomalies": n} for day, reason, n in report.history],
        x="day",
        y="anomalies",
        color="reason",
    )
else:
    st.caption("No drift recorded yet: each poll of Jira records the day's counts.")
