-- 017: a create row knows whether changes wait on it.
--
-- Why: confirming a create gave its ticket to the rows waiting on it in the
-- same UPDATE (WHERE id = create OR waits_on = create). The OR kept DuckDB
-- from looking the create up by id, so every confirmed create scanned the
-- whole log (~3 ms more at a million rows) and evaluated a CASE per column,
-- although almost no create has waiters. Now inserting a row with waits_on
-- sets has_waiters on its create, in the same transaction
-- (lib/store/sync_log.py), and a confirmed create updates its waiters only
-- when it has any.
ALTER TABLE sync_log ADD COLUMN has_waiters BOOLEAN DEFAULT FALSE;

UPDATE sync_log SET has_waiters = TRUE
WHERE id IN (SELECT waits_on FROM sync_log WHERE waits_on IS NOT NULL);
