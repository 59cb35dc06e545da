-- 1 when `published` is only the fetch time (the feed or search result gave no date), so later
-- stages never cite it as a source's date. Items stored before this migration count as dated.
ALTER TABLE items ADD COLUMN published_is_fetch_time INTEGER NOT NULL DEFAULT 0;
