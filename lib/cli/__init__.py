"""Command line: ``python -m lib.cli import FILE`` and ``python -m lib.cli advanced COMMAND``.

When the dashboard is running it holds the database, so the command sends its
work to the dashboard's HTTP route instead (with the token the dashboard wrote
beside the database), at the address the dashboard also wrote there
(``<db>.dashboard.json``; ``ANOMALY_DESK_DASHBOARD_URL`` wins when set). Settings
are read as the dashboard reads them: environment, then secrets.toml. Exit
codes: 0 done, 1 refused, 2 could not run.

``advanced "GUID|CREATE|summary;Disk full|priority;High"`` creates a ticket (a
known GUID answers its ticket again); ``"GUID|UPDATE|priority;Low"`` queues an
update of that ticket. Run directly, the command owns the database, so it does
one pass of the sync worker itself (within the update limit), as the dashboard
would; through the dashboard, the dashboard's worker sends it.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import requests

from lib.anomalies.changes import Mode
from lib.anomalies.importing import ImportRefused, ImportResult
from lib.connections.api_token import read_token
from lib.connections.secret_box import SecretKeyInvalid
from lib.http.dashboard_address import find_dashboard
from lib.outbox.worker import SyncWorker
from lib.services import services_for
from lib.settings import Settings, SettingsError, read_settings
from lib.store.db import DatabaseLocked
from lib.tickets.automation import QUEUED, AutomationResult
from lib.tickets.automation_command import AutomationRefused

CLI_ACTOR = "cli"


def dashboard_url(settings: Settings) -> str:
    """Where the running dashboard answers: configured, else the address it wrote, else 8501."""
    if settings.dashboard_url_configured:
        return settings.dashboard_url
    return find_dashboard(settings.dashboard_file_path) or settings.dashboard_url


def _post_to_dashboard(
    settings: Settings, path: str, locked: DatabaseLocked, *, timeout: float, **kwargs
) -> requests.Response | None:
    """POST to the running dashboard with its token; None (message printed) when it cannot."""
    token = read_token(settings.api_token_path)
    if token is None:
        print(f"error: {locked}", file=sys.stderr)
        return None
    base = dashboard_url(settings)
    try:
        return requests.post(
            f"{base}{path}",
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )
    except requests.RequestException:
        print(
            f"error: {locked} (the dashboard did not answer at {base}; "
            "set ANOMALY_DESK_DASHBOARD_URL if it runs elsewhere)",
            file=sys.stderr,
        )
        return None


def _json_body(answer: requests.Response) -> dict:
    """The dashboard's JSON answer, or {} when it answered something else (a proxy's page)."""
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return {}
    return answer.json()


def _import_via_dashboard(settings: Settings, path: Path, locked: DatabaseLocked) -> int:
    answer = _post_to_dashboard(
        settings,
        "/api/v1/import",
        locked,
        timeout=120,
        params={"filename": path.name},
        data=path.read_bytes(),
    )
    if answer is None:
        return 2
    body = _json_body(answer)
    if answer.status_code == 200:
        result = ImportResult(
            body["inserted"], body["updated"], body.get("status_changes", 0), body.get("queued", 0)
        )
        print(f"Imported {path.name} through the running dashboard: {_import_summary(result)}")
        return 0
    print(
        body.get("error") or f"error: the dashboard answered {answer.status_code}", file=sys.stderr
    )
    return 1 if answer.status_code == 400 else 2


def _import_summary(result: ImportResult) -> str:
    text = f"{result.inserted} new, {result.updated} updated."
    if result.status_changes:
        text += (
            f" {result.status_changes} status change(s) recorded;"
            f" {result.queued} Jira comment(s) queued for linked tickets."
        )
    return text


def cmd_import(settings: Settings, file: str) -> int:
    path = Path(file)
    if not path.is_file():
        print(f"error: no file at {path}", file=sys.stderr)
        return 2
    try:
        # No demo data: an import must not first fill an empty database with examples.
        services = services_for(replace(settings, seed_demo=False))
    except DatabaseLocked as locked:
        return _import_via_dashboard(settings, path, locked)
    except SecretKeyInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        # A person runs this command: their import is manual. Queued comments wait
        # in the outbox for the dashboard's worker (this process does not call Jira).
        with path.open("rb") as file:  # read in chunks, never whole
            result = services.changes.import_file(path.name, file, mode=Mode.MANUAL)
    except ImportRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        services.db.close()
    print(f"Imported {path.name}: {_import_summary(result)}")
    return 0


def _print_result(result: AutomationResult) -> int:
    if not result.ok:
        print(f"error: {result.message}", file=sys.stderr)
        return 2
    print(result.message)
    if result.ticket_key and result.ticket_url:
        print(f"{result.ticket_key} {result.ticket_url}")
    return 0


def _advanced_via_dashboard(settings: Settings, text: str, locked: DatabaseLocked) -> int:
    answer = _post_to_dashboard(
        settings, "/api/v1/advanced", locked, timeout=120, json={"command": text}
    )
    if answer is None:
        return 2
    body = _json_body(answer)
    if answer.status_code == 400:
        print(body.get("error") or "error: the dashboard refused the command", file=sys.stderr)
        return 1
    if answer.status_code not in (200, 503) or "status" not in body:
        print(
            body.get("error") or f"error: the dashboard answered {answer.status_code}",
            file=sys.stderr,
        )
        return 2
    return _print_result(
        AutomationResult(
            body["status"],
            body.get("message", ""),
            body.get("guid"),
            body.get("ticket_key"),
            body.get("ticket_url"),
            body.get("log_id"),
            body.get("row_status"),
        )
    )


def cmd_advanced(settings: Settings, text: str) -> int:
    try:
        # No demo data: a command must not fill an empty database with examples.
        services = services_for(replace(settings, seed_demo=False))
    except DatabaseLocked as locked:
        return _advanced_via_dashboard(settings, text, locked)
    except SecretKeyInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        automation = services.automation
        result = automation.run(text, actor=CLI_ACTOR)
        if result.status == QUEUED:
            # This process owns the database: one worker pass sends what is due,
            # within the update limit, as the dashboard's worker would.
            SyncWorker(services.sync, None, refresh_interval_s=0).run_once()
            result = automation.update_state(result.log_id, result.guid)
    except AutomationRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        services.db.close()
    return _print_result(result)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.cli", description="Anomaly Desk commands")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import anomalies from a CSV, JSON or Parquet file")
    imp.add_argument("file")
    adv = sub.add_parser(
        "advanced",
        help="create or update a Jira ticket from one command string",
        description='For example: "job-1|CREATE|summary;Disk full|priority;High'
        '|labels;dq,orders" or "job-1|UPDATE|priority;Low".',
    )
    adv.add_argument("text", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None, environ=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = read_settings(os.environ if environ is None else environ)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "import":
        return cmd_import(settings, args.file)
    if args.command == "advanced":
        return cmd_advanced(settings, args.text)
    return 2


if __name__ == "__main__":
    sys.exit(main())
