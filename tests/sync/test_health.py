"""The integration's health: the state machine, what the engine records, the automation pause."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from lib.jira import (
    BadCredentials,
    BadRequest,
    CaptchaRequired,
    ErrorKind,
    Forbidden,
    Gone,
    JiraConnectionError,
    JiraDnsError,
    JiraError,
    JiraTimeout,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    error_kind,
)
from lib.outbox.health import HealthState, IntegrationHealth
from lib.store.migrations import apply_migrations, discover
from lib.store.sync_log import SyncMode
from lib.tickets.automation import AutomationService
from tests.sync.conftest import FixedClock

START = datetime(2026, 3, 1, 9, 0, 0)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def health(db, clock):
    return IntegrationHealth(db, clock, failing_after=3, rate_limited_after=2)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadCredentials("401"), ErrorKind.AUTHENTICATION),
        (CaptchaRequired("captcha"), ErrorKind.AUTHENTICATION),
        (Forbidden("403"), ErrorKind.PERMISSION),
        (BadRequest("400"), ErrorKind.VALIDATION),
        (TooLarge("413"), ErrorKind.VALIDATION),
        (NotFound("404"), ErrorKind.NOT_FOUND),
        (Gone("410"), ErrorKind.NOT_FOUND),
        (RateLimited("429"), ErrorKind.RATE_LIMITED),
        (JiraTimeout("timeout"), ErrorKind.NETWORK),
        (JiraConnectionError("reset"), ErrorKind.NETWORK),
        (JiraDnsError("dns"), ErrorKind.NETWORK),
        (ServerError("500"), ErrorKind.SERVER),
        (JiraError("odd", status=502), ErrorKind.SERVER),
        (JiraError("odd"), ErrorKind.OTHER),
        (ValueError("not Jira's"), ErrorKind.OTHER),
    ],
)
def test_every_error_has_one_kind(error, kind):
    assert error_kind(error) == kind


def test_failures_in_a_row_degrade_then_fail_and_pause_automation(health, clock):
    assert health.current(1).state == HealthState.CONNECTED
    health.record_failure(1, JiraTimeout("read timed out"))
    assert health.current(1).state == HealthState.DEGRADED
    assert health.automation_paused(1) is None
    clock.now += timedelta(minutes=1)
    health.record_failure(1, ServerError("502 from Jira"))
    health.record_failure(1, JiraConnectionError("connection reset"))
    now = health.current(1)
    assert now.state == HealthState.FAILING and now.kind == ErrorKind.NETWORK
    assert now.consecutive_failures == 3 and now.since == clock.now
    assert "3 calls to Jira failed in a row" in now.reason and "connection reset" in now.reason
    assert health.automation_paused(1) == now
    assert health.automation_paused(2) is None  # per connection


def test_a_success_clears_degraded_but_not_failing(health):
    health.record_failure(1, JiraTimeout("t"))
    health.record_failure(1, JiraTimeout("t"))
    health.record_success(1)
    assert health.current(1).state == HealthState.CONNECTED
    assert health.current(1).consecutive_failures == 0
    for _ in range(3):
        health.record_failure(1, JiraTimeout("t"))
    health.record_success(1)  # a manual send went through: still paused until Resume
    assert health.current(1).state == HealthState.FAILING


def test_answers_about_one_request_are_contact_not_failures(health):
    health.record_failure(1, JiraTimeout("t"))
    for error in (BadRequest("summary is required"), NotFound("gone"), Forbidden("project")):
        health.record_failure(1, error)
    assert health.current(1).state == HealthState.CONNECTED


def test_one_authentication_error_fails_at_once_and_says_it_worked_before(health):
    health.record_success(1)
    health.record_failure(1, BadCredentials("401 Unauthorized"))
    now = health.current(1)
    assert now.state == HealthState.FAILING and now.kind == ErrorKind.AUTHENTICATION
    assert now.worked_before and "credentials" in now.reason


def test_a_run_of_429s_fails_and_other_failures_do_not_reset_it(health):
    health.record_failure(1, RateLimited("429"))
    assert health.current(1).state == HealthState.DEGRADED
    health.record_failure(1, RateLimited("429"))
    assert health.current(1).state == HealthState.FAILING
    assert "rate-limit" in health.current(1).reason


def test_resume_clears_the_pause_and_survives_a_restart(db, health, clock):
    health.record_failure(1, BadCredentials("401"))
    fresh = IntegrationHealth(db, clock)  # another start of the dashboard
    assert fresh.current(1).state == HealthState.FAILING
    clock.now += timedelta(hours=1)
    resumed = fresh.resume(1, "alice")
    assert resumed.state == HealthState.CONNECTED and resumed.since == clock.now
    assert IntegrationHealth(db, clock).current(1).state == HealthState.CONNECTED
    with db.read() as cur:
        assert cur.execute(
            "SELECT resumed_by, resumed_at FROM integration_health WHERE connection_id = 1"
        ).fetchone() == ("alice", clock.now)


def test_successes_write_nothing_once_connected(db, health):
    health.record_success(1)  # first contact: worked_before is stored
    with db.transaction() as cur:
        cur.execute("DELETE FROM integration_health")
    for _ in range(5):
        health.record_success(1)
    with db.read() as cur:
        assert cur.execute("SELECT count(*) FROM integration_health").fetchone()[0] == 0


# -- the engine records every call ---------------------------------------------
def test_the_engine_records_failures_with_their_kind_and_successes(cloud_harness):
    h = cloud_harness
    key = h.tickets.create_ticket(1, summary="s", actor="alice").key
    assert h.engine.health.current(1).worked_before
    h.fault(kind="status", status=400, method="POST", path=r"/comment$")
    h.changes.acknowledge(1, "alice", mode=SyncMode.MANUAL)
    h.drain()
    [row] = h.log_rows(action="comment")
    assert (row.status, row.error_kind) == ("failed", "validation")
    h.fault(kind="status", status=401, method="POST", path=r"/comment$")
    h.engine.retry(row.id)
    h.drain()
    failed = h.engine.log.get(row.id)
    assert (failed.status, failed.error_kind) == ("failed", "authentication")
    assert h.engine.health.current(1).state == HealthState.FAILING
    h.engine.retry(row.id)  # a person's retry is still sent while automation is paused
    h.drain()
    done = h.engine.log.get(row.id)
    assert (done.status, done.error_kind) == ("ok", None)
    assert h.comments(key)[-1].endswith("Anomaly Status: Acknowledged")
    assert h.engine.health.current(1).state == HealthState.FAILING


def test_a_paused_integration_refuses_the_automation_command_and_resume_lets_it(cloud_harness):
    h = cloud_harness
    auto = AutomationService(h.db, h.engine, lambda: h.holder["active"])
    h.engine.health.record_failure(1, BadCredentials("401 Unauthorized"))
    before = sum(h.stats()["received"].values())
    result = auto.run("job-9|CREATE|summary;Disk full")
    assert not result.ok and result.message.startswith("Automation is paused")
    assert sum(h.stats()["received"].values()) == before  # nothing sent
    assert h.log_rows(action="create") == []
    h.engine.health.resume(1, "alice")
    assert auto.run("job-9|CREATE|summary;Disk full").ok


def test_the_migration_keeps_every_row_and_allows_the_new_words(tmp_path):
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    apply_migrations(con, [m for m in discover() if m.version < 8])
    con.execute(
        "INSERT INTO sync_log (created_at, action, mode, status, automation_guid, waits_on)"
        " VALUES (?, 'create', 'manual', 'ok', 'job-1', 7)",
        [START],
    )
    assert 8 in apply_migrations(con)
    assert con.execute(
        "SELECT id, action, automation_guid, waits_on, error_kind FROM sync_log"
    ).fetchall() == [(1, "create", "job-1", 7, None)]
    con.execute(
        "INSERT INTO sync_log (created_at, action, mode, status) VALUES"
        " (?, 'transition', 'manual', 'cancelled')",
        [START],
    )
    assert con.execute("SELECT max(id) FROM sync_log").fetchone()[0] == 2  # the same sequence
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO sync_log (created_at, action, mode, status) VALUES"
            " (?, 'teleport', 'manual', 'pending')",
            [START],
        )
    con.close()


# -- the status every page shows (lib/reporting/integration.py) -----------------------
def test_the_status_names_the_connection_counts_the_outbox_and_words_the_pause(db, clock):
    from types import SimpleNamespace

    from lib.reporting.integration import IntegrationStatusService
    from lib.store.sync_log import SyncLog

    health = IntegrationHealth(db, clock)
    checked = SimpleNamespace(
        id=1, kind="cloud", label="Jira Cloud · https://acme.atlassian.net as me@acme.com",
        flavour="cloud", auth_type="basic", check_status="ok", is_demo=False,
    )  # fmt: skip
    status = IntegrationStatusService(db, health, lambda: checked, clock)
    with db.transaction() as cur:
        for minutes, state in ((30, "pending"), (10, "deferred"), (90, "ok")):
            SyncLog.insert_in(
                cur, now=START - timedelta(minutes=minutes), action="comment",
                mode="manual", status=state,
            )  # fmt: skip
    now = status.status()
    assert (now.state_label, now.connection_kind, now.demo) == ("Connected", "Jira Cloud", False)
    assert (now.outbox_depth, now.oldest_pending_age_s) == (2, 1800.0)
    assert now.explanation is None and not now.automation_paused
    health.record_failure(1, BadCredentials("Jira answered 401"))  # no success seen by the engine
    failing = status.status()
    assert failing.automation_paused and failing.kind_label == "Authentication"
    # The connection's own check passed when it was saved: the token worked, then stopped.
    assert "expired or been revoked" in failing.explanation
    assert status.resume("alice").state_label == "Connected"
