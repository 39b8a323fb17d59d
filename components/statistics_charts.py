"""The Statistics page's figures: built from the service's frames, readable with one day or a year.

Decisions, and why:

- Per-day series are bars (or lines with markers): one day of data is one
  visible bar or dot, never a lone point on an axis spanning 23:59:59.9996 to
  00:00:00.0004. The x axis is fixed to the chosen days, half a day of margin
  each side, with a tick per day up to two weeks and plotly's own beyond.
- Legends sit under the plot, horizontally, so they never cover a bar or
  the title; titles are short and each chart has a one-line caption beside it.
- Distributions use fixed bins (under an hour to over 30 days) as categories,
  with the 50/85/95% lines drawn at their place inside their bin.
- Figures are plain functions of frames (testable without a page); ``show``
  is the one place that draws a figure with its caption and CSV download.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib.reporting.statistics import HOUR_EDGES, HOUR_LABELS, QUANTILES, Distribution

_LEGEND = {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "xanchor": "left"}
_MARGIN = {"t": 50, "b": 80, "l": 60, "r": 30}
KIND_LABELS = {
    "authentication": "Authentication",
    "permission": "Permission",
    "validation": "Validation",
    "not_found": "Not found",
    "rate_limited": "Rate limited (429)",
    "network": "Network",
    "server": "Jira server error",
    "other": "Other",
}


def _layout(figure: go.Figure, title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        yaxis={"title": y_title, "rangemode": "tozero"},
        legend=_LEGEND,
        margin=_MARGIN,
        height=380,
    )
    return figure


def day_axis(figure: go.Figure, start: date, end: date) -> go.Figure:
    """Fix the x axis to the chosen days (half a day each side), ticks on whole days."""
    low = datetime.combine(start, time.min) - timedelta(hours=12)
    high = datetime.combine(end, time.min) + timedelta(hours=12)
    axis: dict = {"type": "date", "range": [low.isoformat(), high.isoformat()]}
    if (end - start).days < 14:
        axis |= {"tick0": start.isoformat(), "dtick": 86_400_000, "tickformat": "%b %d"}
    figure.update_xaxes(**axis)
    return figure


def _days(frame: pd.DataFrame) -> list[str]:
    return [d.isoformat() for d in frame["day"]]


def activity(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    figure = go.Figure(
        [
            go.Bar(name="Created", x=days, y=frame["created"].tolist()),
            go.Bar(name="Updated", x=days, y=frame["updated"].tolist()),
        ]
    )
    figure.update_layout(barmode="stack")
    return day_axis(_layout(figure, "Tickets created and updated per day", "tickets"), start, end)


def linked(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    figure = go.Figure(
        [
            go.Bar(name="Linked", x=days, y=frame["linked"].tolist()),
            go.Bar(name="Resolved", x=days, y=frame["resolved"].tolist()),
            go.Scatter(
                name="Open at end of day",
                x=days,
                y=frame["open_at_end"].tolist(),
                mode="lines+markers",
                yaxis="y2",
            ),
        ]
    )
    _layout(figure, "Linked tickets: created vs resolved, and the open backlog", "tickets")
    figure.update_layout(
        barmode="group",
        yaxis2={"title": "open", "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )
    return day_axis(figure, start, end)


OUTCOMES = (("ok", "Ok"), ("failed", "Failed"), ("deferred", "Deferred"), ("retried", "Retried"))


def outcomes(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    figure = go.Figure(
        [go.Bar(name=label, x=days, y=frame[column].tolist()) for column, label in OUTCOMES]
    )
    figure.update_layout(barmode="stack")
    return day_axis(_layout(figure, "Sync operations per day by outcome", "operations"), start, end)


def kinds(frame: pd.DataFrame, rate_limited: int, waited_s: float) -> go.Figure:
    labels = [KIND_LABELS.get(k, k) for k in frame["kind"]]
    figure = go.Figure(
        [
            go.Bar(name="Failed", y=labels, x=frame["failed"].tolist(), orientation="h"),
            go.Bar(name="Retried", y=labels, x=frame["retried"].tolist(), orientation="h"),
        ]
    )
    _layout(figure, f"Failures by kind ({rate_limited:,} × 429, {waited(waited_s)} waited)", "")
    figure.update_layout(barmode="stack", xaxis={"title": "attempts", "rangemode": "tozero"})
    figure.update_yaxes(autorange="reversed", title=None)  # most first, at the top
    return figure


def latency(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    figure = go.Figure(
        [
            go.Scatter(name="p50", x=days, y=frame["p50_ms"].tolist(), mode="lines+markers"),
            go.Scatter(name="p95", x=days, y=frame["p95_ms"].tolist(), mode="lines+markers"),
        ]
    )
    return day_axis(_layout(figure, "Jira latency per day", "milliseconds"), start, end)


def distribution(found: Distribution, title: str) -> go.Figure:
    figure = go.Figure(go.Bar(name="tickets", x=list(HOUR_LABELS), y=list(found.counts)))
    _layout(figure, title, "tickets")
    figure.update_layout(showlegend=False)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=list(HOUR_LABELS))
    for step, (share, hours) in enumerate(zip(QUANTILES, found.quantiles, strict=True)):
        if hours is None:
            continue
        at = category_position(hours)
        figure.add_shape(type="line", x0=at, x1=at, y0=0, y1=1, yref="paper", line={"dash": "dash"})
        # Stacked one under the other: with one anomaly the three lines coincide.
        figure.add_annotation(
            x=at, y=1 - 0.09 * step, yref="paper", text=f"{share:.0%}: {duration(hours)}",
            showarrow=False, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.8)",
            font={"size": 11},
        )  # fmt: skip
    return figure


def category_position(hours: float) -> float:
    """Where ``hours`` falls on the binned axis: bin i is centred on i and spans i ± 0.5."""
    for i in range(len(HOUR_EDGES) - 1):
        low, high = HOUR_EDGES[i], HOUR_EDGES[i + 1]
        if hours < high:
            return i - 0.5 + (max(hours, low) - low) / (high - low)
    return float(len(HOUR_EDGES) - 1)


def ageing(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure(go.Bar(name="open tickets", x=frame["age"].tolist(), y=frame["tickets"]))
    _layout(figure, "Open linked tickets by age", "tickets")
    figure.update_layout(showlegend=False)
    figure.update_xaxes(type="category", title="days since linked")
    return figure


def by_table(frame: pd.DataFrame) -> go.Figure:
    labels = [f"{d} / {t}" for d, t in zip(frame["datastore"], frame["table"], strict=True)]
    figure = go.Figure(
        go.Bar(name="tickets", y=labels, x=frame["tickets"].tolist(), orientation="h")
    )
    _layout(figure, "Linked tickets by datastore and table", "")
    figure.update_layout(
        showlegend=False,
        height=max(300, 60 + 28 * len(labels)),
        xaxis={"title": "tickets", "rangemode": "tozero"},
    )
    figure.update_yaxes(autorange="reversed", type="category", automargin=True)  # largest on top
    return figure


def duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def waited(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def show(figure: go.Figure, data: pd.DataFrame, key: str, caption: str) -> None:
    """One chart: the figure, its one-line caption, and its data as CSV."""
    st.plotly_chart(figure, key=key)
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(caption)
    right.download_button(
        "CSV",
        data=data.to_csv(index=False),
        file_name=f"{key.removeprefix('stats_chart_')}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        help="Download this chart's data",
    )
