"""The Anomalies page's use case: the list's Jira side in one query, what a failure is superseded by,
and ids from links."""

import json
from contextlib import contextmanager
from datetime import datetime

import pytest

from lib.anomalies.importing import import_file
from lib.anomalies.overview import AnomalyOverview, BadAnomalyId, parse_anomaly_id
from lib.services import services_for
from lib.store.anomaly_tickets import AnomalyTicketRepository
from lib.store.models import AnomalyFilter
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 11, 20, 12, 0)


def rec(ident):
    return {
        "id": ident,
        "datastore_id": 1,
        "datastore_name": "Warehouse",
        "container": "CUSTOMERS",
        "fields": ["EMAIL"],
        "type": "record",
        "status": "Active",
        "detected_at": "2026-11-20T08:00:00Z",
        "failed_checks": [{"check_id": 1, "rule_type": "notNull", "message": "nulls"}],
    }


@pytest.fixture
def svc(tmp_settings):
    services = services_for(tmp_settings)
    import_file(services.db, "a.json", json.dumps([rec(i) for i in range(1, 61)]).encode(), NOW)
    return services


def log(svc, anomaly_id, action, status, key=None, connection=1):
    with svc.db.transaction() as cur:
        return SyncLog.insert_in(
            cur,
            now=NOW,
            action=action,
            mode="manual",
            status=status,
            anomaly_id=anomaly_id,
            connection_id=connection,
            ticket_key=key,
            error="no" if status == "failed" else None,
        )


@pytest.mark.parametrize(
    "rows, failed",
    [
        ([("create", "failed", None)], 1),
        ([("create", "failed", None), ("create", "ok", "DQ-1")], 0),
        ([("create", "ok", "DQ-1"), ("create", "failed", None)], 1),  # success came first
        ([("link", "failed", "DQ-2"), ("link", "ok", "DQ-2")], 0),
        ([("link", "failed", "DQ-2"), ("link", "ok", "DQ-3")], 1),  # another issue
        ([("refresh", "failed", "DQ-1"), ("refresh", "ok", "dq-1")], 0),
        ([("comment", "failed", "DQ-1"), ("comment", "ok", "DQ-1")], 1),  # its own text
        ([("update", "failed", "DQ-1"), ("update", "ok", "DQ-1")], 1),
    ],
)
def test_a_failure_counts_until_a_later_success_supersedes_it(svc, rows, failed):
    ids = [log(svc, 5, action, status, key) for action, status, key in rows]
    assert AnomalyTicketRepository(svc.db).ticket_overview([5])[5].failed == failed
    superseded = AnomalyTicketRepository(svc.db).superseded_failures(5)
    failed_ids = {i for i, (_, status, _) in zip(ids, rows) if status == "failed"}
    assert len(failed_ids - set(superseded)) == failed


def test_a_failure_on_another_connection_is_not_superseded(svc):
    log(svc, 5, "create", "failed", connection=1)
    log(svc, 5, "create", "ok", "OPS-1", connection=2)
    assert AnomalyTicketRepository(svc.db).ticket_overview([5])[5].failed == 1


def test_the_list_page_reads_the_jira_side_in_one_query(svc):
    for anomaly_id in range(1, 61):
        log(svc, anomaly_id, "comment", "pending", "DQ-1")
    reads = []
    real_read = svc.db.read

    @contextmanager
    def counting_read():
        with real_read() as cur:
            reads.append(cur)
            yield cur

    overview = AnomalyOverview.of(svc)
    svc.db.read = counting_read  # an instance attribute: this database only
    try:
        listed = overview.list_page(
            AnomalyFilter(), sort="id", descending=False, limit=50, offset=0
        )
    finally:
        del svc.db.read
    assert len(listed.page.rows) == 50 and set(listed.tickets) == set(range(1, 51))
    assert all(t.queued == 1 for t in listed.tickets.values())
    assert len(reads) == 2  # the page, then the Jira side of all its rows


@pytest.mark.parametrize(
    "raw, expected",
    [("7", 7), (" 42 ", 42), ("007", 7), ("9223372036854775807", 2**63 - 1)],
)
def test_ids_from_links(raw, expected):
    assert parse_anomaly_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "\u00b2",
        "\u0663",
        "\uff17",
        "-1",
        "+1",
        "1e3",
        "0x1",
        "1_000",
        "9223372036854775808",
        "9" * 400,
    ],
)
def test_text_that_is_not_an_id_is_refused_with_a_message(raw):
    with pytest.raises(BadAnomalyId, match="is not an anomaly id"):
        parse_anomaly_id(raw)
