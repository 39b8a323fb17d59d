-- 005: tickets made by the automation command (and by the Tickets page
-- without an anomaly), found again by the GUID of the request that made them.
--
-- An automation caller retries with the same GUID, so a CREATE for a known GUID
-- must answer the existing ticket instead of making a second one, and an UPDATE
-- must find the ticket its CREATE made. The row is written (ticket columns
-- NULL, attempted_at set) *before* the POST: a row without a key means "sent,
-- answer not confirmed", and the next CREATE with that GUID first looks for the
-- issue by its label (anomaly-desk-auto-<guid-slug>) before sending again.
-- These tickets have no anomaly, so they are not in ticket_links (whose
-- anomaly_id is required and whose rows the worker refreshes per anomaly).
CREATE TABLE IF NOT EXISTS automation_tickets (
    guid           VARCHAR PRIMARY KEY,
    connection_id  BIGINT NOT NULL,
    ticket_id      VARCHAR,
    ticket_key     VARCHAR,
    ticket_url     VARCHAR,
    created_at     TIMESTAMP,            -- when Jira confirmed it (NULL: not yet)
    attempted_at   TIMESTAMP NOT NULL,   -- the latest POST
    request_id     VARCHAR NOT NULL      -- also stored as an issue property: proves it is ours
);
