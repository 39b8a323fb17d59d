"""The engine's ``update`` rows (PUT /issue/{key}) against the sandbox over real HTTP."""

from __future__ import annotations

import json

from lib.jira import doc_from_text
from lib.jira.doc_json import doc_to_json
from lib.store.sync_log import SyncLog, to_json
from tests.sync.conftest import CHANGE_TIME, plain


def queue_update(h, key: str, fields: dict, description: str | None = None) -> int:
    with h.db.transaction() as cur:
        return SyncLog.insert_in(
            cur,
            now=CHANGE_TIME,
            action="update",
            mode="automatic",
            status="pending",
            connection_id=1,
            ticket_key=key,
            actor="robot",
            next_attempt_at=CHANGE_TIME,
            body_doc=doc_to_json(doc_from_text(description)) if description else None,
            request_json=to_json({"method": "PUT", "path": f"/issue/{key}", "fields": fields}),
        )


def puts(h, key: str, kind: str = "applied") -> int:
    api = "3" if h.flavour == "cloud" else "2"
    return h.stats()[kind].get(f"PUT /rest/api/{api}/issue/{key}", 0)


def test_update_lands_with_its_description_rendered_for_the_flavour(harness):
    h = harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="before")
    row_id = queue_update(
        h,
        issue.key,
        {"summary": "after", "priority": {"name": "Low"}, "labels": ["dq"]},
        description="Disk *full* on orders",
    )
    delivery = h.engine.deliver(row_id)
    assert (delivery.status, delivery.outcome, delivery.ticket_key) == ("ok", "ok", issue.key)
    changed = h.state.get(issue.key)
    assert (changed.summary, changed.priority, changed.labels) == ("after", "Low", ["dq"])
    assert "Disk *full* on orders" in plain(changed.description)
    row = h.engine.log.get(row_id)
    assert row.status == "ok" and row.attempts == 1 and row.latency_ms > 0
    assert json.loads(row.response_json) == {"status": 204}
    assert puts(h, issue.key) == 1


def test_a_503_is_retried_and_a_lost_answer_is_simply_sent_again(cloud_harness):
    h = cloud_harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="before")
    h.fault(kind="status", status=503, method="PUT", path=r"/issue/DQ-\d+$")
    h.fault(kind="drop_after_apply", method="PUT", path=r"/issue/DQ-\d+$")
    row_id = queue_update(h, issue.key, {"summary": "after"})
    first = h.engine.deliver(row_id)
    assert (first.status, first.outcome) == ("pending", "retry")
    assert not h.engine.log.get(row_id).needs_reconcile  # a PUT is never reconciled
    h.drain()
    row = h.engine.log.get(row_id)
    assert row.status == "ok" and row.attempts == 3
    assert h.state.get(issue.key).summary == "after"
    assert puts(h, issue.key, "received") == 3 and puts(h, issue.key) == 2


def test_field_errors_and_unknown_issues_stop_the_row(cloud_harness):
    h = cloud_harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="before")
    bad = queue_update(h, issue.key, {"customfield_10010": "x"})
    delivery = h.engine.deliver(bad)
    assert (delivery.status, delivery.outcome) == ("failed", "permanent")
    assert "customfield_10010" in delivery.field_errors
    missing = queue_update(h, "DQ-999", {"summary": "x"})
    assert h.engine.deliver(missing).outcome == "permanent"
    h.drain()
    rows = [h.engine.log.get(i) for i in (bad, missing)]
    assert all(r.status == "failed" and r.permanent and r.attempts == 1 for r in rows)
    assert "404" in rows[1].error
    assert h.state.get(issue.key).summary == "before"


def test_a_failed_update_can_be_retried(cloud_harness):
    h = cloud_harness
    issue = h.state.create_issue("DQ", issuetype_id="10001", summary="before")
    h.fault(kind="status", status=403, method="PUT", path=r"/issue/DQ-\d+$")
    row_id = queue_update(h, issue.key, {"summary": "after"})
    h.drain()
    assert h.engine.log.get(row_id).status == "failed"
    h.engine.retry(row_id)
    h.drain()
    assert h.engine.log.get(row_id).status == "ok" and h.state.get(issue.key).summary == "after"
