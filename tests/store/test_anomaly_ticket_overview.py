"""The Anomalies list's Jira side gives what the old single query gave, over random logs.

The old query (kept here as the reference, verbatim) judged every row of the
page's anomalies in one window over ``sync_log`` and read ``ticket_key`` for
all of them; the new one reads the rows without their keys and the keys of
the few link and refresh rows that decide a supersession. Both run on the same
random logs: every action, every status, several connections (and none), keys
that differ only by case, and NULL keys.
"""

import random
from datetime import datetime, timedelta

import pytest

from lib.store.anomaly_tickets import AnomalyTicketRepository, TicketOverview, _judged
from lib.store.db import Database
from lib.store.sync_log import SyncLog

NOW = datetime(2026, 11, 24, 12, 0)
ACTIONS = ["create", "link", "refresh", "update", "comment", "unlink"]
STATUSES = ["ok", "ok", "failed", "failed", "pending", "sending", "deferred", "cancelled"]
KEYS = [None, "DQ-1", "dq-1", "DQ-2", "OPS-7"]


def old_overview(db, anomaly_ids):
    """The query the list ran before (verbatim), as the reference."""
    ids = [int(i) for i in anomaly_ids]
    with db.read() as cur:
        rows = cur.execute(
            "WITH ids AS (SELECT DISTINCT unnest(?::BIGINT[]) AS id),"
            f" judged AS ({_judged('anomaly_id IN (SELECT id FROM ids)')}),"
            " keys AS (SELECT anomaly_id, list(issue_key ORDER BY linked_at, id) AS keys"
            "  FROM ticket_links WHERE unlinked_at IS NULL"
            "  AND anomaly_id IN (SELECT id FROM ids) GROUP BY anomaly_id),"
            " log AS (SELECT anomaly_id,"
            "  count(*) FILTER (WHERE status IN ('pending', 'sending', 'deferred')) AS queued,"
            "  count(*) FILTER (WHERE status = 'failed' AND NOT superseded) AS failed"
            "  FROM judged GROUP BY anomaly_id)"
            " SELECT ids.id, coalesce(keys.keys, []::VARCHAR[]), coalesce(log.queued, 0),"
            " coalesce(log.failed, 0) FROM ids LEFT JOIN keys ON keys.anomaly_id = ids.id"
            " LEFT JOIN log ON log.anomaly_id = ids.id",
            [ids],
        ).fetchall()
    return {r[0]: TicketOverview(r[0], tuple(r[1]), r[2], r[3]) for r in rows}


def random_log(db, seed, rows=400, anomalies=8):
    rng = random.Random(seed)
    with db.transaction() as cur:
        for n in range(rows):
            SyncLog.insert_in(
                cur,
                now=NOW + timedelta(seconds=n),
                action=rng.choice(ACTIONS),
                mode="manual",
                status=rng.choice(STATUSES),
                anomaly_id=rng.randint(1, anomalies),
                connection_id=rng.choice([1, 1, 2, None]),
                ticket_key=rng.choice(KEYS),
                error="no",
            )
        for n in range(10):
            cur.execute(
                "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
                " created_by_us, linked_at, linked_by, unlinked_at)"
                " VALUES (?, 1, ?, ?, 'u', true, ?, 'ana', ?)",
                [rng.randint(1, anomalies), str(n), f"DQ-{n}", NOW, NOW if n % 4 == 0 else None],
            )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_overview_is_what_the_old_query_gave(tmp_path, seed):
    db = Database(tmp_path / "a.duckdb")
    random_log(db, seed)
    repo = AnomalyTicketRepository(db)
    for ids in (range(1, 10), [3, 3, 7, 999], list(range(2, 9, 3))):
        assert repo.ticket_overview(ids) == old_overview(db, ids)
    whole = old_overview(db, range(1, 10))
    # the comparison meets what it must: supersessions by a case-different key, and failures left
    assert sum(o.failed for o in whole.values()) > 0
    assert sum(o.queued for o in whole.values()) > 0
    assert any(o.ticket_keys for o in whole.values())
    with db.read() as cur:
        judged = cur.execute(
            f"SELECT action, count(*) FROM ({_judged('true')}) j JOIN sync_log USING (id)"
            " WHERE superseded GROUP BY action"
        ).fetchall()
    superseded = {a for a, _ in judged}
    assert "create" in superseded and superseded & {"link", "refresh"}  # a key decided one
    db.close()


def test_the_overview_is_kept_until_the_next_write(tmp_path):
    db = Database(tmp_path / "a.duckdb")
    repo = AnomalyTicketRepository(db)
    with db.transaction() as cur:
        SyncLog.insert_in(
            cur, now=NOW, action="create", mode="manual", status="failed", anomaly_id=3
        )
    assert repo.ticket_overview([3, 4])[3].failed == 1
    reads = []
    real = db.read
    db.read = lambda: reads.append(1) or real()  # an instance attribute: this database only
    assert AnomalyTicketRepository(db).ticket_overview([4, 3])[3].failed == 1
    assert reads == []  # the same rows, no write since: kept
    with db.transaction() as cur:  # a later good create supersedes the failure at once
        SyncLog.insert_in(cur, now=NOW, action="create", mode="manual", status="ok", anomaly_id=3)
    assert repo.ticket_overview([3, 4])[3].failed == 0
    assert reads == [1]
    with db.transaction() as cur:
        SyncLog.insert_in(
            cur, now=NOW, action="comment", mode="manual", status="pending", anomaly_id=4
        )
    assert repo.ticket_overview([3, 4]) == old_overview(db, [3, 4])
    assert repo.ticket_overview([3, 4])[4].queued == 1
    db.close()
