"""The Statistics page's figures give Streamlit what plain plotly figures gave.

Each figure keeps its plain form (``KeptFigure``) so that drawing it again
does not deep-copy it with the whole template. What Streamlit reads,
``to_dict()`` and plotly's JSON of it, must be what a ``go.Figure`` of the
same spec gives (byte for byte), every time, even after a draw changed the
traces it was handed (plotly's ``to_json`` removes their ``uid``).
"""

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

from components import statistics_charts as charts
from lib.reporting.statistics import HOUR_LABELS, Distribution

DAYS = [date(2026, 5, 1) + timedelta(days=n) for n in range(9)]


@pytest.fixture(autouse=True, scope="module")
def streamlit_template():
    configure_streamlit_plotly_theme()  # as st.plotly_chart draws: the template included


def daily() -> pd.DataFrame:
    n = len(DAYS)
    return pd.DataFrame(
        {"day": DAYS, "created": range(n), "updated": [2 * i for i in range(n)],
         "ok": range(n), "failed": [i % 3 for i in range(n)], "deferred": [0] * n,
         "retried": [1] * n, "linked": range(n), "resolved": [i // 2 for i in range(n)],
         "open_at_end": range(n, 2 * n)}
    )  # fmt: skip


FIGURES = {
    "activity": lambda: charts.activity(daily(), DAYS[0], DAYS[-1]),
    "outcomes": lambda: charts.outcomes(daily(), DAYS[0], DAYS[-1]),
    "linked": lambda: charts.linked(daily(), DAYS[0], DAYS[-1]),
    "kinds": lambda: charts.kinds(
        pd.DataFrame({"kind": ["permission", "rate_limited"], "failed": [3, 0], "retried": [0, 5]}),
        5,
        150.0,
    ),
    "distribution": lambda: charts.distribution(
        Distribution(
            counts=tuple(i % 3 for i in range(len(HOUR_LABELS))), quantiles=(3.0, 6.5, 30.0)
        ),
        "Detection to first ticket",
    ),
}


def plain(name: str, monkeypatch) -> go.Figure:
    """The same figure as plotly builds it, without KeptFigure."""
    with monkeypatch.context() as patch:
        patch.setattr(charts, "kept_figure_class", lambda: go.Figure)
        figure = FIGURES[name]()
    assert type(figure) is go.Figure
    return figure


@pytest.mark.parametrize("name", FIGURES)
def test_a_kept_figure_gives_what_its_figure_gives(name, monkeypatch):
    figure = plain(name, monkeypatch)
    kept = charts.Chart.of(FIGURES[name](), daily()).figure
    assert type(kept) is not go.Figure
    assert kept.to_dict() == figure.to_dict()
    assert kept.to_dict()["layout"]["template"]  # Streamlit's template is part of it
    first = pio.to_json(kept.to_dict(), validate=False)
    assert first == pio.to_json(figure.to_dict(), validate=False)
    assert pio.to_json(kept.to_dict(), validate=False) == first  # the same again


def test_each_draw_gets_its_own_traces(monkeypatch):
    figure = plain("activity", monkeypatch)
    kept = charts.Chart.of(FIGURES["activity"](), daily()).figure
    drawn = kept.to_dict()
    drawn["data"][0]["uid"] = "set by someone"  # what to_json removes in place
    drawn["data"][0].pop("uid")
    drawn["data"][1]["name"] = "changed"
    assert kept.to_dict() == figure.to_dict()
    assert kept.to_dict()["data"][0] is not kept.to_dict()["data"][0]
