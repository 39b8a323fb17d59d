-- 008: the REST API's idempotent creates.
--
-- A script that lost the answer to POST .../tickets retries with the same
-- Idempotency-Key header; it must get the first answer back and no second
-- ticket. The key is kept with a fingerprint of the request it came with (a
-- reused key on a different request is refused), the answer that was given,
-- and the outbox row, so an answer that was "pending" can be completed later.
CREATE TABLE IF NOT EXISTS api_idempotency (
    idempotency_key  VARCHAR PRIMARY KEY,
    fingerprint      VARCHAR NOT NULL,
    status_code      INTEGER NOT NULL,
    response_json    VARCHAR NOT NULL,
    sync_log_id      BIGINT,
    created_at       TIMESTAMP NOT NULL
);
