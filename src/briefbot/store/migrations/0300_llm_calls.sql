-- One row per LLM exchange (and per cache hit), written before its result is used.
-- `fingerprint` identifies the logical request (model, messages, schema); a row with
-- outcome 'ok' holds the validated answer, which is the cache for that fingerprint.
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    stage TEXT NOT NULL,
    brief TEXT NOT NULL,
    model TEXT NOT NULL,
    service_tier TEXT,
    template TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    ask INTEGER NOT NULL,               -- 1 = first ask, 2 = the re-ask after an invalid answer
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    latency_ms INTEGER,
    attempts INTEGER NOT NULL,          -- HTTP attempts (0 for a cache hit)
    outcome TEXT NOT NULL,              -- ok | cached | invalid | refusal | length | content_filter | http_error
    error TEXT,
    cost_usd REAL,
    result TEXT                          -- the validated JSON answer when outcome = 'ok'
);
CREATE INDEX IF NOT EXISTS llm_calls_fingerprint ON llm_calls (fingerprint, outcome);
CREATE INDEX IF NOT EXISTS llm_calls_brief ON llm_calls (brief, stage);
