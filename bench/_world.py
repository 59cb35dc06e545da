"""A SYNTHETIC world for the pipeline benchmark and the chaos run: N candidate items for 3 briefs.

Everything here is generated from one integer seed, so two runs see byte-identical answers:
- three briefs: the seed brief (`fixtures/seed/open-model-capability-gap-v7.txt`, parsed by `briefbot.brief.textformat`) and
  two copies of it retitled "(synthetic copy B/C)", marked as synthetic in their scope;
- per brief: RSS feeds of up to `FEED_SIZE` items, plus three searches answered by a SearXNG-like
  JSON endpoint; a share of items is syndicated (the same article under a second URL in another
  feed of the same brief) and search answers repeat feed items (duplicates for the deduper);
- article pages of 5-50 KB of HTML (navigation, scripts, footer around the article), generated on
  request so the server holds no page in memory;
- a relevance marker in each article's first paragraph that the scripted LLM reads.

The servers live beside it: `_world_server.WorldServer` serves feeds/search/pages with a set latency
(and, for chaos, seeded faults); `_llm_server.LLMServer` is the OpenAI-compatible stand-in that
answers valid structured output; `_http` holds the loopback HTTP plumbing both use.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from briefbot.brief.textformat import parse_text
from briefbot.models import Brief

SEED_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "seed" / "open-model-capability-gap-v7.txt"
RUN_DATE = dt.date(2026, 6, 1)
# The briefbot of the Python running the bench (its venv), not whichever one PATH finds first.
BRIEFBOT = str(Path(sys.executable).parent / "briefbot")
FEED_SIZE = 100
RELEVANT_MARK = "Bench relevance marker: RELEVANT to the brief."
IRRELEVANT_MARK = "Bench relevance marker: off topic."
TRIAGE_MODEL = "bench-triage"
PROPOSE_MODEL = "bench-propose"
BASELINE_MODEL = "bench-baseline"
SLUGS = ("open-model-gap", "open-model-gap-b", "open-model-gap-c")
QUERIES = (
    "open model leaderboard",
    "capability gap evaluation",
    "open frontier funding",
)

_WORDS = [
    "model",
    "open",
    "weight",
    "benchmark",
    "evaluation",
    "leaderboard",
    "closed",
    "frontier",
    "lab",
    "release",
    "score",
    "agent",
    "coding",
    "gap",
    "compute",
    "funding",
    "coalition",
    "government",
    "analysis",
    "data",
    "training",
    "inference",
    "researchers",
    "claims",
    "results",
    "method",
    "harness",
    "report",
    "policy",
    "export",
    "chips",
    "market",
    "cost",
    "license",
    "community",
    "developers",
    "safety",
    "testing",
    "measure",
    "months",
    "behind",
    "ahead",
    "parity",
    "trend",
    "quarter",
    "public",
    "private",
    "sector",
]


def seed_brief() -> Brief:
    return parse_text(SEED_FILE.read_text(encoding="utf-8"), path=str(SEED_FILE))


def briefs() -> dict[str, Brief]:
    """The three benchmark briefs: the seed, and two retitled synthetic copies of it."""
    base = seed_brief()
    out = {SLUGS[0]: base}
    for slug, tag in zip(SLUGS[1:], ("B", "C"), strict=False):
        out[slug] = base.model_copy(update={"title": f"{base.title} (synthetic copy {tag})"})
    return out


@dataclass(frozen=True)
class Item:
    n: int
    brief: int  # index into SLUGS
    relevant: bool
    syndicated: bool  # also published under /syndicated/<n> in another feed of the brief
    size: int  # target HTML bytes
    published: dt.datetime

    @property
    def path(self) -> str:
        return f"/articles/{self.n}.html"

    @property
    def title(self) -> str:
        kind = "development" if self.relevant else "story"
        return (
            f"Bench item {self.n}: {kind} {_WORDS[self.n % len(_WORDS)]} {_WORDS[(self.n * 7) % len(_WORDS)]}"
        )

    @property
    def mark(self) -> str:
        return RELEVANT_MARK if self.relevant else IRRELEVANT_MARK


@dataclass
class World:
    """The items of a world of `n` candidates (syndicated copies and search repeats come on top)."""

    n: int
    seed: int = 7
    relevant_share: float = 0.05
    syndicated_share: float = 0.10
    feed_size: int = FEED_SIZE
    items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        start = dt.datetime.combine(RUN_DATE - dt.timedelta(days=7), dt.time(), dt.UTC)
        for n in range(self.n):
            size = int(min(50_000, max(5_000, rng.lognormvariate(9.7, 0.5))))  # median ~16 KB
            self.items.append(
                Item(
                    n=n,
                    brief=n % 3,
                    relevant=rng.random() < self.relevant_share,
                    syndicated=rng.random() < self.syndicated_share,
                    size=size,
                    published=start + dt.timedelta(minutes=rng.randrange(7 * 24 * 60)),
                )
            )

    def brief_items(self, b: int) -> list[Item]:
        return [i for i in self.items if i.brief == b]

    def feeds(self) -> dict[str, list[tuple[Item, bool]]]:
        """feed name -> [(item, syndicated copy?)]; names are `b<brief>-<k>`."""
        out: dict[str, list[tuple[Item, bool]]] = {}
        for b in range(3):
            entries = [(i, False) for i in self.brief_items(b)]
            chunks = [entries[k : k + self.feed_size] for k in range(0, len(entries), self.feed_size)] or [[]]
            for k, chunk in enumerate(chunks):
                out[f"b{b}-{k}"] = list(chunk)
            # Syndicated copies go into the next feed of the same brief (wrapping), like a wire service.
            for k, chunk in enumerate(chunks):
                target = f"b{b}-{(k + 1) % len(chunks)}"
                out[target] += [(i, True) for i, _ in chunk if i.syndicated]
        return out

    def search_results(self, b: int, query: str) -> list[Item]:
        """20 of the brief's items (relevant ones first): repeats of feed items, as real searches are."""
        pool = self.brief_items(b)
        rng = random.Random(f"{self.seed}:{b}:{query}")
        picked = sorted(pool, key=lambda i: (not i.relevant, rng.random()))[:20]
        return picked

    def candidates(self) -> int:
        """Entries a naive reader sees: feed entries (syndicated copies included) plus search results."""
        return sum(len(v) for v in self.feeds().values()) + sum(
            len(self.search_results(b, q)) for b in range(3) for q in brief_queries(b)
        )


def feeds_yaml(
    world: World,
    base: str,
    *,
    http: dict[str, Any] | None = None,
    llm: dict[str, Any] | None = None,
) -> str:
    """feeds.yaml for a root reading `world` at `base` (JSON is YAML)."""
    feeds = [
        {"name": name, "url": f"{base}/feeds/{name}.xml", "tags": [f"brief{name[1]}"]}
        for name in world.feeds()
    ]
    config = {
        "feeds": feeds,
        "search": [{"type": "searxng", "name": "searx", "base_url": f"{base}/searxng"}],
        "http": {"allow_private_networks": True, **(http or {})},
        "llm": {
            "triage_model": TRIAGE_MODEL,
            "propose_model": PROPOSE_MODEL,
            **(llm or {}),
        },
    }
    return "# SYNTHETIC benchmark root (bench/_world.py)\n" + json.dumps(config, indent=1) + "\n"


def write_root(root: Path, world: World, base: str, **config: Any) -> None:
    """A project root: feeds.yaml, three briefs (brief.yaml + published version)."""
    from briefbot.project import Project

    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds.yaml").write_text(feeds_yaml(world, base, **config), encoding="utf-8")
    project = Project(root)
    for b, (slug, brief) in enumerate(briefs().items()):
        folder = project.brief_dir(slug)
        folder.mkdir(parents=True, exist_ok=True)
        scope = f"SYNTHETIC benchmark brief {slug}: the open versus closed model capability gap."
        (folder / "brief.yaml").write_text(
            json.dumps(
                {
                    "scope": scope,
                    "queries": brief_queries(b),
                    "feeds": {"tags": [f"brief{b}"]},
                    "active": True,
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        project.publish(slug, brief)


# -- content -------------------------------------------------------------------------------------
def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randrange(8, 20))]
    return " ".join(words).capitalize() + "."


def article_html(item: Item, seed: int) -> bytes:
    """The article page: boilerplate around 5-50 KB of prose with the relevance marker up front."""
    rng = random.Random(f"{seed}:page:{item.n}")
    head = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(item.title)}</title>"
        f"<meta property='article:published_time' content='{item.published.isoformat()}'>"
        "<script>window.analytics={q:[],track:function(e){this.q.push(e)}};</script>"
        "<style>body{font-family:serif}nav a{margin:0 4px}</style></head><body>"
        "<nav>" + "".join(f"<a href='/section/{w}'>{w}</a>" for w in _WORDS[:25]) + "</nav>"
        f"<article><h1>{escape(item.title)}</h1><p class='byline'>By Bench Wire, "
        f"{item.published:%d %B %Y}</p><p>{item.mark} Item {item.n} reports on "
        f"{_WORDS[item.n % len(_WORDS)]} in open models.</p>"
    )
    tail = (
        "</article><aside><h2>Related</h2><ul>"
        + "".join(
            f"<li><a href='/articles/{rng.randrange(10**6)}.html'>Related {k}</a></li>" for k in range(8)
        )
        + "</ul></aside><footer>Copyright Bench Wire. All rights reserved. Privacy. Terms.</footer></body></html>"
    )
    parts = [head]
    size = len(head) + len(tail)
    while size < item.size:
        para = "<p>" + " ".join(_sentence(rng) for _ in range(rng.randrange(3, 7))) + "</p>"
        parts.append(para)
        size += len(para)
    parts.append(tail)
    return "".join(parts).encode("utf-8")


def summary(item: Item) -> str:
    return f"{item.mark} Item {item.n}: a short summary of a story about open models."


Links = Callable[[int], str]  # item number -> base URL of its site


def feed_xml(world: World, name: str, base: str, links: Links) -> bytes:
    entries = []
    for item, copy in world.feeds()[name]:
        link = f"{links(item.n + 1)}/syndicated/{item.n}.html" if copy else f"{links(item.n)}{item.path}"
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            f"<description>{escape(summary(item))}</description></item>"
        )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{name}</title>"
        f"<link>{base}/</link><description>SYNTHETIC bench feed</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode("utf-8")


def brief_queries(b: int) -> list[str]:
    return [f"{q} b{b}" for q in QUERIES]


def search_json(world: World, query: str, links: Links) -> bytes:
    m = re.search(r" b(\d)$", query)
    results = []
    if m and int(m.group(1)) < 3:
        for item in world.search_results(int(m.group(1)), query):
            results.append(
                {
                    "url": f"{links(item.n)}{item.path}",
                    "title": item.title,
                    "content": summary(item),
                    "publishedDate": item.published.isoformat(),
                    "engine": "bench",
                }
            )
    return json.dumps({"query": query, "results": results}).encode("utf-8")
