-- 012: per connection, whether archiving or reopening an anomaly moves its
-- linked tickets in Jira (issue 15, part 3). Off by default: the team's
-- workflow is theirs until someone asks for the move.
-- transition_by: 'category' finds the transition by its target's status
--   category (done; out of Done: indeterminate, else new), never by a
--   localised name; 'id' uses the transition ids below.
-- done_transition_id / reopen_transition_id: the chosen transitions (ids as
--   Jira gives them); an empty reopen id falls back to the status category.
-- (No IF NOT EXISTS on the NOT NULL columns: DuckDB refuses that pair; the
-- runner's stamp applies the file once.)
ALTER TABLE jira_connections ADD COLUMN move_tickets BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jira_connections ADD COLUMN transition_by VARCHAR NOT NULL DEFAULT 'category';
ALTER TABLE jira_connections ADD COLUMN IF NOT EXISTS done_transition_id VARCHAR;
ALTER TABLE jira_connections ADD COLUMN IF NOT EXISTS reopen_transition_id VARCHAR;
