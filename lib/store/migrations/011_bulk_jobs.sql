-- 011: bulk jobs (the Anomalies page's and POST /api/anomalies/bulk's many-at-once actions).
--
-- A job is its outbox rows plus these two tables, so it keeps going when the
-- page is closed: the worker sends the rows, and a job's progress is read by
-- joining its items with their sync_log rows (nothing is copied back, so the
-- progress cannot disagree with the Log page).
-- bulk_jobs: one row per job: the action, who asked, its options as JSON
--   (archive reason, comment text, ticket key, ticket fields), and for a group
--   ticket the one create row every item shares. cancelled_at: Cancel pressed
--   (the job's pending rows became 'cancelled').
-- bulk_job_items: one row per anomaly of the job, in the selection's order.
--   sync_log_id: the outbox row whose status is this item's (its own create,
--   or the group's create); outcome/ticket_key/error: the result of an item
--   done at once, without an outbox row to read (acknowledge, archive,
--   comment, link, or an item refused before anything was queued).
CREATE SEQUENCE IF NOT EXISTS bulk_job_ids START 1;
CREATE TABLE IF NOT EXISTS bulk_jobs (
    id             BIGINT PRIMARY KEY DEFAULT nextval('bulk_job_ids'),
    action         VARCHAR NOT NULL
                   CHECK (action IN ('ticket_each', 'ticket_group', 'link', 'acknowledge',
                                     'archive', 'comment')),
    actor          VARCHAR NOT NULL,
    connection_id  BIGINT,
    params_json    VARCHAR NOT NULL,
    group_log_id   BIGINT,
    created_at     TIMESTAMP NOT NULL,
    cancelled_at   TIMESTAMP,
    cancelled_by   VARCHAR
);

CREATE TABLE IF NOT EXISTS bulk_job_items (
    job_id       BIGINT NOT NULL,
    position     INTEGER NOT NULL,
    anomaly_id   BIGINT NOT NULL,
    sync_log_id  BIGINT,
    outcome      VARCHAR CHECK (outcome IN ('done', 'failed')),
    ticket_key   VARCHAR,
    error        VARCHAR,
    PRIMARY KEY (job_id, anomaly_id)
);
CREATE INDEX IF NOT EXISTS bulk_job_items_log ON bulk_job_items (sync_log_id);
