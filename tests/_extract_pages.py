"""Helpers for the extract tests: corpus pages, the benchmark's shingle overlap, synthetic pages."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

_TOKEN = re.compile(r"\w+")

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour plan approved | The Coast Courier</title>
<meta property="og:site_name" content="The Coast Courier">
<meta name="author" content="Ada Lovelace">
<meta property="article:published_time" content="2024-03-05T09:00:00Z">
<script>var trackingSecret = "SCRIPTSECRET"; document.write("SCRIPTSECRET");</script>
</head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Harbour plan approved</h1>
{paragraphs}
</article>
<script>console.log("SCRIPTSECRET")</script>
<div class="comments" id="comments"><h3>Comments</h3><p>COMMENTTEXT this is a reader comment that should not be in the article body at all.</p></div>
<footer>Copyright The Coast Courier</footer></body></html>"""

PARAGRAPH = (
    "<p>The council approved the harbour expansion plan on Tuesday after a long debate about the "
    "cost of dredging, the fate of the fishing fleet and the traffic the new quay will bring. {n}</p>"
)


def article_html(paragraphs: int = 6) -> str:
    return ARTICLE.format(paragraphs="\n".join(PARAGRAPH.format(n=i) for i in range(paragraphs)))


def shingle_overlap(true: str, pred: str, n: int = 4) -> tuple[float, float]:
    """Precision and recall of word 4-gram shingles, as the scrapinghub benchmark counts them."""

    def grams(text: str) -> Counter:
        tokens = _TOKEN.findall(text)
        return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))

    t, p = grams(true), grams(pred)
    tp = sum((t & p).values())
    return tp / max(1, sum(p.values())), tp / max(1, sum(t.values()))


def scrapinghub_page(corpora: Path, page_id: str) -> tuple[bytes, dict]:
    root = corpora / "extraction" / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))[page_id]
    return gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes()), truth


def mediacloud_page(corpora: Path, file_name: str) -> tuple[bytes, str, str]:
    root = corpora / "extraction" / "htmldate_mediacloud"
    gold = json.loads((root / "eval.json").read_text(encoding="utf-8"))
    for url, entry in gold.items():
        if entry["file"] == f"html/{file_name}":
            return (
                gzip.decompress((root / entry["file"]).read_bytes()),
                url,
                entry["date"],
            )
    raise KeyError(file_name)
