"""Command line: ``python -m lib.cli import FILE`` (later issues add more commands).

When the dashboard is running it holds the database, so the command sends its
work to the dashboard's HTTP route instead (with the token the dashboard wrote
beside the database). Exit codes: 0 done, 1 refused, 2 could not run.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import requests

from lib.api_token import read_token
from lib.importing import ImportRefused, import_file
from lib.services import utc_now
from lib.settings import Settings, load_settings
from lib.store.db import Database, DatabaseLocked


def _import_via_dashboard(settings: Settings, path: Path, locked: DatabaseLocked) -> int:
    token = read_token(settings.api_token_path)
    if token is None:
        print(f"error: {locked}", file=sys.stderr)
        return 2
    try:
        answer = requests.post(
            f"{settings.dashboard_url}/api/v1/import", params={"filename": path.name},
            data=path.read_bytes(), headers={"Authorization": f"Bearer {token}"}, timeout=120,
        )
    except requests.RequestException:
        print(f"error: {locked} (the dashboard did not answer at {settings.dashboard_url}; "
              "set ANOMALY_DESK_DASHBOARD_URL if it runs elsewhere)", file=sys.stderr)
        return 2
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code == 200:
        print(f"Imported {path.name} through the running dashboard: "
              f"{body['inserted']} new, {body['updated']} updated.")
        return 0
    print(body.get("error") or f"error: the dashboard answered {answer.status_code}", file=sys.stderr)
    return 1 if answer.status_code == 400 else 2


def cmd_import(settings: Settings, file: str) -> int:
    path = Path(file)
    if not path.is_file():
        print(f"error: no file at {path}", file=sys.stderr)
        return 2
    try:
        db = Database(settings.db_path)
    except DatabaseLocked as locked:
        return _import_via_dashboard(settings, path, locked)
    try:
        result = import_file(db, path.name, path.read_bytes(), utc_now())
    except ImportRefused as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"Imported {path.name}: {result.inserted} new, {result.updated} updated.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.cli", description="Anomaly Desk commands")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import anomalies from a CSV, JSON or Parquet file")
    imp.add_argument("file")
    return parser


def main(argv: list[str] | None = None, environ=None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings(os.environ if environ is None else environ)
    if args.command == "import":
        return cmd_import(settings, args.file)
    return 2


if __name__ == "__main__":
    sys.exit(main())
