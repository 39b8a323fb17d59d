"""Jira's side comes back: the batched poll against the sandbox over HTTP, both flavours.

A colleague works in Jira as the sandbox's second user (comments, transitions,
reassigns, deletes through Jira's own REST paths); the poll must bring exactly
that back, never our own comments, and send nothing to Jira in return.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import requests

from lib.anomalies.changes import AnomalyChanges, Mode
from lib.jira import RateLimited, RetryPolicy
from lib.jira.sandbox.config import OTHER_CLOUD_API_TOKEN, OTHER_CLOUD_EMAIL, OTHER_DC_PAT
from lib.outbox.engine import utc_now
from lib.store.anomalies import AnomalyRepository
from lib.store.jira_side import GONE_NOT_FOUND, JiraSideRepository
from lib.tickets.inbound import InboundPoll, jql_bound

DONE, IN_PROGRESS = "31", "21"


class Colleague:
    """The sandbox's second user, calling Jira's REST API as a colleague's client would."""

    def __init__(self, harness):
        self.base = harness.sandbox.base_url
        self.cloud = harness.flavour == "cloud"
        self.api = f"{self.base}/rest/api/{'3' if self.cloud else '2'}"
        self.session = requests.Session()
        if self.cloud:
            self.session.auth = (OTHER_CLOUD_EMAIL, OTHER_CLOUD_API_TOKEN)
        else:
            self.session.headers["Authorization"] = f"Bearer {OTHER_DC_PAT}"

    def _ok(self, response: requests.Response) -> requests.Response:
        assert response.status_code < 300, response.text
        return response

    def comment(self, key: str, text: str) -> None:
        body = (
            {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            }
            if self.cloud
            else text
        )
        self._ok(self.session.post(f"{self.api}/issue/{key}/comment", json={"body": body}))

    def transition(self, key: str, transition_id: str) -> None:
        url = f"{self.api}/issue/{key}/transitions"
        self._ok(self.session.post(url, json={"transition": {"id": transition_id}}))

    def assign_to_self(self, key: str) -> None:
        who = {"accountId": "sandbox-account-2"} if self.cloud else {"name": "other"}
        self._ok(self.session.put(f"{self.api}/issue/{key}/assignee", json=who))

    def delete(self, key: str) -> None:
        self._ok(self.session.delete(f"{self.api}/issue/{key}"))

    def move(self, key: str, project: str) -> str:
        url = f"{self.base}/_sandbox/issues/{key}/move"
        return self._ok(requests.post(url, json={"project": project}, timeout=5)).json()["key"]


def poller(h, *, done_back: bool = False, **kw) -> InboundPoll:
    changes = AnomalyChanges(h.db, utc_now, on_enqueued=h.engine.notify)
    return InboundPoll(
        h.db,
        utc_now,
        done_comes_back=lambda connection_id: done_back,
        archive_from_jira=lambda anomaly_id, reason: changes.from_jira(
            anomaly_id, "Archived", reason
        ),
        **kw,
    )


def linked(h, anomaly_id: int = 1) -> tuple[str, int]:
    result = h.tickets.create_ticket(anomaly_id, summary="Nulls in orders", actor="ana")
    return result.key, result.link.id


def outbound_comments(h) -> int:
    return len(h.log_rows(action="comment"))


def test_a_jira_comment_appears_once_and_ours_never(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    h.changes.acknowledge(1, "ana", mode=Mode.MANUAL)  # our status comment
    h.drain()
    poll = poller(h)
    poll.poll(h.active)
    other.comment(key, "Looked at it: the loader dropped a column.")
    sent_before, on_jira = outbound_comments(h), len(h.comments(key))
    first = poll.poll(h.active)
    again = poll.poll(h.active, sweep=True)
    activity = JiraSideRepository(h.db).activity([link_id])[link_id]
    assert [(c.author, c.body_text) for c in activity] == [
        ("Other Sandbox User", "Looked at it: the loader dropped a column.")
    ]
    assert first.new_comments == 1 and again.new_comments == 0
    # Nothing went back: no outbox row, no new comment on the issue.
    assert outbound_comments(h) == sent_before and len(h.comments(key)) == on_jira


def test_changed_status_assignee_and_resolution_come_back(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    poll = poller(h)
    poll.poll(h.active)
    other.assign_to_self(key)
    other.transition(key, DONE)
    result = poll.poll(h.active)
    link = h.tickets.links_for(1)[0]
    state = JiraSideRepository(h.db).states([link_id])[link_id]
    assert result.changed == 1
    assert (link.status_name, link.status_category) == ("Done", "done")
    assert (state.resolution, state.assignee, state.status_color) == (
        "Done",
        "Other Sandbox User",
        "green",
    )


@pytest.mark.parametrize("setting", [True, False])
def test_done_in_jira_archives_only_when_the_setting_is_on(harness, setting):
    h, other = harness, Colleague(harness)
    key, _ = linked(h)
    poll = poller(h, done_back=setting)
    poll.poll(h.active)
    sent_before = outbound_comments(h)
    other.transition(key, DONE)
    result = poll.poll(h.active)
    anomaly = AnomalyRepository(h.db).get(1)
    if setting:
        assert result.archived == [1]
        assert (anomaly.status, anomaly.archive_reason) == ("Archived", "Resolved")
        history = AnomalyRepository(h.db).history(1)
        assert history[0].changed_by == "jira"
    else:
        assert result.archived == [] and anomaly.status == "Active"
    h.drain()
    assert outbound_comments(h) == sent_before  # no status comment for Jira's own change


def test_done_waits_for_every_linked_ticket(harness):
    h, other = harness, Colleague(harness)
    first, _ = linked(h)
    second, _ = linked(h)
    poll = poller(h, done_back=True)
    poll.poll(h.active)
    other.transition(first, DONE)
    assert poll.poll(h.active).archived == []
    other.transition(second, DONE)
    assert poll.poll(h.active).archived == [1]


def test_a_moved_issue_keeps_its_link_under_the_new_key(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    poll = poller(h)
    poll.poll(h.active)
    new_key = other.move(key, "OPS")
    result = poll.poll(h.active)
    link = h.tickets.links_for(1)[0]
    state = JiraSideRepository(h.db).states([link_id])[link_id]
    assert result.moved == 1 and new_key.startswith("OPS-")
    assert (link.id, link.issue_key, state.moved_from) == (link_id, new_key, key)
    h.changes.comment(1, "ana", "still on it", mode=Mode.MANUAL)
    h.drain()
    assert h.comments(new_key)[-1] == "Comment from Anomaly Desk (ana): still on it"


def test_a_deleted_issue_is_marked_on_the_next_sweep(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    poll = poller(h)
    poll.poll(h.active)
    other.delete(key)
    assert poll.poll(h.active, sweep=False).gone == 0  # a deletion changes no "updated"
    assert poll.poll(h.active, sweep=True).gone == 1
    state = JiraSideRepository(h.db).states([link_id])[link_id]
    assert state.gone_reason == GONE_NOT_FOUND and state.gone_at is not None
    assert h.tickets.links_for(1)[0].active  # the link stays, marked


def test_only_updated_tickets_are_asked_with_a_minute_of_overlap(harness):
    h, other = harness, Colleague(harness)
    keys = [linked(h)[0] for _ in range(3)]
    poll = poller(h)
    poll.poll(h.active)
    other.comment(keys[1], "only this one")
    before = h.stats()["received"]
    result = poll.poll(h.active)
    assert result.changed == 1 and result.calls == 1
    assert sum(h.stats()["received"].values()) - sum(before.values()) == 1
    search = h.log_rows(action="refresh")[-1]
    assert "updated >=" in search.request_json and "id in (" in search.request_json


def test_polling_honours_a_429_with_retry_after(harness):
    h = harness
    linked(h)
    waits: list[float] = []
    poll = poller(h, sleep=waits.append)
    h.fault(kind="status", status=429, retry_after=7, path="/search")
    result = poll.poll(h.active)
    assert waits == [7.0]
    assert result.changed == 1 and result.calls == 2  # the refused search and its retry
    h.fault(kind="status", status=429, retry_after=600, path="/search")
    with pytest.raises(RateLimited):  # past the policy's wait: the worker pauses instead
        poller(h, sleep=waits.append, retry_policy=RetryPolicy(max_server_wait=60)).poll(
            h.active, sweep=True
        )
    assert waits == [7.0]


def test_the_jql_bound_is_a_minute_early_in_the_accounts_zone():
    from datetime import datetime

    moment = datetime(2026, 3, 1, 10, 30, 59)
    assert jql_bound(moment, "UTC") == "2026-03-01 10:29"
    assert jql_bound(moment, "Europe/Berlin") == "2026-03-01 11:29"
    assert jql_bound(moment, "No/Such_Zone") == "2026-03-01 10:29"
    assert jql_bound(moment - timedelta(seconds=59), None) == "2026-03-01 10:29"


def test_the_worker_polls_and_pauses_on_a_retry_after_longer_than_the_poll_waits(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    h.worker.poller = poller(h, retry_policy=RetryPolicy(max_server_wait=5), sleep=lambda s: None)
    h.worker.refresh_interval_s = 0.001  # every pass is due: no clock to wait on
    h.worker.run_once()
    assert JiraSideRepository(h.db).states([link_id])[link_id].jira_updated is not None
    other.comment(key, "from the colleague")
    h.fault(kind="status", status=429, retry_after=60, path="/search")
    h.worker._next_refresh = None
    h.worker.run_once()
    assert h.worker.rate_limited == 1 and h.worker._paused_until is not None
    assert h.engine.health.current(1).consecutive_rate_limited == 1  # the health sees it
    assert JiraSideRepository(h.db).activity([link_id]) == {}  # not read while refused
    h.worker._paused_until = None  # the pause is over
    h.worker._next_refresh = None
    h.worker.run_once()
    assert [c.body_text for c in JiraSideRepository(h.db).activity([link_id])[link_id]] == [
        "from the colleague"
    ]
    assert h.engine.health.current(1).consecutive_rate_limited == 0


def test_our_comments_are_known_by_their_recorded_ids_even_under_another_account(harness):
    """A connection re-made with another account: its old comments are still ours (by id)."""
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    h.changes.comment(1, "ana", "we are on it", mode=Mode.MANUAL)
    h.drain()
    side = JiraSideRepository(h.db)
    with h.db.transaction() as cur:  # the poll knows another account than the one that wrote
        JiraSideRepository.save_poll_state_in(
            cur, replace(side.poll_state(1), account_id="someone-else", time_zone="UTC")
        )
    other.comment(key, "thanks")
    result = poller(h).poll(h.active)
    assert [c.body_text for c in side.activity([link_id])[link_id]] == ["thanks"]
    assert result.new_comments == 1


def test_a_persons_read_of_an_unchanged_done_ticket_does_not_archive_it(harness):
    h, other = harness, Colleague(harness)
    key, link_id = linked(h)
    done_back = [False]
    changes = AnomalyChanges(h.db, utc_now, on_enqueued=h.engine.notify)
    poll = InboundPoll(
        h.db,
        utc_now,
        done_comes_back=lambda connection_id: done_back[0],
        archive_from_jira=lambda anomaly_id, reason: changes.from_jira(
            anomaly_id, "Archived", reason
        ),
    )
    other.transition(key, DONE)
    assert poll.poll(h.active).changed == 1  # Done read while the setting was off
    done_back[0] = True  # turned on later: only a change in Jira brings Done back
    synced = h.tickets.links_for(1)[0].last_synced_at
    read = poll.read_links(h.active, [link_id], "ana")
    assert read.changed == 0 and read.archived == []
    assert AnomalyRepository(h.db).get(1).status == "Active"
    assert h.tickets.links_for(1)[0].last_synced_at > synced  # read, and says so
    [row] = [r for r in h.log_rows(action="refresh") if r.actor == "ana"]
    assert row.mode == "manual"
    other.comment(key, "Closed for good.")  # a change, but the ticket stays Done
    assert poll.read_links(h.active, [link_id], "ana").archived == []
    other.transition(key, IN_PROGRESS)
    poll.read_links(h.active, [link_id], "ana")
    other.transition(key, DONE)  # a move into Done: that brings Done back
    assert poll.read_links(h.active, [link_id], "ana").archived == [1]


def test_reopened_here_while_its_ticket_stays_done_it_is_not_archived_again(harness):
    h, other = harness, Colleague(harness)
    key, _ = linked(h)
    poll = poller(h, done_back=True)
    poll.poll(h.active)
    other.transition(key, DONE)
    assert poll.poll(h.active).archived == [1]
    h.changes.reopen(1, "ana", mode=Mode.MANUAL)  # a person disagrees with Jira's Done
    h.drain()  # our status comment bumps the ticket's updated time
    assert poll.poll(h.active).archived == []  # no loop: the ticket did not move into Done
    assert AnomalyRepository(h.db).get(1).status == "Active"
