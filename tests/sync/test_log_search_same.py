"""The Log's search box finds exactly the rows the old query found, over varied data.

The key side of the search became ``contains(ticket_key, ?)`` instead of
``ticket_key LIKE '%...%'`` with a parameter (the same substring test,
faster). The old clause is kept here verbatim as the reference; both run over
the same rows (keys of several shapes and cases, NULLs, error texts with
wildcard characters, accents and letters whose case changes their length)
for texts drawn from those rows and from an alphabet of their parts.
"""

import random
import re
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.store.db import Database
from lib.store.log_queries import LogFilter, LogQueries, where

T0 = datetime(2026, 3, 1, 8, 0)
KEYS = ("DQ-4711", "DQ-47110", "ADQ-4711", "DQ-471", "OPS-7", "OPS-77", "dq-4711", "A_B-1")
KEYS += ("DQ%1-2", "DQ\\-3", "ÉQ-5", "", None)
ERRORS = (
    None,
    "Jira answered HTTP 400 to PUT /rest/api/3/issue/DQ-4711: priority is not valid",
    "Rate limit exceeded (HTTP 429) on dq-4711",
    "100% of quota_used",
    "a_b and a%b and a\\b",
    "Service UNAVAILABLE",
    "Straße İstanbul ǅemal ΣΊΣΥΦΟΣ",
    "not found: OPS-77",
    "",
)
PIECES = ("DQ", "dq", "-", "4711", "47", "1", "OPS", "7", "%", "_", "\\", "a", "b", "ß")
PIECES += ("İ", "σ", "rate", " ", "LIMIT", "é", "É", "12")


def old_text_clause(text: str) -> tuple[str, list]:
    """The clause the search used before (verbatim), as the reference."""
    if re.search(r"[%_\\]", text):
        escaped = re.sub(r"([%_\\])", r"\\\1", text)
        key, words, escape = f"%{escaped.upper()}%", f"%{escaped}%", " ESCAPE '\\'"
    else:
        key, words, escape = f"%{text.upper()}%", f"%{text}%", ""
    clause = f"ticket_key LIKE ?{escape} OR error ILIKE ?{escape}"
    params = [key, words]
    if text.isdigit():
        clause += " OR anomaly_id = ?"
        params.append(int(text))
    return f"({clause})", params


def build(db: Database, rows: int, seed: int) -> list[tuple]:
    pick = random.Random(seed)
    data = [
        {
            "id": i,
            "created_at": T0 + timedelta(minutes=i),
            "mode": "automatic",
            "status": pick.choice(("ok", "failed", "pending")),
            "action": "comment",
            "anomaly_id": pick.choice((None, 7, 12, 47, 4711)),
            "ticket_key": pick.choice(KEYS),
            "error": pick.choice(ERRORS),
            "attempts": 1,
            "permanent": False,
        }
        for i in range(1, rows + 1)
    ]
    with db.transaction() as cur:
        cur.register("incoming", pd.DataFrame(data))
        cur.execute("INSERT INTO sync_log BY NAME SELECT * FROM incoming")
        cur.unregister("incoming")
    return [(r["ticket_key"], r["error"]) for r in data]


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    db = Database(tmp_path_factory.mktemp("search") / "search.duckdb")
    texts = build(db, 400, seed=14)
    yield db, texts
    db.close()


def matches(db: Database, clause: str, params: list) -> tuple[int, list[int]]:
    with db.read() as cur:
        ids = [
            r[0] for r in cur.execute(f"SELECT id FROM sync_log WHERE {clause}", params).fetchall()
        ]
    return len(ids), sorted(ids)


def same_answer(db: Database, text: str) -> None:
    if not text.strip():
        return
    new_where, new_params = where(LogFilter(text=text))
    old = matches(db, *old_text_clause(text.strip()))
    assert matches(db, new_where.removeprefix(" WHERE "), new_params) == old, repr(text)
    page = LogQueries(db).page(LogFilter(text=text), size=1000)
    assert (page.total, sorted(r.id for r in page.rows)) == old, repr(text)


def substrings(value: str, pick: random.Random) -> list[str]:
    cuts = sorted(pick.sample(range(len(value) + 1), 2)) if len(value) > 1 else [0, len(value)]
    return [value, value[cuts[0] : cuts[1]], value.lower(), value.upper()]


def test_texts_cut_from_the_rows_find_the_same_rows(varied):
    db, rows = varied
    pick = random.Random(3)
    texts = {"DQ-4711", "dq-4711", "4711", "12", "7", "a_b", "100%", "\\", "ß", "SS", "İ", "σ"}
    for key, error in rows[:120]:
        for value in (key, error):
            if value:
                texts.update(substrings(value, pick))
    assert len(texts) > 100  # the check meets many shapes, not a handful
    found_some = 0
    for text in sorted(texts):
        same_answer(db, text)
        found_some += bool(LogQueries(db).page(LogFilter(text=text)).total)
    assert found_some > 50  # most of them match rows: the comparison is not of empty sets


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map("".join))
def test_any_text_of_their_parts_finds_the_same_rows(varied, text):
    same_answer(varied[0], text)
