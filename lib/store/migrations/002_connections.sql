-- 002: Jira connections, with their last check and the defaults for new tickets.
-- Rows are soft-deleted (deleted_at) and never removed: links made through a
-- connection keep pointing at its id as history.
-- Two rows have fixed ids so links made without a stored connection still name
-- one: 0 is the demo sandbox (host and credentials come from the code at run
-- time) and -1 the connection from secrets.toml (its secret never enters this
-- table). User connections count up from 1.
-- secret_sealed holds the Fernet-encrypted token or password; the key lives
-- outside the database (environment, secrets.toml or a 0600 key file).
-- At most one user row is active; the repository keeps that in one transaction.
CREATE SEQUENCE IF NOT EXISTS jira_connection_ids START 1;
CREATE TABLE IF NOT EXISTS jira_connections (
    id               BIGINT PRIMARY KEY DEFAULT nextval('jira_connection_ids'),
    source           VARCHAR NOT NULL CHECK (source IN ('user', 'demo', 'secrets')),
    kind             VARCHAR NOT NULL CHECK (kind IN ('cloud', 'dc', 'sandbox')),
    flavour          VARCHAR NOT NULL CHECK (flavour IN ('cloud', 'dc')),
    host             VARCHAR,
    auth_type        VARCHAR NOT NULL CHECK (auth_type IN ('basic', 'bearer')),
    username         VARCHAR,
    secret_sealed    VARCHAR,
    api_prefix       VARCHAR,
    trust_env        BOOLEAN NOT NULL DEFAULT TRUE,
    ca_bundle        VARCHAR,
    active           BOOLEAN NOT NULL DEFAULT FALSE,
    check_status     VARCHAR CHECK (check_status IN ('ok', 'failed')),
    checked_at       TIMESTAMP,
    check_message    VARCHAR,
    account_name     VARCHAR,
    project_key      VARCHAR,
    issue_type_id    VARCHAR,
    issue_type_name  VARCHAR,
    priority_name    VARCHAR,
    public_url       VARCHAR,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    deleted_at       TIMESTAMP,
    CHECK (source <> 'user' OR (host IS NOT NULL AND secret_sealed IS NOT NULL))
);

INSERT INTO jira_connections (id, source, kind, flavour, auth_type, created_at, updated_at)
VALUES (0, 'demo', 'sandbox', 'cloud', 'basic', now()::TIMESTAMP, now()::TIMESTAMP)
ON CONFLICT (id) DO NOTHING;
