-- The run date (the night) whose triage last set an item's status for a brief, so a second run of
-- the same night can weigh tonight's items together again. NULL for links triaged before this.
ALTER TABLE item_briefs ADD COLUMN night TEXT;
