-- 015: auto-ticket rules, what each did to each anomaly, and what rules know of their tickets.
--
-- ticket_rules: ordered (position), first match wins, each can be paused.
--   conditions_json and ticket_json are small JSON objects (lists of datastore
--   ids, tables, types, tags, check rule types, a weight range; project, issue
--   type, priority, labels, components, assignee) read and checked by
--   lib/tickets/rules.py: a new condition needs no migration.
-- rule_applications: one row per anomaly and connection once a rule handled it
--   (skipped, created, linked, seen again, reopened, failed), so a run never
--   handles an anomaly twice; the fingerprint and group key find the ticket a
--   later anomaly shares. A create Jira has not confirmed yet keeps its outbox
--   row id (create_log_id); its key is read from sync_log when it is confirmed.
-- rule_tickets: when a rule run first saw a ticket closed (Jira's done
--   category), so "closed less than N days ago" has a stable answer.
CREATE SEQUENCE IF NOT EXISTS ticket_rule_ids START 1;

CREATE TABLE IF NOT EXISTS ticket_rules (
    id               BIGINT PRIMARY KEY DEFAULT nextval('ticket_rule_ids'),
    position         INTEGER NOT NULL,
    name             VARCHAR NOT NULL,
    paused           BOOLEAN NOT NULL DEFAULT TRUE,
    action           VARCHAR NOT NULL CHECK (action IN ('ticket', 'skip')),
    conditions_json  VARCHAR NOT NULL,
    ticket_json      VARCHAR NOT NULL,
    group_by         VARCHAR NOT NULL CHECK (group_by IN ('none', 'table', 'datastore', 'check')),
    window_minutes   INTEGER NOT NULL,
    reopen_days      INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS rule_applications (
    anomaly_id     BIGINT NOT NULL,
    connection_id  BIGINT NOT NULL,
    rule_id        BIGINT NOT NULL,
    outcome        VARCHAR NOT NULL
                   CHECK (outcome IN ('skipped', 'created', 'linked', 'seen_again', 'reopened',
                                      'failed')),
    ticket_key     VARCHAR,
    create_log_id  BIGINT,
    fingerprint    VARCHAR NOT NULL,
    group_key      VARCHAR,
    detected_at    TIMESTAMP NOT NULL,
    applied_at     TIMESTAMP NOT NULL,
    note           VARCHAR,
    PRIMARY KEY (anomaly_id, connection_id)
);

CREATE TABLE IF NOT EXISTS rule_tickets (
    connection_id   BIGINT NOT NULL,
    ticket_key      VARCHAR NOT NULL,
    closed_seen_at  TIMESTAMP,
    PRIMARY KEY (connection_id, ticket_key)
);
