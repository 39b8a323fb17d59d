-- 003: the Jira sync engine: one table is both the durable outbox and the
-- create/update log, plus the links between anomalies and Jira issues and a
-- small key/value table for settings the operator changes (update rate limit).
--
-- sync_log: every call to Jira writes one row. Outbound changes (create,
-- comment) are written as 'pending' in the same transaction as the anomaly
-- change, then sent by the worker. 'sending' is the transient claim taken
-- before an HTTP call (the log page shows it as Pending); a 'sending' row left
-- by a dead process means "the answer was lost": it is reconciled, never
-- blindly re-sent. Columns stay flat (no JSON to unpack) so the log page can
-- filter and page 1,000,000 rows in SQL. No ART index on purpose: rows are
-- appended in id/time order, so DuckDB's per-row-group zone maps already prune
-- time ranges, while an ART index costs memory on every row and turns updates
-- of indexed columns into delete+insert.
CREATE SEQUENCE IF NOT EXISTS sync_log_ids START 1;
CREATE TABLE IF NOT EXISTS sync_log (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('sync_log_ids'),
    created_at         TIMESTAMP NOT NULL,
    action             VARCHAR NOT NULL
                       CHECK (action IN ('create', 'update', 'comment', 'link', 'unlink', 'refresh')),
    mode               VARCHAR NOT NULL CHECK (mode IN ('manual', 'automatic')),
    status             VARCHAR NOT NULL
                       CHECK (status IN ('pending', 'sending', 'ok', 'failed', 'deferred')),
    anomaly_id         BIGINT,
    connection_id      BIGINT,
    link_id            BIGINT,
    ticket_id          VARCHAR,
    ticket_key         VARCHAR,
    ticket_url         VARCHAR,
    actor              VARCHAR,
    error              VARCHAR,
    request_json       VARCHAR,   -- what is sent, secrets removed
    response_json      VARCHAR,   -- Jira's answer, trimmed
    latency_ms         DOUBLE,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMP,
    sent_at            TIMESTAMP,
    finished_at        TIMESTAMP,
    permanent          BOOLEAN NOT NULL DEFAULT FALSE,
    needs_reconcile    BOOLEAN NOT NULL DEFAULT FALSE,  -- a POST may have landed: look first
    reconcile_miss_at  TIMESTAMP,  -- first time a reconciliation did not find the create
    claimed_by         VARCHAR,    -- the process that holds a 'sending' row
    body_text          VARCHAR,    -- exact comment text: compared with Jira's comments
    body_doc           VARCHAR,    -- the rich text (comment body / description) as JSON
    request_id         VARCHAR     -- a create's id, also stored as an issue property
);

CREATE SEQUENCE IF NOT EXISTS ticket_link_ids START 1;
CREATE TABLE IF NOT EXISTS ticket_links (
    id               BIGINT PRIMARY KEY DEFAULT nextval('ticket_link_ids'),
    anomaly_id       BIGINT NOT NULL,
    connection_id    BIGINT NOT NULL,
    issue_id         VARCHAR NOT NULL,
    issue_key        VARCHAR NOT NULL,
    url              VARCHAR NOT NULL,
    summary          VARCHAR,
    status_name      VARCHAR,
    status_category  VARCHAR,
    priority         VARCHAR,
    created_by_us    BOOLEAN NOT NULL,
    linked_at        TIMESTAMP NOT NULL,
    linked_by        VARCHAR NOT NULL,
    last_synced_at   TIMESTAMP,
    unlinked_at      TIMESTAMP,
    unlinked_by      VARCHAR
);
CREATE INDEX IF NOT EXISTS ticket_links_anomaly ON ticket_links (anomaly_id);

CREATE TABLE IF NOT EXISTS app_settings (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);
