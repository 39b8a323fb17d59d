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
- Figures are plain functions of frames (testable without a page), each
  built from one plain spec and validated once (~5 ms, not ~35 ms through
  ``update_layout`` calls); ``show`` is the one place that draws a figure
  with its caption and CSV download.
- A ``Chart`` is a figure with its CSV, built once per answer of the
  Statistics service and kept with it (``StatisticsService.drawn``): a rerun
  without a write draws the kept ones (building them was ~25 ms of a rerun at
  1,000,000 log rows). Streamlit only reads a figure (``to_dict`` copies it),
  so one can be shared by every session; nothing changes it once built. Its
  plain form is made once too (``KeptFigure``): ``to_dict`` deep-copies the
  figure with Streamlit's whole plotly template and walks it again on every
  draw (~0.65 ms a chart, most of what was left of a rerun).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lib.reporting.statistics import HOUR_EDGES, HOUR_LABELS, QUANTILES, Distribution

if TYPE_CHECKING:
    import plotly.graph_objects as go

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


@cache
def kept_figure_class() -> type:
    """``KeptFigure``, made on first use."""
    # Imported here, not at the top: plotly's import and first figure take
    # ~0.6 s in a fresh process, and the counters above the charts need neither.
    import plotly.graph_objects as go

    class KeptFigure(go.Figure):
        """A figure never changed after it is built (as every figure here), its plain form
        made once.

        Streamlit draws a figure from ``to_dict()``; here that is the plain form
        made when the figure was built, with new trace dicts each time (plotly's
        ``to_json`` removes a trace's ``uid`` in place) over contents that
        nothing writes to.
        """

        def __init__(self, spec: dict) -> None:
            super().__init__(spec)
            self._plain = super().to_dict()

        def to_dict(self) -> dict:
            plain = self._plain
            return {**plain, "data": [dict(trace) for trace in plain["data"]]}

    return KeptFigure


def _figure(traces: list[dict], title: str, y_title: str, **layout) -> go.Figure:
    """One figure from plain specs, validated once (each ``update_*`` call validates again)."""
    spec = {
        "title": {"text": title, "x": 0, "xanchor": "left"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": _LEGEND,
        "margin": _MARGIN,
        "height": 380,
    }
    for key, value in layout.items():
        spec[key] = {**spec[key], **value} if isinstance(spec.get(key), dict) else value
    return kept_figure_class()({"data": traces, "layout": spec})


def day_axis(start: date, end: date) -> dict:
    """The x axis fixed to the chosen days (half a day each side), ticks on whole days."""
    low = datetime.combine(start, time.min) - timedelta(hours=12)
    high = datetime.combine(end, time.min) + timedelta(hours=12)
    axis: dict = {"type": "date", "range": [low.isoformat(), high.isoformat()]}
    if (end - start).days < 14:
        axis |= {"tick0": start.isoformat(), "dtick": 86_400_000, "tickformat": "%b %d"}
    return axis


def _days(frame: pd.DataFrame) -> list[str]:
    return [d.isoformat() for d in frame["day"]]


def _bar(name: str, x: list, y: list, **extra) -> dict:
    return {"type": "bar", "name": name, "x": x, "y": y, **extra}


def _line(name: str, x: list, y: list, **extra) -> dict:
    return {"type": "scatter", "mode": "lines+markers", "name": name, "x": x, "y": y, **extra}


def activity(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    traces = [
        _bar("Created", days, frame["created"].tolist()),
        _bar("Updated", days, frame["updated"].tolist()),
    ]
    return _figure(
        traces, "Tickets created and updated per day", "tickets",
        barmode="stack", xaxis=day_axis(start, end),
    )  # fmt: skip


def linked(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    traces = [
        _bar("Linked", days, frame["linked"].tolist()),
        _bar("Resolved", days, frame["resolved"].tolist()),
        _line("Open at end of day", days, frame["open_at_end"].tolist(), yaxis="y2"),
    ]
    return _figure(
        traces, "Linked tickets: created vs resolved, and the open backlog", "tickets",
        barmode="group", xaxis=day_axis(start, end),
        yaxis2={"title": {"text": "open"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero"},
    )  # fmt: skip


OUTCOMES = (("ok", "Ok"), ("failed", "Failed"), ("deferred", "Deferred"), ("retried", "Retried"))


def outcomes(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    traces = [_bar(label, days, frame[column].tolist()) for column, label in OUTCOMES]
    return _figure(
        traces, "Sync operations per day by outcome", "operations",
        barmode="stack", xaxis=day_axis(start, end),
    )  # fmt: skip


def kinds(frame: pd.DataFrame, rate_limited: int, waited_s: float) -> go.Figure:
    labels = [KIND_LABELS.get(k, k) for k in frame["kind"]]
    traces = [
        _bar("Failed", frame["failed"].tolist(), labels, orientation="h"),
        _bar("Retried", frame["retried"].tolist(), labels, orientation="h"),
    ]
    return _figure(
        traces, f"Failures by kind ({rate_limited:,} × 429, {waited(waited_s)} waited)", "",
        barmode="stack", xaxis={"title": {"text": "attempts"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "type": "category"},  # most first, at the top
    )  # fmt: skip


def latency(frame: pd.DataFrame, start: date, end: date) -> go.Figure:
    days = _days(frame)
    traces = [
        _line("p50", days, frame["p50_ms"].tolist()),
        _line("p95", days, frame["p95_ms"].tolist()),
    ]
    return _figure(traces, "Jira latency per day", "milliseconds", xaxis=day_axis(start, end))


def distribution(found: Distribution, title: str) -> go.Figure:
    shapes, notes = [], []
    for step, (share, hours) in enumerate(zip(QUANTILES, found.quantiles, strict=True)):
        if hours is None:
            continue
        at = category_position(hours)
        shapes.append(
            {"type": "line", "x0": at, "x1": at, "y0": 0, "y1": 1, "yref": "paper",
             "line": {"dash": "dash"}}
        )  # fmt: skip
        # Stacked one under the other: with one anomaly the three lines coincide.
        notes.append(
            {"x": at, "y": 1 - 0.09 * step, "yref": "paper", "showarrow": False,
             "text": f"{share:.0%}: {duration(hours)}", "xanchor": "left", "yanchor": "top",
             "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 11}}
        )  # fmt: skip
    return _figure(
        [_bar("tickets", list(HOUR_LABELS), list(found.counts))], title, "tickets",
        showlegend=False, shapes=shapes, annotations=notes,
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": list(HOUR_LABELS)},
    )  # fmt: skip


def category_position(hours: float) -> float:
    """Where ``hours`` falls on the binned axis: bin i is centred on i and spans i ± 0.5."""
    for i in range(len(HOUR_EDGES) - 1):
        low, high = HOUR_EDGES[i], HOUR_EDGES[i + 1]
        if hours < high:
            return i - 0.5 + (max(hours, low) - low) / (high - low)
    return float(len(HOUR_EDGES) - 1)


def ageing(frame: pd.DataFrame) -> go.Figure:
    return _figure(
        [_bar("open tickets", frame["age"].tolist(), frame["tickets"].tolist())],
        "Open linked tickets by age", "tickets",
        showlegend=False, xaxis={"type": "category", "title": {"text": "days since linked"}},
    )  # fmt: skip


def by_table(frame: pd.DataFrame) -> go.Figure:
    labels = [f"{d} / {t}" for d, t in zip(frame["datastore"], frame["table"], strict=True)]
    return _figure(
        [_bar("tickets", frame["tickets"].tolist(), labels, orientation="h")],
        "Linked tickets by datastore and table", "",
        showlegend=False, height=max(300, 60 + 28 * len(labels)),
        xaxis={"title": {"text": "tickets"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},  # largest on top
    )  # fmt: skip


def duration(hours: float) -> str:
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def waited(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Chart:
    """A built figure and its data as CSV text: what ``show`` draws, kept as it is."""

    figure: go.Figure
    csv: str

    @classmethod
    def of(cls, figure: go.Figure, data: pd.DataFrame) -> Chart:
        return cls(figure, data.to_csv(index=False))


def show(chart: Chart, key: str, caption: str) -> None:
    """One chart: the figure, its one-line caption, and its data as CSV."""
    st.plotly_chart(chart.figure, key=key)
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.caption(caption)
    right.download_button(
        "CSV",
        data=chart.csv,
        file_name=f"{key.removeprefix('stats_chart_')}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        help="Download this chart's data",
    )
