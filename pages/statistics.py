"""Statistics: tickets created and updated (counters with resets) and charts per day."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.common import actor, services
from lib.reporting.statistics import Counter, DayStats, FirstTicketDay

stats = services().statistics
st.title("Statistics")
st.caption(
    "Created = a create that succeeded; Updated = an update or comment that succeeded; "
    "Total = both. Failures and the success rate count every finished log entry."
)


def flash(kind: str, text: str) -> None:
    st.session_state["stats_flash"] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop("stats_flash", (None, None))
    if kind:
        getattr(st, kind)(text)


def pick_zone() -> str:
    return st.selectbox(
        "Time zone (for today, yesterday and days)", stats.zone_choices(), index=0, key="stats_tz"
    )


def reset_control(counter: Counter) -> None:
    # Two steps: a reset cannot be undone, so it asks before it writes.
    pending = st.session_state.get("stats_confirm") == counter.name
    if not pending:
        if st.button(f"Reset {counter.label}", key=f"stats_reset_{counter.name}"):
            st.session_state["stats_confirm"] = counter.name
            st.rerun()
        return
    st.warning(f"Start the {counter.label} counter again from now? The log is not changed.")
    yes, no = st.columns(2)
    if yes.button("Yes, reset", key=f"stats_reset_yes_{counter.name}", type="primary"):
        stats.reset(counter.name, actor())
        st.session_state.pop("stats_confirm", None)
        flash("success", f"{counter.label} counter reset.")
        st.rerun()
    if no.button("Cancel", key=f"stats_reset_no_{counter.name}"):
        st.session_state.pop("stats_confirm", None)
        st.rerun()


def counters_section(tz: str) -> None:
    found = stats.counters(tz)
    # One card per counter across the whole width: three cards side by side
    # cut the labels ("Create yest...") at the default window width.
    for counter in found.values():
        with st.container(border=True):
            st.markdown(f"**{counter.label}**")
            a, b, c, d = st.columns([1, 1, 1, 1.4], vertical_alignment="center")
            a.metric(f"{counter.label} total", f"{counter.total:,}")
            b.metric(f"{counter.label} today", f"{counter.today:,}")
            c.metric(f"{counter.label} yesterday", f"{counter.yesterday:,}")
            with d:
                when = f"{counter.last_reset:%Y-%m-%d %H:%M} UTC" if counter.last_reset else "never"
                st.caption(f"Last reset: {when}")
                reset_control(counter)


def pick_range(tz: str):
    today = stats.today(tz)
    picked = st.date_input("Days", value=(today - timedelta(days=29), today), key="stats_range")
    picked = list(picked) if isinstance(picked, (tuple, list)) else [picked]
    if not picked:
        return None
    return picked[0], picked[-1]


def activity_charts(days: list[DayStats]) -> None:
    frame = pd.DataFrame([asdict(d) for d in days])
    if not (frame["created"].sum() or frame["updated"].sum() or frame["failed"].sum()):
        st.info("No tickets were created or updated and nothing failed in these days.")
        return
    bars = go.Figure(
        [
            go.Bar(name="Created", x=frame["day"], y=frame["created"]),
            go.Bar(name="Updated", x=frame["day"], y=frame["updated"]),
        ]
    )
    bars.update_layout(
        barmode="stack", title="Tickets created and updated per day", yaxis_title="tickets"
    )
    st.plotly_chart(bars, key="stats_chart_activity")
    total = go.Figure(
        go.Scatter(x=frame["day"], y=frame["running_total"], mode="lines", name="Running total")
    )
    total.update_layout(title="Running total (created + updated, all time)", yaxis_title="tickets")
    st.plotly_chart(total, key="stats_chart_total")
    rate = frame["success_rate"].astype("float64") * 100
    failures = go.Figure(
        [
            go.Bar(name="Failures", x=frame["day"], y=frame["failed"]),
            go.Scatter(
                name="Success rate %", x=frame["day"], y=rate, mode="lines+markers", yaxis="y2"
            ),
        ]
    )
    failures.update_layout(
        title="Failures per day and success rate",
        yaxis={"title": "failures"},
        yaxis2={"title": "success %", "overlaying": "y", "side": "right", "range": [0, 100]},
    )
    st.plotly_chart(failures, key="stats_chart_failures")


def first_ticket_chart(found: list[FirstTicketDay]) -> None:
    if not found:
        st.info("No anomaly got its first ticket in these days.")
        return
    frame = pd.DataFrame([asdict(f) for f in found])
    figure = go.Figure(
        go.Bar(
            x=frame["day"],
            y=frame["median_hours"],
            name="Median hours",
            customdata=frame["anomalies"],
            hovertemplate="%{y:.1f} h (median of %{customdata})",
        )
    )
    figure.update_layout(
        title="Detection to first ticket (median hours, by day of the ticket)", yaxis_title="hours"
    )
    st.plotly_chart(figure, key="stats_chart_first_ticket")


show_flash()
zone_name = pick_zone()
counters_section(zone_name)
st.divider()
chosen = pick_range(zone_name)
if chosen is None:
    st.info("Pick the first and last day of the range.")
else:
    try:
        activity_charts(stats.daily(chosen[0], chosen[1], zone_name))
        first_ticket_chart(stats.first_ticket_times(chosen[0], chosen[1], zone_name))
    except ValueError as exc:
        st.error(str(exc))
