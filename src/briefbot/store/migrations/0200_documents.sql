-- One extracted document per collected item: the page's text and metadata, or the feed summary
-- used instead (with the reason). Keyed by item id without a foreign key so extraction can also
-- store documents for items of an older or external items table; `url` is the canonical URL.
CREATE TABLE IF NOT EXISTS documents (
    item_id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('extracted', 'fallback', 'failed')),
    title TEXT,
    author TEXT,
    date TEXT,                          -- original publication date, YYYY-MM-DD
    sitename TEXT,
    language TEXT,
    text TEXT NOT NULL,
    text_source TEXT NOT NULL CHECK (text_source IN ('page', 'summary')),
    fallback_reason TEXT,
    error TEXT,
    raw_sha256 TEXT,                    -- the stored page: .briefbot/pages/<sha[:2]>/<sha>
    content_type TEXT,
    extracted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_url ON documents (url);
CREATE INDEX IF NOT EXISTS documents_outcome ON documents (outcome);
