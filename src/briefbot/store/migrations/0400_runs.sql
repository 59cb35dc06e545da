-- The run ledger: one row per run, one per stage (and brief) as it progresses.
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    run_date TEXT NOT NULL,
    mode TEXT NOT NULL,            -- live | record | replay
    status TEXT NOT NULL,          -- running | done | failed | partial | idle
    exit_code INTEGER,
    report TEXT                    -- JSON of the closing report
);
CREATE TABLE IF NOT EXISTS run_stages (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    stage TEXT NOT NULL,
    brief TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,          -- running | done | failed
    started_at TEXT NOT NULL,
    finished_at TEXT,
    seconds REAL,
    counts TEXT,                   -- JSON
    PRIMARY KEY (run_id, stage, brief)
);
