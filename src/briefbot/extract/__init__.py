"""Pages into documents: `document` (bytes -> Document with trafilatura, pure, no fetching), `pool`
(worker processes with timeouts and recycling), `stage` (fetch, store, extract, fall back)."""
