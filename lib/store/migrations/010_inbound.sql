-- 010: Jira's side comes back. The worker polls linked tickets (batched, only
-- those updated since the last poll) and keeps here what Jira says, so pages
-- read it without a call and the next poll knows what changed.
--
-- jira_ticket_state: one row per link, what Jira said last: resolution,
--   assignee, the status category's colour, Jira's own "updated" (the poll's
--   dedupe: the one-minute overlap of JQL's minute-precision dates returns
--   some issues twice; an unchanged "updated" means nothing to do), the key it
--   had before a move (moved_from, moved_at; moved_noted once a person saw it)
--   and gone_at / gone_reason when Jira answers 404 or 403 for its id.
-- jira_comments: comments read from Jira, once each (the primary key), with
--   ours: written by the connection's own account or matching a comment id we
--   recorded when we sent it. Ours are never shown as Jira activity, and none
--   of these rows is ever sent to Jira: nothing can loop.
-- jira_poll_state: per connection, when the last poll started (the next
--   one's "updated >=" bound) and last swept every link (deletions only show
--   when an issue is asked for by id), and the account that polls.
-- drift_daily: the Reconciliation page's chart, counts per reason per day,
--   written by each poll (the day's last count wins).
-- jira_connections.done_comes_back: per connection, off by default: when every
--   linked ticket of an anomaly reaches Jira's Done, archive the anomaly.
CREATE TABLE IF NOT EXISTS jira_ticket_state (
    link_id        BIGINT PRIMARY KEY,
    resolution     VARCHAR,
    assignee       VARCHAR,
    status_color   VARCHAR,
    jira_updated   TIMESTAMP,
    polled_at      TIMESTAMP NOT NULL,
    moved_from     VARCHAR,
    moved_at       TIMESTAMP,
    moved_noted    BOOLEAN NOT NULL DEFAULT FALSE,
    gone_at        TIMESTAMP,
    gone_reason    VARCHAR
);

CREATE TABLE IF NOT EXISTS jira_comments (
    connection_id  BIGINT NOT NULL,
    issue_id       VARCHAR NOT NULL,
    comment_id     VARCHAR NOT NULL,
    author         VARCHAR,
    author_id      VARCHAR,
    created_at     TIMESTAMP,
    body_text      VARCHAR NOT NULL,
    ours           BOOLEAN NOT NULL,
    seen_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, issue_id, comment_id)
);

CREATE TABLE IF NOT EXISTS jira_poll_state (
    connection_id    BIGINT PRIMARY KEY,
    last_started_at  TIMESTAMP,
    last_swept_at    TIMESTAMP,
    account_id       VARCHAR,
    time_zone        VARCHAR
);

CREATE TABLE IF NOT EXISTS drift_daily (
    day            DATE NOT NULL,
    connection_id  BIGINT NOT NULL,
    reason         VARCHAR NOT NULL,
    anomalies      INTEGER NOT NULL,
    PRIMARY KEY (day, connection_id, reason)
);

ALTER TABLE jira_connections ADD COLUMN IF NOT EXISTS done_comes_back BOOLEAN DEFAULT FALSE;
