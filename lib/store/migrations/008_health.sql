-- 008: the integration's health, failure kinds, and two new outbox words.
--
-- sync_log's CHECK constraints cannot be altered in DuckDB, so the table is
-- rebuilt once (same columns, same order, the same sequence) to allow:
--   action 'transition': move a linked ticket into or out of Jira's Done;
--   status 'cancelled': a row a person gave up before it was sent (a bulk
--   job's Cancel); it is finished and never sent.
-- error_kind: the kind of the last failed attempt (authentication,
--   permission, validation, not_found, rate_limited, network, server, other),
--   from lib.jira.errors.error_kind, so the Log filters and the Statistics
--   page counts failures by kind without parsing texts.
CREATE TABLE sync_log_008 (
    id                 BIGINT PRIMARY KEY DEFAULT nextval('sync_log_ids'),
    created_at         TIMESTAMP NOT NULL,
    action             VARCHAR NOT NULL
                       CHECK (action IN ('create', 'update', 'comment', 'link', 'unlink', 'refresh',
                                          'transition')),
    mode               VARCHAR NOT NULL CHECK (mode IN ('manual', 'automatic')),
    status             VARCHAR NOT NULL
                       CHECK (status IN ('pending', 'sending', 'ok', 'failed', 'deferred',
                                          'cancelled')),
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
    request_id         VARCHAR,    -- a create's id, also stored as an issue property
    idempotency_key    VARCHAR,
    submission_key     VARCHAR,
    waits_on           BIGINT,
    rich_fields        VARCHAR,
    automation_guid    VARCHAR,
    error_kind         VARCHAR     -- lib.jira.errors.ErrorKind of the last failed attempt
);

CREATE SEQUENCE IF NOT EXISTS ticket_link_ids START 1;

INSERT INTO sync_log_008 BY NAME SELECT * FROM sync_log;
DROP TABLE sync_log;
ALTER TABLE sync_log_008 RENAME TO sync_log;

-- integration_health: one row per connection. The engine records every call's
-- outcome; the row changes only when the state does (a run of successes
-- writes nothing), so the hot path stays one statement-free check in memory.
-- state: connected | degraded | failing. A failing integration pauses
-- automation (rules, the automation command) until a person resumes it.
CREATE TABLE IF NOT EXISTS integration_health (
    connection_id             BIGINT PRIMARY KEY,
    state                     VARCHAR NOT NULL
                              CHECK (state IN ('connected', 'degraded', 'failing')),
    reason                    VARCHAR,
    kind                      VARCHAR,
    consecutive_failures      INTEGER NOT NULL DEFAULT 0,
    consecutive_rate_limited  INTEGER NOT NULL DEFAULT 0,
    since                     TIMESTAMP,
    last_success_at           TIMESTAMP,
    resumed_at                TIMESTAMP,
    resumed_by                VARCHAR
);
