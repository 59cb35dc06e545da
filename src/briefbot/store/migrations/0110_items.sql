-- Collected items, stored once each (unique canonical URL), and the briefs they are candidates for.
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,          -- canonical URL, the dedupe key
    link TEXT NOT NULL,                -- as the feed or provider gave it
    guid TEXT,
    guid_key TEXT,                     -- global GUID, or origin#guid for feed-local ones
    title TEXT NOT NULL,
    summary TEXT,
    published TEXT NOT NULL,           -- ISO 8601 UTC
    origin TEXT NOT NULL,              -- feed:<name> | reactive:<slug>
    publisher TEXT,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_guid_key ON items (guid_key);
CREATE INDEX IF NOT EXISTS items_content_hash ON items (content_hash);
CREATE INDEX IF NOT EXISTS items_published ON items (published);

-- Other canonical URLs found to be copies of an item (syndication, tracking variants), so a later
-- run recognises them by URL alone.
CREATE TABLE IF NOT EXISTS item_aliases (
    url TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    seen_at TEXT NOT NULL
);

-- An item is a candidate for a brief; later stages move `status` along
-- (new -> extracted -> triaged -> relevant | irrelevant -> proposed ...).
CREATE TABLE IF NOT EXISTS item_briefs (
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    brief TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (item_id, brief)
);
CREATE INDEX IF NOT EXISTS item_briefs_status ON item_briefs (brief, status);
