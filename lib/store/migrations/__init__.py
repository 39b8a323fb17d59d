"""Numbered SQL migrations (``NNN_name.sql``), each applied once with its stamp.

Every file runs inside one transaction together with the row that records its
version, so a failed migration leaves neither half a schema nor a stamp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, ordered by version.

    Raises:
        ValueError: two files share a version number.
    """
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations share version {version}: {path.name}")
        found[version] = Migration(version, path.name, path.read_text())
    return [found[v] for v in sorted(found)]


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP))"
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def apply_migrations(
    con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply every pending migration in order; return the versions applied."""
    done = applied_versions(con)
    applied: list[int] = []
    for migration in migrations if migrations is not None else discover():
        if migration.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(migration.version)
    return applied
