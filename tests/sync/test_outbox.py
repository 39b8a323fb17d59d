"""Pure outbox rules: error disposition, backoff, update limit, what goes next."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from lib.jira import (
    BadCredentials,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    JiraConnectionError,
    JiraDnsError,
    JiraTimeout,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
)
from lib.outbox.policy import Backoff, UpdateLimit, disposition, normalise, pick_due
from lib.store.sync_log import LogRow, scrub_json, to_json

T0 = datetime(2026, 1, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "error, post, expected",
    [
        (JiraTimeout("t"), True, "lost"),
        (JiraConnectionError("c"), True, "lost"),
        (JiraTimeout("t"), False, "retry"),
        (JiraDnsError("d"), True, "retry"),
        (RateLimited("r", status=429, retry_after=3), True, "retry"),
        (ServerError("s", status=503), True, "retry"),
        (ServerError("s", status=502), True, "lost"),
        (ServerError("s", status=500), False, "retry"),
        (Conflict("c", status=409), True, "retry"),
        (BadRequest("b", status=400), True, "permanent"),
        (Forbidden("f", status=403), True, "permanent"),
        (NotFound("n", status=404), True, "permanent"),
        (Gone("g", status=410), True, "permanent"),
        (TooLarge("l", status=413), True, "permanent"),
        (BadCredentials("a", status=401), True, "permanent"),
    ],
)
def test_disposition_table(error, post, expected):
    assert disposition(error, post=post) == expected


def test_backoff_grows_caps_and_honours_retry_after():
    top = Backoff(base=1, cap=10, rand=lambda: 1.0)
    assert [top.delay(n) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    low = Backoff(base=1, cap=10, rand=lambda: 0.0)
    assert [low.delay(n) for n in (1, 2, 3)] == [0.5, 1, 2]
    assert top.delay(1, retry_after=30) == 30
    assert top.delay(4, retry_after=2) == 8


def test_update_limit_plans_slots_in_order():
    limit = UpdateLimit(2, 60)
    sent = [T0 - timedelta(seconds=50), T0 - timedelta(seconds=10), T0 - timedelta(seconds=120)]
    plan = limit.plan(sent, T0, 3)
    assert plan == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=50),
        T0 + timedelta(seconds=70),
    ]
    assert UpdateLimit(5, 60).plan([], T0, 2) == [T0, T0]
    assert UpdateLimit(0, 60).plan(sent * 10, T0, 2) == [T0, T0]


def row(id_, ticket="DQ-1", *, action="comment", status="pending", due=T0, anomaly=1) -> LogRow:
    return LogRow(
        id_,
        T0,
        action,
        "automatic",
        status,
        anomaly,
        1,
        None,
        None,
        None if action == "create" else ticket,
        None,
        None,
        None,
        None,
        None,
        None,
        0,
        due,
        None,
        None,
        False,
        False,
        None,
        None,
        "x",
        None,
        None,
    )


def test_pick_due_keeps_one_ticket_in_order_and_skips_blocked_rows():
    rows = [
        row(1, "DQ-1", due=T0 + timedelta(seconds=5)),
        row(2, "DQ-1"),
        row(3, "DQ-2"),
        row(4, "DQ-3", status="sending"),
        row(5, "DQ-3"),
        row(6, "DQ-2"),
    ]
    assert [r.id for r in pick_due(rows, T0)] == [3]


def test_pick_due_sends_creates_first_near_the_limit():
    rows = [
        row(1, "DQ-1"),
        row(2, action="create"),
        row(3, "DQ-2"),
        row(4, action="create", anomaly=2),
    ]
    assert [r.id for r in pick_due(rows, T0)] == [1, 2, 3, 4]
    assert [r.id for r in pick_due(rows, T0, near_limit=True)] == [2, 4, 1, 3]
    assert [r.id for r in pick_due(rows, T0, limit=2)] == [1, 2]
    deferred = [replace(row(1), status="deferred", next_attempt_at=T0 - timedelta(seconds=1))]
    assert [r.id for r in pick_due(deferred, T0)] == [1]


def test_secrets_never_reach_stored_json():
    stored = to_json({"headers": {"Authorization": "Basic abc"}, "body": {"password": "p", "x": 1}})
    assert "abc" not in stored and '"p"' not in stored and '"x":1' in stored
    assert scrub_json([{"api_token": "t"}]) == [{"api_token": "[redacted]"}]
    assert to_json({"a": "y" * 100}, limit=50).endswith("…[truncated]")


def test_normalise_collapses_whitespace():
    assert normalise("  a \n b\t c ") == "a b c"
