"""The Anomalies page's paged query gives what the old one gave, for every filter and sort.

The old query (kept here as the reference) counted failed checks inside the
page query, which made DuckDB count every check in the table; the new one
pages first and counts for the page's rows. Both run on the same data, built
as the benchmarks build it (one to three checks per anomaly, ties on weight).
"""

from datetime import datetime, timedelta

import pytest

from bench.build_data import build_anomalies
from lib.store.anomalies import SORTABLE, AnomalyRepository, _where
from lib.store.db import Database
from lib.store.models import AnomalyFilter, AnomalyPage, Status

NOW = datetime(2026, 11, 24, 12, 0)


def old_page(db, flt, *, sort, descending, limit, offset):
    """The query the page ran before paging first (verbatim), as the reference."""
    order = SORTABLE.get(sort, "detected_at")
    direction = "DESC" if descending else "ASC"
    where, params = _where(flt)
    counts_where, counts_params = _where(flt, with_status=False)
    with db.read() as cur:
        rows = cur.execute(
            "SELECT a.id, a.detected_at, a.datastore_name, a.container,"
            " array_to_string(a.fields, ', ') AS fields, a.anomaly_type, a.status,"
            " a.archive_reason, a.weight,"
            " (SELECT count(*) FROM failed_checks c WHERE c.anomaly_id = a.id) AS checks"
            f" FROM (SELECT * FROM anomalies{where}"
            f" ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?) a"
            f" ORDER BY a.{order} {direction}, a.id {direction}",
            [*params, int(limit), int(offset)],
        )
        names = [d[0] for d in rows.description]
        page_rows = [dict(zip(names, r)) for r in rows.fetchall()]
        total = cur.execute(f"SELECT count(*) FROM anomalies{where}", params).fetchone()[0]
        counts = dict(
            cur.execute(
                f"SELECT status, count(*) FROM anomalies{counts_where} GROUP BY status",
                counts_params,
            ).fetchall()
        )
    return AnomalyPage(page_rows, total, {s.value: counts.get(s.value, 0) for s in Status})


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = Database(tmp_path_factory.mktemp("page") / "page.duckdb")
    build_anomalies(database, 3_000, NOW)
    yield database
    database.close()


FILTERS = [
    AnomalyFilter(),
    AnomalyFilter(statuses=("Active",)),
    AnomalyFilter(statuses=("Active", "Archived")),
    AnomalyFilter(statuses=("Active", "Active")),
    AnomalyFilter(datastore_ids=(3, 5), anomaly_type="shape"),
    AnomalyFilter(detected_from=NOW - timedelta(days=7), detected_to=NOW),
    AnomalyFilter(text="field_42"),
    AnomalyFilter(text="no such text anywhere"),
    AnomalyFilter(statuses=("Acknowledged",), text="values in", datastore_ids=(1,)),
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[:60])
@pytest.mark.parametrize("sort", sorted(SORTABLE))
def test_page_is_what_the_old_query_gave(db, flt, sort):
    repo = AnomalyRepository(db)
    for descending in (True, False):
        for limit, offset in ((50, 0), (50, 1_450), (25, 2_990), (50, 5_000)):
            args = dict(sort=sort, descending=descending, limit=limit, offset=offset)
            assert repo.page(flt, **args) == old_page(db, flt, **args)


def test_the_reference_data_has_what_the_comparison_needs(db):
    """Several check counts per row and rows in every status: the comparison can fail."""
    page = AnomalyRepository(db).page(AnomalyFilter(), limit=200)
    assert {r["checks"] for r in page.rows} == {1, 2, 3}
    assert all(page.status_counts[s.value] > 0 for s in Status)
    assert page.total == 3_000
