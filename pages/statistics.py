"""Statistics: counters since a reset, today and yesterday, and charts of the sync and its tickets."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from components import statistics_charts as charts
from components.common import actor, services
from lib.reporting.statistics import Counter, StatisticsPage

stats = services().statistics
st.title("Statistics")
st.caption(
    "**Create**: tickets created in Jira. **Update**: updates and comments sent to linked "
    "tickets. **Total** = Create + Update. Each counts calls that succeeded; a reset starts "
    "all three again from that moment (the log is not changed), and cleaning up the log "
    "never changes a count. Today and yesterday are calendar days in the chosen time zone."
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


def counter_card(counter: Counter) -> None:
    with st.container(border=True):
        a, b, c = st.columns(3)
        a.metric(f"{counter.label} since reset", f"{counter.total:,}", help=counter.help)
        b.metric(f"{counter.label} today", f"{counter.today:,}", help=counter.help)
        c.metric(f"{counter.label} yesterday", f"{counter.yesterday:,}", help=counter.help)


def reset_control(page: StatisticsPage) -> None:
    last = page.last_reset
    who = f" by {last.reset_by}" if last and last.reset_by else ""
    when = f"{last.reset_at:%Y-%m-%d %H:%M} UTC{who}" if last else "never"
    st.caption(f"Last reset: {when}")
    # Two steps: a reset cannot be undone, so it asks before it writes.
    if not st.session_state.get("stats_confirm"):
        if st.button("Reset counters", key="stats_reset"):
            st.session_state["stats_confirm"] = True
            st.rerun()
        return
    st.warning("Start Create, Update and Total again from now? The log is not changed.")
    yes, no = st.columns(2)
    if yes.button("Yes, reset", key="stats_reset_yes", type="primary"):
        stats.reset(actor())
        st.session_state.pop("stats_confirm", None)
        flash("success", "Counters reset.")
        st.rerun()
    if no.button("Cancel", key="stats_reset_no"):
        st.session_state.pop("stats_confirm", None)
        st.rerun()


def pick_range(tz: str):
    today = stats.today(tz)
    picked = st.date_input("Days", value=(today - timedelta(days=29), today), key="stats_range")
    picked = list(picked) if isinstance(picked, (tuple, list)) else [picked]
    return (picked[0], picked[-1]) if picked else None


def chart(page: StatisticsPage, key: str, caption: str, figure, data, part=()) -> None:
    """One chart, built once per answer: a rerun without a write draws the kept one."""
    built = stats.drawn(page, (key, *part), lambda: charts.Chart.of(figure(), data()))
    charts.show(built, key, caption)


def sync_charts(page: StatisticsPage) -> None:
    days = page.daily
    if not days[["created", "updated", "ok", "failed", "retried", "deferred"]].to_numpy().sum():
        st.info("No sync call finished in these days.")
        return
    chart(
        page,
        "stats_chart_activity",
        "Creates and updates (with comments) that succeeded, per day.",
        lambda: charts.activity(days, page.start, page.end),
        lambda: days[["day", "created", "updated"]],
    )
    chart(
        page,
        "stats_chart_outcomes",
        "Every finished call per day: ok, failed for good, deferred by the update limit, "
        "or refused for now and tried again.",
        lambda: charts.outcomes(days, page.start, page.end),
        lambda: days[["day", "ok", "failed", "deferred", "retried"]],
    )
    if not page.kinds.empty:
        chart(
            page,
            "stats_chart_kinds",
            "Failed and retried attempts by kind of error; 429s are Jira's rate limit.",
            lambda: charts.kinds(page.kinds, page.rate_limited, page.rate_limited_wait_s),
            lambda: page.kinds,
        )
    if not page.latency.empty:
        chart(
            page,
            "stats_chart_latency",
            "Time Jira took to answer, median and 95th percentile, per day.",
            lambda: charts.latency(page.latency, page.start, page.end),
            lambda: page.latency,
        )


def distribution(page, found, key: str, title: str, caption: str, empty: str) -> None:
    if not found.total:
        st.info(empty)
        return
    chart(
        page,
        key,
        caption,
        lambda: charts.distribution(found, title),
        lambda: pd.DataFrame({"bin": charts.HOUR_LABELS, "tickets": found.counts}),
    )


def ticket_charts(page: StatisticsPage) -> None:
    if page.linked[["linked", "resolved", "open_at_end"]].to_numpy().sum():
        chart(
            page,
            "stats_chart_linked",
            "Tickets linked and resolved (Jira status Done) per day; the line is what is "
            "still open at the end of each day.",
            lambda: charts.linked(page.linked, page.start, page.end),
            lambda: page.linked,
        )
    distribution(
        page,
        page.detection_to_ticket,
        "stats_chart_detection",
        "Detection to first ticket",
        "How long anomalies waited for their first ticket (first tickets in these days).",
        "No anomaly got its first ticket in these days.",
    )
    distribution(
        page,
        page.ticket_to_resolution,
        "stats_chart_resolution",
        "Ticket to resolution",
        "From linking to Done, as the last refresh read it (an upper bound: Jira's "
        "resolution date is not stored).",
        "No linked ticket was read as Done in these days.",
    )
    chart(
        page,
        "stats_chart_ageing",
        "Linked tickets not Done yet, by days since they were linked (today).",
        lambda: charts.ageing(page.ageing),
        lambda: page.ageing,
        part=tuple(page.ageing["tickets"]),  # read again on every rerun: kept by its counts
    )
    share = page.share
    st.metric(
        "Active with a ticket",
        "none active" if share.share is None else f"{share.share:.0%}",
        help=f"{share.with_ticket:,} of {share.active_anomalies:,} active anomalies have a "
        "linked ticket.",
    )
    if not page.by_table.empty:
        chart(
            page,
            "stats_chart_tables",
            "Linked tickets per datastore and table, largest first (top 15).",
            lambda: charts.by_table(page.by_table),
            lambda: page.by_table,
        )


show_flash()
zone_name = pick_zone()
chosen = pick_range(zone_name)
if chosen is None:
    st.info("Pick the first and last day of the range.")
else:
    try:
        found = stats.page(zone_name, chosen[0], chosen[1])
    except ValueError as exc:
        st.error(str(exc))
    else:
        for counter in found.counters.values():
            counter_card(counter)
        reset_control(found)
        st.divider()
        sync_charts(found)
        ticket_charts(found)
