"""Build benchmark data the way the product does, fast enough for a million rows.

Every benchmark that needs a large database calls these functions, so each
one measures the same shapes. Decisions, and why:

- Rows are generated inside DuckDB from ``range()`` (seconds for 1M rows; a
  Python loop over the repository takes minutes), but every table whose ids
  the product draws from a sequence (``sync_log``, ``status_changes``,
  ``ticket_links``) gets them from that sequence here too: a database built
  with explicit ids could not take a new row afterwards (the next ``nextval``
  would collide with a built one). Anomaly ids come from the source system in
  the product (an import names them), so they are explicit here as well.
- ``search_text`` is filled as the repository fills it (container, fields and
  check messages, lower-cased), so the free-text filter meets real text.
- One to three failed checks per anomaly (two on average: 2,000,000 check rows
  at 1,000,000 anomalies), as a failed-check count per row must meet them.
- A fixed seed: two runs build the same data.

    from bench.build_data import build
    build(db, anomalies=100_000, log_rows=1_000_000, now=NOW)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lib.store.db import Database

DATASTORES = 8
TABLES = 400
FIELDS = 60
LOG_DAYS = 180


def build(db: Database, *, anomalies: int, log_rows: int, now: datetime, links: int = 0) -> None:
    """Fill an empty migrated database: anomalies with checks, log rows, ticket links."""
    if anomalies:
        build_anomalies(db, anomalies, now)
    if links:
        build_links(db, min(links, anomalies), now)
    if log_rows:
        build_log(db, log_rows, max(anomalies, 1), now)


def build_anomalies(db: Database, count: int, now: datetime, *, first_id: int = 1) -> None:
    """``count`` anomalies (ids ``first_id``..) with one to three failed checks each."""
    with db.transaction() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            "CREATE TEMP TABLE bench_anomaly_seed AS"
            " SELECT i, (1 + hash(i * 7) % ?)::BIGINT AS ds, (hash(i * 11) % ?)::BIGINT AS tbl,"
            " (hash(i * 13) % ?)::BIGINT AS fld, (1 + hash(i * 17) % 3)::BIGINT AS checks,"
            " random() AS r"
            " FROM range(?, ? + ?) t(i)",
            [DATASTORES, TABLES, FIELDS, first_id, first_id, count],
        )
        cur.execute(
            "INSERT INTO failed_checks"
            " SELECT i, p, (1 + hash(i * 31 + p) % 9999)::BIGINT, 'notNull',"
            " (1 + hash(i + p) % 999)::BIGINT || ' values in FIELD_' || fld || ' are null'"
            " FROM bench_anomaly_seed, range(checks) c(p)"
        )
        cur.execute(
            "INSERT INTO anomalies"
            " SELECT s.i, s.ds, 'Datastore ' || s.ds, 'TABLE_' || s.tbl, ['FIELD_' || s.fld],"
            " CASE WHEN s.i % 2 = 0 THEN 'shape' ELSE 'record' END,"
            " CASE WHEN s.r < 0.5 THEN 'Active' WHEN s.r < 0.75 THEN 'Acknowledged'"
            " ELSE 'Archived' END,"
            " CASE WHEN s.r >= 0.75 THEN 'Resolved' END,"
            " ?::TIMESTAMP - to_seconds((hash(s.i * 19) % (60 * 86400))::BIGINT), '',"
            " (1 + hash(s.i * 23) % 10)::INTEGER, [],"
            " lower('TABLE_' || s.tbl || ' FIELD_' || s.fld || ' ' || m.messages),"
            " ?::TIMESTAMP"
            " FROM bench_anomaly_seed s JOIN (SELECT anomaly_id,"
            " string_agg(message, ' ' ORDER BY position) AS messages FROM failed_checks"
            " WHERE anomaly_id >= ? GROUP BY anomaly_id) m ON m.anomaly_id = s.i ORDER BY s.i",
            [now, now, first_id],
        )
        cur.execute("DROP TABLE bench_anomaly_seed")


def build_links(db: Database, count: int, now: datetime) -> None:
    """Link the first ``count`` anomalies to one ticket each (ids from the sequence)."""
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO ticket_links (anomaly_id, connection_id, issue_id, issue_key, url,"
            " summary, status_name, status_category, priority, created_by_us, linked_at,"
            " linked_by, last_synced_at)"
            " SELECT i, 1, (10000 + i)::VARCHAR, 'DQ-' || i,"
            " 'https://jira.example/browse/DQ-' || i, 'Anomaly ' || i, 'To Do', 'new',"
            " 'Medium', TRUE, ?, 'analyst', ? FROM range(1, ? + 1) t(i)",
            [now, now, count],
        )


def build_log(db: Database, rows: int, anomalies: int, now: datetime) -> None:
    """``rows`` finished sync_log rows over the last 180 days (ids from ``sync_log_ids``)."""
    start = now - timedelta(days=LOG_DAYS)
    step_us = LOG_DAYS * 86_400_000_000 // max(rows, 1)
    with db.transaction() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            f"""
            INSERT INTO sync_log (created_at, action, mode, status, anomaly_id, connection_id,
                ticket_id, ticket_key, ticket_url, actor, error, error_kind, request_json,
                response_json, attempts, finished_at, permanent)
            SELECT ?::TIMESTAMP + to_microseconds((i * {step_us})::BIGINT), action,
                CASE WHEN r2 < 0.7 THEN 'automatic' ELSE 'manual' END, status,
                1 + (hash(i) % ?)::BIGINT, 1, (10000 + i % 90000)::VARCHAR,
                'DQ-' || (1 + i % 90000), 'https://jira.example/browse/DQ-' || (1 + i % 90000),
                'analyst',
                CASE WHEN status = 'failed' THEN
                    ['Jira answered 400: Field priority is required',
                     'Jira answered 503: Service unavailable',
                     'Timed out after 30 s', 'Jira answered 403: No permission'][1 + i % 4]
                END,
                CASE WHEN status = 'failed' THEN
                    ['validation', 'server', 'network', 'permission'][1 + i % 4]
                END,
                '{{"fields":{{"summary":"Anomaly ' || i || '"}}}}', '{{"id":"' || i || '"}}',
                1 + (i % 3), ?::TIMESTAMP, status = 'failed'
            FROM (SELECT i, r2,
                         CASE WHEN r1 < 0.22 THEN 'create' WHEN r1 < 0.45 THEN 'update'
                              WHEN r1 < 0.80 THEN 'comment' WHEN r1 < 0.90 THEN 'link'
                              WHEN r1 < 0.92 THEN 'unlink' ELSE 'refresh' END AS action,
                         CASE WHEN r3 < 0.9 THEN 'ok' ELSE 'failed' END AS status
                  FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3
                        FROM range(1, ? + 1) t(i)))
            ORDER BY i
            """,
            [start, anomalies, now, rows],
        )
