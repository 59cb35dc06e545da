-- One row per feed fetch of a collection, whatever its outcome: feed health (`briefbot feeds list`,
-- the web's /feeds page) reads last success, last error, new items and the 304 rate from it.
CREATE TABLE IF NOT EXISTS feed_fetches (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,                -- the feed's name in feeds.yaml
    url TEXT NOT NULL,
    fetched_at TEXT NOT NULL,          -- ISO 8601 UTC
    status INTEGER,                    -- HTTP status; NULL when no answer arrived
    not_modified INTEGER NOT NULL DEFAULT 0,
    entries INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    error TEXT                         -- NULL on success
);
CREATE INDEX IF NOT EXISTS feed_fetches_feed ON feed_fetches (feed, fetched_at);
