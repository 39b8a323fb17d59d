"""The process-wide services for one database: the store, opened once per file.

The dashboard's pages (script threads) and its background worker (a thread
started by the lifespan hook) share one ``Services`` per database path, so one
process owns the DuckDB file and every caller goes through the same lock.

One set per database per process, whatever the caller's settings: asked again
for the same file with other settings, ``services_for`` never builds a second
worker or a second Database (a second, never-started worker used to be the one
the shutdown stopped, while the first kept using the database being closed).
It re-reads them in place instead: the connection part and the worker's
refresh interval (a page run on its own under a test's secrets).
The running dashboard reads its settings once (``serve``) and its pages use
those, so there a changed secrets.toml takes effect at the next restart, and
each page says so (components/common.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from lib.anomalies.changes import AnomalyChanges
from lib.anomalies.demo import seed_demo_if_empty
from lib.connections.connection_store import ConnectionStore
from lib.connections.jira_provider import ActiveJiraProvider
from lib.connections.secret_box import SecretBox
from lib.connections.service import ConnectionService
from lib.connections.site import JiraSite
from lib.connections.validation import deployed_input_from_secrets
from lib.jira import RetryPolicy
from lib.jira.wording import explain
from lib.outbox.engine import SyncEngine
from lib.outbox.health import IntegrationHealth
from lib.outbox.worker import SyncWorker
from lib.reporting import retention
from lib.reporting.integration import IntegrationStatusService
from lib.reporting.log_service import LogService, Resend
from lib.reporting.operator_settings import OperatorSettings
from lib.reporting.statistics import StatisticsService
from lib.settings import Settings
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.tickets.automation import AutomationService
from lib.tickets.bulk import BulkService
from lib.tickets.inbound import InboundPoll
from lib.tickets.reconciliation import ReconciliationService
from lib.tickets.rules import RuleService
from lib.tickets.service import TicketService

log = logging.getLogger("anomaly_desk.services")
_lock = threading.Lock()
_open: dict[Path, Services] = {}
_served: Settings | None = None  # what the running dashboard read at start
# A page's script thread may still be in a query when the server stops (Streamlit
# stops its script runs after our lifespan hook): a query takes milliseconds, so
# 20 tries 50 ms apart let it finish before the database closes.
CLOSE_TRIES, CLOSE_PAUSE_S = 20, 0.05
_pause = time.sleep  # tests pin it


def utc_now() -> datetime:
    """Naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    anomalies: AnomalyRepository
    changes: AnomalyChanges  # every anomaly change: pages, import, CLI, HTTP
    connections: ConnectionStore  # a CurrentConnections, so it can be re-read in place
    jira: ActiveJiraProvider
    sync: SyncEngine
    tickets: TicketService
    worker: SyncWorker  # started by app.py's lifespan, not here
    automation: AutomationService
    log: LogService
    statistics: StatisticsService
    operator: OperatorSettings
    connect: ConnectionService
    site: JiraSite
    bulk: BulkService  # many anomalies at once: the Anomalies page and /api/anomalies/bulk
    inbound: InboundPoll | None = None  # the worker's batched poll of linked tickets
    reconciliation: ReconciliationService | None = None  # the Reconciliation page
    rules: RuleService | None = None  # auto-ticket rules (the Rules page, /api/rules)

    @property
    def health(self) -> IntegrationHealth:
        """The integration's health (the engine records every call's outcome there)."""
        return self.sync.health

    @property
    def integration(self) -> IntegrationStatusService:
        """The sidebar's and banner's one call: connection, health, outbox depth; Resume."""
        return IntegrationStatusService(self.db, self.health, self.connections.active, utc_now)


def services_for(settings: Settings) -> Services:
    """The shared services for ``settings.db_path``, opening (and seeding) on first use.

    Already open with other settings: the same services, re-read in place
    (see the module docstring); never a second worker or Database on the file.

    Raises:
        DatabaseLocked: another process holds the file.
    """
    with _lock:
        found = _open.get(settings.db_path)
        if found is None or found.db.closed:
            db = Database(settings.db_path)
            if settings.seed_demo:
                seed_demo_if_empty(db, utc_now())
            found = _build(settings, db)
        elif found.settings != settings:
            found = _reconfigured(found, settings)
        _open[settings.db_path] = found
        return found


def _reconfigured(found: Services, settings: Settings) -> Services:
    """``found`` re-read in place for ``settings``: same Database, same worker.

    The connection store is rebuilt behind the one every part holds ([jira],
    the public and sandbox addresses, the key), and the worker's refresh
    interval is set; the demo data choice only ever applies to a new file.
    """
    found.connections.reload(_connection_store(settings, found.db))
    found.worker.refresh_interval_s = settings.refresh_minutes * 60
    log.info("anomaly_desk.settings_reread db=%s", settings.db_path)
    operator = OperatorSettings(found.db, settings, found.sync.notify)
    return replace(found, settings=settings, operator=operator)


def serve(settings: Settings) -> Services:
    """Open the dashboard's services; its pages then use these settings (``served_settings``)."""
    global _served
    services = services_for(settings)
    _served = settings
    return services


def served_settings() -> Settings | None:
    """The settings the running dashboard read at start; None outside a dashboard."""
    return _served


class CurrentConnections:
    """The connection store the services use now, rebuilt in place when the settings change.

    The Jira provider, the engine and the ticket service all hold this one
    object, so swapping the store behind it reaches every one of them at once.
    """

    def __init__(self, store: ConnectionStore) -> None:
        self._store = store

    def reload(self, store: ConnectionStore) -> None:
        self._store = store

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def _connection_store(settings: Settings, db: Database) -> ConnectionStore:
    deployed = deployed_input_from_secrets({"jira": dict(settings.jira)})
    return ConnectionStore(db, SecretBox.from_settings(settings), settings, deployed=deployed)


def _build(settings: Settings, db: Database) -> Services:
    connections = CurrentConnections(_connection_store(settings, db))
    jira = ActiveJiraProvider(connections)
    engine = SyncEngine(db, jira, clock=utc_now)
    tickets = TicketService(db, engine, lambda: connections.public_url(connections.active()))
    rules = RuleService(db, engine, tickets)
    changes = AnomalyChanges(
        db,
        utc_now,
        on_enqueued=engine.notify,
        active_connection=lambda: connections.active().id,
        on_imported=rules.anomalies_arrived,
    )
    inbound = _inbound(db, connections, changes)
    tickets.read_back_through(inbound.read_links)  # a per-link Refresh reads as the poll does
    worker = SyncWorker(
        engine,
        tickets,
        refresh_interval_s=settings.refresh_minutes * 60,
        housekeeping=lambda now: retention.cleanup_if_due(db, now),
        poller=inbound,
        scheduled=rules.run_due,
    )
    return Services(
        settings,
        db,
        AnomalyRepository(db),
        changes,
        connections,
        jira,
        engine,
        tickets,
        worker,
        AutomationService(db, engine, jira),
        LogService(
            db,
            utc_now,
            engine.retry,
            resend=Resend(
                refresh=lambda link_id, actor: tickets.refresh(link_id, actor=actor),
                link=lambda anomaly_id, key, actor: tickets.link_existing(anomaly_id, key, actor),
            ),
            connection_for=lambda cid: (
                connections.active() if cid is None else connections.get(cid)
            ),
        ),
        StatisticsService(db, utc_now),
        OperatorSettings(db, settings, engine.notify),
        ConnectionService(connections, settings.sandbox_url),
        JiraSite(jira, engine.links, tickets),
        BulkService(
            db, engine, tickets, changes, lambda: connections.public_url(connections.active())
        ),
        inbound=inbound,
        reconciliation=ReconciliationService(
            db,
            utc_now,
            lambda: connections.active().id,
            changes,
            lambda link_ids: _resync(jira, inbound, link_ids),
            lambda exc: explain(exc, connections.active()),
        ),
        rules=rules,
    )


def _inbound(db: Database, connections, changes: AnomalyChanges) -> InboundPoll:
    """The poll, told per connection whether Jira's Done comes back (then archived by ``jira``)."""
    return InboundPoll(
        db,
        utc_now,
        done_comes_back=lambda connection_id: connections.get(connection_id).done_comes_back,
        archive_from_jira=lambda anomaly_id, reason: changes.from_jira(
            anomaly_id, "Archived", reason
        ),
        # Short waits in the poll; a longer Retry-After pauses the worker instead, so the
        # worker's thread never sleeps long enough to hold up a shutdown.
        retry_policy=RetryPolicy(max_attempts=3, max_server_wait=5.0),
    )


def _resync(jira: ActiveJiraProvider, inbound: InboundPoll, link_ids) -> object:
    """Resync now: read these links' tickets by id (no Jira connection: nothing to read)."""
    active = jira()
    return inbound.poll(active, only_links=link_ids) if active is not None else None


def close_all() -> None:
    """Stop each worker, then close its database (lifespan shutdown, tests).

    Closing a DuckDB connection another thread is using fails ("connection is
    busy"), so a worker that does not stop in time (a Jira call in flight) or a
    query that outlasts the tries leaves its database open: the process is
    ending anyway, and an error here would abort the shutdown.
    """
    global _served
    with _lock:
        for services in _open.values():
            if services.worker.stop(timeout=10):
                _close_when_idle(services.db)
            else:
                log.warning("anomaly_desk.worker_still_busy db=%s", services.settings.db_path)
        _open.clear()
        _served = None


def _close_when_idle(db: Database) -> bool:
    for _ in range(CLOSE_TRIES):
        try:
            db.close()
            return True
        except duckdb.ResourceInUseException:
            _pause(CLOSE_PAUSE_S)
    log.warning("anomaly_desk.database_still_busy path=%s", db.path)
    return False
