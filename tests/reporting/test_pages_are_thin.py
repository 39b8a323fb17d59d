"""The Log, Statistics, Settings, Connect and Jira pages call services only.

Read from the pages' source: no store, database driver, HTTP library or Jira
client imports, no database handle, no clock, no SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("log", "statistics", "settings", "connect", "jira", "reconciliation")
FORBIDDEN_IMPORTS = ("lib.store", "duckdb", "requests", "lib.jira.client", "lib.jira.sandbox")
FORBIDDEN_NAMES = {"utc_now", "make_client", "JiraClient", "Database"}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I)


def imported(tree: ast.AST) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", [a.name for a in node.names]))
    return found


@pytest.mark.parametrize("name", PAGES)
def test_page_imports_no_store_driver_http_or_client(name):
    tree = ast.parse((ROOT / "pages" / f"{name}.py").read_text())
    for module, names in imported(tree):
        assert not any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IMPORTS), (
            f"pages/{name}.py imports {module}"
        )
        assert not FORBIDDEN_NAMES & set(names), f"pages/{name}.py imports {names} from {module}"


@pytest.mark.parametrize("name", PAGES)
def test_page_touches_no_database_clock_or_client(name):
    source = (ROOT / "pages" / f"{name}.py").read_text()
    tree = ast.parse(source)
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "db" not in attributes, f"pages/{name}.py touches .db"
    assert not {"now", "utcnow", "today"} & {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") in ("datetime", "date")
    }, f"pages/{name}.py reads the clock"
    # The raw engine, repositories and the Jira provider are use cases' business.
    assert not {"sync", "jira", "connections", "tickets"} & {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "svc"
    }, f"pages/{name}.py reaches past its service"
    assert not SQL.search(source), f"pages/{name}.py holds SQL"


def test_the_check_sees_a_violation(tmp_path):
    """The checks above can fail: a page written the old way trips each of them."""
    old = "from lib.reporting import log_queries\nfrom lib.services import utc_now\n"
    old += "import duckdb\nrows = log_queries.page(svc.db, f)\nx = svc.sync.retry(1)\n"
    tree = ast.parse(old)
    modules = [m for m, _ in imported(tree)]
    assert "duckdb" in modules
    assert "utc_now" in {n for _, names in imported(tree) for n in names}
    assert "db" in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert SQL.search("cur.execute('SELECT id FROM sync_log')")
