-- 001: anomalies with their failed checks, comments and status history.
-- Lists (fields, tags) stay on the anomaly row: they are read with it and never
-- queried alone. Checks get a table of their own because the free-text filter
-- and the Jira description both read their messages.
-- search_text is a lower-cased copy of container, fields and check messages,
-- kept by the repository, so the free-text filter is one LIKE over one column.
CREATE TABLE IF NOT EXISTS anomalies (
    id              BIGINT PRIMARY KEY,
    datastore_id    BIGINT NOT NULL,
    datastore_name  VARCHAR NOT NULL,
    container       VARCHAR NOT NULL,
    fields          VARCHAR[] NOT NULL,
    anomaly_type    VARCHAR NOT NULL CHECK (anomaly_type IN ('shape', 'record')),
    status          VARCHAR NOT NULL CHECK (status IN ('Active', 'Acknowledged', 'Archived')),
    archive_reason  VARCHAR CHECK (archive_reason IN ('Resolved', 'Invalid', 'Duplicate', 'Discarded')),
    detected_at     TIMESTAMP NOT NULL,
    description     VARCHAR NOT NULL,
    weight          INTEGER NOT NULL,
    tags            VARCHAR[] NOT NULL,
    search_text     VARCHAR NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CHECK ((status = 'Archived') = (archive_reason IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS anomalies_detected ON anomalies (detected_at);

CREATE TABLE IF NOT EXISTS failed_checks (
    anomaly_id  BIGINT NOT NULL,
    position    INTEGER NOT NULL,
    check_id    BIGINT NOT NULL,
    rule_type   VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    PRIMARY KEY (anomaly_id, position)
);

CREATE SEQUENCE IF NOT EXISTS anomaly_comment_ids START 1;
CREATE TABLE IF NOT EXISTS anomaly_comments (
    id          BIGINT PRIMARY KEY DEFAULT nextval('anomaly_comment_ids'),
    anomaly_id  BIGINT NOT NULL,
    author      VARCHAR NOT NULL,
    body        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS anomaly_comments_anomaly ON anomaly_comments (anomaly_id);

CREATE SEQUENCE IF NOT EXISTS status_change_ids START 1;
CREATE TABLE IF NOT EXISTS status_changes (
    id           BIGINT PRIMARY KEY DEFAULT nextval('status_change_ids'),
    anomaly_id   BIGINT NOT NULL,
    changed_by   VARCHAR NOT NULL,
    changed_at   TIMESTAMP NOT NULL,
    from_status  VARCHAR,
    from_reason  VARCHAR,
    to_status    VARCHAR NOT NULL,
    to_reason    VARCHAR
);
CREATE INDEX IF NOT EXISTS status_changes_anomaly ON status_changes (anomaly_id);
