-- 004: resets of the Statistics page's counters (Create, Update, Total).
-- A reset must not touch the log (the log is the history and the outbox), so
-- it is recorded here with its time and each counter counts only log rows
-- written after its latest reset. Every reset is kept (who and when), which
-- also answers "when was this last reset?". Log retention settings live in
-- app_settings (003) under keys prefixed 'log_retention_'; nothing new needed.
CREATE TABLE IF NOT EXISTS stats_resets (
    counter   VARCHAR NOT NULL CHECK (counter IN ('create', 'update', 'total')),
    reset_at  TIMESTAMP NOT NULL,
    reset_by  VARCHAR
);
