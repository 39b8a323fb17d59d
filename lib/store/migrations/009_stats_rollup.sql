-- 009: statistics that outlive the log: a rollup written with every finished
-- log row, and counter resets as baselines.
--
-- Why: the Statistics page counted sync_log rows, so the log's retention
-- cleanup (Maximum entries, Maximum age) changed the counts, and per-counter
-- resets let Total drift away from Create + Update. Now statistics read
-- sync_stats, which only ever grows: the same transaction that finishes a log
-- row (ok, failed, retried after a transient error, deferred by the update
-- limit) adds one to its slot, and the cleanup never touches it.
--
-- Grain: 15-minute slots of the row's created_at in UTC (the time the Log page
-- shows). Every current IANA offset is a multiple of 15 minutes (India +5:30,
-- Nepal +5:45, Chatham +12:45), so any time zone's day is an exact sum of
-- slots; per hour would be wrong by 30 or 45 minutes in those zones, and per
-- minute would only make the table 15x bigger for nothing.
--
-- sync_stats: calls per (slot, action, mode, outcome, error_kind); error_kind is
--   '' for ok and deferred, a lib.jira.errors.ErrorKind otherwise; latency sums
--   and waited_s (the wait before the next try, e.g. a 429's Retry-After).
--   Append-only, no key: each outcome appends a row (~1 ms in the finishing
--   transaction; an upsert on a key costs 10-25 ms in DuckDB), readers sum,
--   and the log's cleanup merges each key's rows into one (counts unchanged).
-- sync_latency_stats: calls per (slot, latency bin) for p50/p95 without the
--   rows: bin b holds latencies in [2^(b/4), 2^((b+1)/4)) ms (each bin ~19%
--   wide, so a percentile read from it is within ~10%).
-- stats_baselines: a reset is the all-time counts at that moment (when, by
--   whom); counters since the reset are the counts now minus the latest
--   baseline. One baseline for all counters, so Total = Create + Update always.
--   The old per-counter resets (004) become baselines of the counts before
--   each reset time; stats_resets is dropped.
CREATE TABLE IF NOT EXISTS sync_stats (
    slot            TIMESTAMP NOT NULL,
    action          VARCHAR NOT NULL,
    mode            VARCHAR NOT NULL,
    outcome         VARCHAR NOT NULL CHECK (outcome IN ('ok', 'failed', 'retried', 'deferred')),
    error_kind      VARCHAR NOT NULL,
    calls           BIGINT NOT NULL,
    latency_calls   BIGINT NOT NULL,
    latency_ms_sum  DOUBLE NOT NULL,
    waited_s        DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS sync_latency_stats (
    slot   TIMESTAMP NOT NULL,
    bin    INTEGER NOT NULL,
    calls  BIGINT NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS stats_baseline_ids START 1;
CREATE TABLE IF NOT EXISTS stats_baselines (
    id        BIGINT PRIMARY KEY DEFAULT nextval('stats_baseline_ids'),
    reset_at  TIMESTAMP NOT NULL,
    reset_by  VARCHAR,
    created   BIGINT NOT NULL,   -- Create's all-time count at the reset
    updated   BIGINT NOT NULL    -- Update's all-time count at the reset
);

-- The log as it is now, once: its finished rows' final outcomes.
INSERT INTO sync_stats
SELECT time_bucket(INTERVAL 15 MINUTE, created_at), action, mode, status,
       CASE WHEN status = 'failed' THEN coalesce(error_kind, 'other') ELSE '' END,
       count(*), count(latency_ms), coalesce(sum(latency_ms), 0), 0
FROM sync_log WHERE status IN ('ok', 'failed')
GROUP BY ALL ORDER BY 1;  -- in time order, as rows are added later: ranges skip row groups

INSERT INTO sync_latency_stats
SELECT time_bucket(INTERVAL 15 MINUTE, created_at),
       least(greatest(floor(4 * log2(greatest(latency_ms, 1))), 0), 99)::INTEGER, count(*)
FROM sync_log WHERE status IN ('ok', 'failed') AND latency_ms IS NOT NULL
GROUP BY ALL ORDER BY 1;

INSERT INTO stats_baselines (reset_at, reset_by, created, updated)
SELECT r.reset_at, r.reset_by,
       (SELECT count(*) FROM sync_log l
         WHERE l.status = 'ok' AND l.action = 'create' AND l.created_at < r.reset_at),
       (SELECT count(*) FROM sync_log l
         WHERE l.status = 'ok' AND l.action IN ('update', 'comment') AND l.created_at < r.reset_at)
FROM stats_resets r ORDER BY r.reset_at;

DROP TABLE stats_resets;
