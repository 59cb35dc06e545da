-- Which template files made a call's messages, now that a project's own prompts/ can override
-- the packaged ones: comma-separated in the order read, `builtin:triage.system.j2` for a packaged
-- template, `prompts/triage.system.j2` for the project's. NULL on rows logged before this column.
ALTER TABLE llm_calls ADD COLUMN template_files TEXT;
