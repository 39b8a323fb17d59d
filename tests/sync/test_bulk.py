"""Bulk jobs against the sandbox over HTTP: bulk create, group ticket, link, cancel, retry."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from lib.outbox.engine import utc_now
from lib.reporting.statistics import StatisticsService
from lib.store.anomalies import AnomalyRepository
from lib.store.models import Status
from lib.store.statistics import CounterName
from lib.tickets.bulk import BulkRefused, BulkRequest, BulkService
from tests.sync.conftest import PUBLIC_URL, make_anomaly, plain


class ShiftedClock:
    """Real time plus a shift the test moves (the late-write wait passes without sleeping)."""

    def __init__(self):
        self.offset = timedelta(0)

    def shift(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def __call__(self):
        return utc_now() + self.offset


@pytest.fixture
def bulk(harness):
    h = harness
    AnomalyRepository(h.db).upsert_many([make_anomaly(i) for i in range(3, 121)], h.change_clock())
    return BulkService(h.db, h.engine, h.tickets, h.changes, PUBLIC_URL)


def _api(h) -> str:
    return "3" if h.flavour == "cloud" else "2"


def _labelled(h) -> Counter:
    return Counter(
        label
        for issue in h.state.all_issues()
        for label in issue.labels
        if label.startswith("anomaly-desk-")
    )


def _break_create_of(h, anomaly_id: int) -> None:
    """Jira will refuse this one element: its stored request names no such issue type."""
    [row] = h.log_rows(action="create", anomaly_id=anomaly_id)
    body = row.request
    body["fields"]["issuetype"] = {"name": "No such type"}
    with h.db.transaction() as cur:
        cur.execute("UPDATE sync_log SET request_json = ? WHERE id = ?", [json.dumps(body), row.id])


def test_120_anomalies_make_120_tickets_in_three_bulk_calls_despite_a_refused_element_and_a_lost_answer(
    harness, bulk
):
    h = harness
    clock = h.engine.clock = ShiftedClock()
    h.engine._late_write_s = 60.0  # the default: twice the client's 30 s timeout
    job = bulk.start(BulkRequest("ticket_each", tuple(range(1, 121))), "alice")
    assert job.total == 120 and job.counts["pending"] == 120
    _break_create_of(h, 77)  # in the second call
    h.fault(kind="drop_after_apply", method="POST", path=r"/issue/bulk$")  # the first call
    assert [h.worker.run_once() for _ in range(4)] == [50, 50, 20, 0]
    received = h.stats()["received"]
    assert received == {f"POST /rest/api/{_api(h)}/issue/bulk": 3}
    lost = h.log_rows(action="create", needs_reconcile=True)
    assert len(lost) == 50 and {r.status for r in lost} == {"pending"}
    clock.shift(61)  # the late-write wait passes: the lost call's rows are looked for
    h.drain()
    received = h.stats()["received"]
    assert received[f"POST /rest/api/{_api(h)}/issue/bulk"] == 3
    assert f"POST /rest/api/{_api(h)}/issue" not in received  # nothing was sent again alone
    labels = _labelled(h)
    assert all(labels[f"anomaly-desk-{i}"] == 1 for i in range(1, 121) if i != 77)
    assert labels["anomaly-desk-77"] == 0 and len(h.state.all_issues()) == 119
    done = bulk.progress(job.job.id)
    assert done.counts == {"pending": 0, "done": 119, "failed": 1, "cancelled": 0}
    [failed] = [i for i in done.items if i.state == "failed"]
    assert failed.anomaly_id == 77 and "issue type selected is invalid" in failed.error
    assert "Jira rejected the values" in failed.error  # worded by lib/jira/wording.py
    created = StatisticsService(h.db, clock).counters("UTC")[CounterName.CREATE]
    assert created.total == 119  # every ticket made by a bulk call is counted once
    for item in done.items:
        if item.anomaly_id != 77:
            [link] = h.tickets.links_for(item.anomaly_id)
            assert link.issue_key == item.ticket_key
            assert f"anomaly-desk-{item.anomaly_id}" in h.state.get(item.ticket_key).labels


def test_a_group_ticket_links_every_anomaly_and_lists_them_with_links_back(harness, bulk):
    h = harness
    job = bulk.start(BulkRequest("ticket_group", (3, 4, 5, 6), priority="High"), "alice")
    h.drain()
    [issue] = h.state.all_issues()
    text = plain(issue.description)
    for anomaly_id in (3, 4, 5, 6):
        assert f"Anomaly {anomaly_id}" in text
        assert f"{PUBLIC_URL}/?anomaly={anomaly_id}" in json.dumps(issue.description)
        [link] = h.tickets.links_for(anomaly_id)
        assert link.issue_key == issue.key
    assert issue.summary.startswith("[4 anomalies] entityResolution on CUSTOMERS")
    assert f"anomaly-desk-group-{job.job.id}" in issue.labels and issue.priority == "High"
    done = bulk.progress(job.job.id)
    assert [i.ticket_key for i in done.items] == [issue.key] * 4 and not done.running


def test_cancel_stops_the_rows_not_sent_yet(harness, bulk):
    h = harness
    job = bulk.start(BulkRequest("ticket_each", tuple(range(1, 11))), "alice")
    cancelled = bulk.cancel(job.job.id, "alice")
    assert cancelled.counts["cancelled"] == 10 and cancelled.job.cancelled_by == "alice"
    h.worker.run_once()
    assert h.state.all_issues() == [] and h.engine.log.unfinished() == []
    assert {r.status for r in h.log_rows(action="create")} == {"cancelled"}


def test_retry_sends_the_failed_items_again_and_makes_one_ticket_each(harness, bulk):
    h = harness
    h.fault(kind="status", status=400, method="POST", path=r"/issue/bulk$")
    job = bulk.start(BulkRequest("ticket_each", tuple(range(1, 11))), "alice")
    h.drain()
    failed = bulk.progress(job.job.id)
    assert failed.counts["failed"] == 10 and "HTTP 400" in failed.items[0].error
    bulk.retry(job.job.id, "alice")
    h.drain()
    done = bulk.progress(job.job.id)
    assert done.counts["done"] == 10
    assert all(n == 1 for n in _labelled(h).values()) and len(h.state.all_issues()) == 10


def test_link_all_to_an_existing_ticket_with_one_comment_listing_them(harness, bulk):
    h = harness
    made = h.client.create_issue(
        {"project": {"key": "DQ"}, "summary": "Existing", "issuetype": {"name": "Task"}}
    )
    job = bulk.start(BulkRequest("link", (1, 2, 3), ticket_key=made.key.lower()), "bob")
    assert job.counts["done"] == 3 and {i.ticket_key for i in job.items} == {made.key}
    h.drain()
    [comment] = h.comments(made.key)
    assert all(f"Anomaly {i}" in comment for i in (1, 2, 3))
    assert all(h.tickets.links_for(i)[0].issue_key == made.key for i in (1, 2, 3))


def test_acknowledge_archive_and_comment_go_through_the_change_path(harness, bulk):
    h = harness
    h.changes.acknowledge(2, "ana", mode="manual")
    job = bulk.start(BulkRequest("acknowledge", (1, 2, 3)), "alice")
    assert job.counts == {"pending": 0, "done": 2, "failed": 1, "cancelled": 0}
    assert "Acknowledged" in [i for i in job.items if i.anomaly_id == 2][0].error
    archived = bulk.start(BulkRequest("archive", (1, 3), archive_reason="Resolved"), "alice")
    assert archived.counts["done"] == 2
    assert h.engine.log.unfinished() == []  # no linked tickets: nothing to tell Jira
    assert AnomalyRepository(h.db).get(1).status == Status.ARCHIVED.value
    commented = bulk.start(BulkRequest("comment", (1, 3), text="Fixed upstream."), "alice")
    assert commented.counts["done"] == 2
    assert AnomalyRepository(h.db).comments(3)[-1].body == "Fixed upstream."


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (BulkRequest("archive", (1, 2), archive_reason="Because"), "archive_reason"),
        (BulkRequest("comment", (1,), text="  "), "text"),
        (BulkRequest("ticket_each", (1, 999)), "anomaly_ids"),
        (BulkRequest("ticket_each", ()), "anomaly_ids"),
        (BulkRequest("explode", (1,)), "action"),
        (BulkRequest("link", (1,), ticket_key="not a key"), "ticket_key"),
        (BulkRequest("link", (1,), ticket_key="DQ-999"), "ticket_key"),
    ],
)
def test_bad_requests_are_refused_with_nothing_changed(harness, bulk, request_, field):
    h = harness
    with pytest.raises(BulkRefused) as refused:
        bulk.start(request_, "alice")
    assert field in refused.value.field_errors
    assert h.log_rows() == [] and bulk.recent() == []
    assert AnomalyRepository(h.db).get(1).status == Status.ACTIVE.value


def test_a_change_made_while_bulk_creates_wait_reaches_each_new_ticket_once(harness, bulk):
    h = harness
    bulk.start(BulkRequest("ticket_each", (1, 2, 3)), "alice")
    h.changes.acknowledge(1, "ana", mode="manual")  # waits on anomaly 1's create
    h.drain()
    [link] = h.tickets.links_for(1)
    assert h.comments(link.issue_key) == ["[2024-01-15 10:30:00 UTC] Anomaly Status: Acknowledged"]
    assert all(h.comments(h.tickets.links_for(i)[0].issue_key) == [] for i in (2, 3))
    for row in h.log_rows(action="create"):
        assert (row.status, row.error, row.claimed_by, row.needs_reconcile) == (
            "ok",
            None,
            None,
            False,
        )
        assert row.link_id == h.tickets.links_for(row.anomaly_id)[0].id
        assert '"bulk":3' in row.response_json and row.ticket_url.endswith(row.ticket_key)


def test_a_group_description_lists_what_fits_and_counts_the_rest():
    import re

    from lib.tickets.description import GROUP_LISTED, check_description, doc_text, group_doc

    doc = group_doc([make_anomaly(i) for i in range(1, 1001)], PUBLIC_URL, utc_now())
    text = doc_text(doc)
    listed = re.findall(r"^- Anomaly (\d+) ", text, re.M)
    more = int(re.search(r"\.\.\.and (\d+) more, linked in Anomaly Desk\.", text).group(1))
    assert (
        listed == [str(i) for i in range(1, len(listed) + 1)] and 200 < len(listed) <= GROUP_LISTED
    )
    assert len(listed) + more == 1000
    assert check_description(doc) is None  # within Jira's 32,767 characters
    few = doc_text(group_doc([make_anomaly(i) for i in range(1, 101)], PUBLIC_URL, utc_now()))
    assert len(re.findall(r"^- Anomaly ", few, re.M)) == 100 and "more, linked" not in few
