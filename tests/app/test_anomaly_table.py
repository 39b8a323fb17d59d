"""The Anomalies list's table frame is what the page built before, for varied pages.

The frame used to be built by adding and dropping columns on a DataFrame; now
its columns are made first. The old construction is kept here verbatim as the
reference, over pages read from a database built as the benchmarks build it
(every status, archive reasons, NULL-free and odd rows) with Jira sides of
every kind (none, keys only, failed, queued, both).
"""

import random
from datetime import datetime

import pandas as pd
import pytest

from bench.build_data import build_anomalies
from components.anomaly_table import jira_state, table_frame
from lib.anomalies.overview import ListPage
from lib.store.anomalies import AnomalyRepository
from lib.store.anomaly_tickets import TicketOverview
from lib.store.db import Database
from lib.store.models import AnomalyFilter

NOW = datetime(2026, 11, 24, 12, 0)


def old_table_frame(listed) -> pd.DataFrame:
    """The page's frame before (verbatim), as the reference."""
    frame = pd.DataFrame(listed.page.rows)
    frame["status"] = [
        f"{s} ({r})" if isinstance(r, str) else s
        for s, r in zip(frame["status"], frame["archive_reason"])
    ]
    frame = frame.drop(columns=["archive_reason"])
    found = [listed.tickets.get(int(i)) for i in frame["id"]]
    frame["tickets"] = [", ".join(t.ticket_keys) if t else "" for t in found]
    frame["jira"] = [jira_state(t) for t in found]
    return frame


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    db = Database(tmp_path_factory.mktemp("table") / "table.duckdb")
    build_anomalies(db, 500, NOW)
    yield AnomalyRepository(db)
    db.close()


def jira_sides(rows, pick: random.Random) -> dict[int, TicketOverview]:
    sides = {}
    for r in rows:
        if pick.random() < 0.3:
            continue  # no ticket
        keys = tuple(f"DQ-{pick.randint(1, 9999)}" for _ in range(pick.randint(1, 3)))
        sides[r["id"]] = TicketOverview(r["id"], keys, pick.choice((0, 0, 2)), pick.choice((0, 1)))
    return sides


@pytest.mark.parametrize("sort", ["detected", "datastore", "id", "status"])
@pytest.mark.parametrize("offset", [0, 120, 480])
def test_the_frame_is_what_the_page_built_before(repo, sort, offset):
    pick = random.Random(offset)
    page = repo.page(AnomalyFilter(), sort=sort, limit=50, offset=offset)
    listed = ListPage(page, jira_sides(page.rows, pick))
    new, old = table_frame(listed), old_table_frame(listed)
    pd.testing.assert_frame_equal(new, old)
    assert list(new.columns) == list(old.columns)


def test_the_reference_pages_hold_what_the_comparison_needs(repo):
    page = repo.page(AnomalyFilter(), limit=50)
    listed = ListPage(page, jira_sides(page.rows, random.Random(0)))
    frame = table_frame(listed)
    assert {"Active", "Acknowledged"} <= set(frame["status"])
    assert frame["status"].str.startswith("Archived (").any()
    assert (frame["tickets"] == "").any() and (frame["tickets"] != "").any()
    assert frame["jira"].str.contains("failed").any() and frame["jira"].str.contains("queued").any()
