-- 007: the REST API's idempotent creates.
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

-- Named API tokens, made and revoked on the Settings page (beside the token
-- file, which stays for the command line). Only a SHA-256 of each token is
-- kept: a token is 32 random bytes, so its hash cannot be searched back, and
-- the database never holds a usable secret. Revoking stamps revoked_at; the
-- row stays so the Settings page shows who had access.
CREATE SEQUENCE IF NOT EXISTS api_tokens_id_seq;
CREATE TABLE IF NOT EXISTS api_tokens (
    id            BIGINT PRIMARY KEY DEFAULT nextval('api_tokens_id_seq'),
    name          VARCHAR NOT NULL,
    token_sha256  VARCHAR NOT NULL UNIQUE,
    hint          VARCHAR NOT NULL,      -- the first 8 characters, to tell tokens apart
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    last_used_at  TIMESTAMP
);
