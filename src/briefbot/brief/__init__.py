"""The brief as text: the seed's own format with an exact round trip (`textformat`), rendering to
text, Markdown, HTML and JSON (`render`), and word-level diffs between versions (`diff`). Pure."""
