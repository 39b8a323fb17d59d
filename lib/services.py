"""The process-wide services for one database: the store, opened once per file.

The dashboard's pages (script threads) and its background worker (a thread
started by the lifespan hook) share one ``Services`` per database path, so one
process owns the DuckDB file and every caller goes through the same lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lib.anomalies.changes import AnomalyChanges
from lib.anomalies.demo import seed_demo_if_empty
from lib.connections.jira_connections import ConnectionStore, deployed_input_from_secrets
from lib.connections.jira_provider import ActiveJiraProvider
from lib.connections.secret_box import SecretBox
from lib.connections.service import ConnectionService
from lib.connections.site import JiraSite
from lib.outbox.engine import SyncEngine
from lib.outbox.worker import SyncWorker
from lib.reporting import retention
from lib.reporting.log_service import LogService
from lib.reporting.operator_settings import OperatorSettings
from lib.reporting.statistics import StatisticsService
from lib.settings import Settings
from lib.store.anomalies import AnomalyRepository
from lib.store.db import Database
from lib.tickets.automation import AutomationService
from lib.tickets.service import TicketService

_lock = threading.Lock()
_open: dict[Path, Services] = {}


def utc_now() -> datetime:
    """Naive UTC, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    anomalies: AnomalyRepository
    changes: AnomalyChanges  # every anomaly change: pages, import, CLI, HTTP
    connections: ConnectionStore
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


def services_for(settings: Settings) -> Services:
    """The shared services for ``settings.db_path``, opening (and seeding) on first use.

    Raises:
        DatabaseLocked: another process holds the file.
    """
    with _lock:
        found = _open.get(settings.db_path)
        if found is not None and not found.db.closed:
            if found.settings == settings:
                return found
            db = found.db  # same file, new configuration (e.g. secrets.toml changed)
        else:
            db = Database(settings.db_path)
            if settings.seed_demo:
                seed_demo_if_empty(db, utc_now())
        services = _build(settings, db)
        _open[settings.db_path] = services
        return services


def _build(settings: Settings, db: Database) -> Services:
    deployed = deployed_input_from_secrets({"jira": dict(settings.jira)})
    connections = ConnectionStore(
        db, SecretBox.from_settings(settings), settings, deployed=deployed
    )
    jira = ActiveJiraProvider(connections)
    engine = SyncEngine(db, jira, clock=utc_now)
    tickets = TicketService(db, engine, lambda: connections.public_url(connections.active()))
    changes = AnomalyChanges(
        db, utc_now, on_enqueued=engine.notify, active_connection=lambda: connections.active().id
    )
    worker = SyncWorker(
        engine,
        tickets,
        refresh_interval_s=settings.refresh_minutes * 60,
        housekeeping=lambda now: retention.cleanup_if_due(db, now),
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
        LogService(db, utc_now, engine.retry),
        StatisticsService(db, utc_now),
        OperatorSettings(db, settings, engine.notify),
        ConnectionService(connections, settings.sandbox_url),
        JiraSite(jira, engine.links, tickets),
    )


def close_all() -> None:
    """Stop the workers, then close every open database (lifespan shutdown, tests)."""
    with _lock:
        for services in _open.values():
            services.worker.stop(timeout=5)
            services.db.close()
        _open.clear()
