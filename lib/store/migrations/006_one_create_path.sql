-- 006: one create path. Every create (the New ticket dialog, the Tickets page,
-- the automation command) is an outbox row sent and reconciled by the engine.
--
-- idempotency_key: the label the create carries to Jira (anomaly-desk-<id> or
--   anomaly-desk-auto-<guid-slug>); a lost create is looked for by it, so a
--   create without an anomaly is reconciled (and retried from the Log) too.
-- submission_key: one press of Create in a dialog; a second submission of the
--   same dialog answers the first row's ticket instead of making another.
-- waits_on: a change made while its create is unconfirmed waits on that create
--   row; the engine fills its ticket columns when the create is confirmed.
-- rich_fields: every rich-text field of a create or update (description,
--   environment, textarea custom fields) as stored docs, rendered per
--   connection flavour at send time (body_doc keeps a comment's body).
-- automation_guid: the GUID whose ticket a create makes (automation_tickets is
--   filled from it when the create is confirmed).
ALTER TABLE sync_log ADD COLUMN IF NOT EXISTS idempotency_key VARCHAR;
ALTER TABLE sync_log ADD COLUMN IF NOT EXISTS submission_key VARCHAR;
ALTER TABLE sync_log ADD COLUMN IF NOT EXISTS waits_on BIGINT;
ALTER TABLE sync_log ADD COLUMN IF NOT EXISTS rich_fields VARCHAR;
ALTER TABLE sync_log ADD COLUMN IF NOT EXISTS automation_guid VARCHAR;
