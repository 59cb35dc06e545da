"""A SYNTHETIC world for the pipeline benchmark and the chaos run: N candidate items for 3 briefs.

Everything here is generated from one integer seed, so two runs see byte-identical answers:
- three briefs: the seed brief (`/work/shared/seeds/000_...txt`, parsed by `briefbot.textformat`) and
  two copies of it retitled "(synthetic copy B/C)", marked as synthetic in their scope;
- per brief: RSS feeds of up to `FEED_SIZE` items, plus three searches answered by a SearXNG-like
  JSON endpoint; a share of items is syndicated (the same article under a second URL in another
  feed of the same brief) and search answers repeat feed items (duplicates for the deduper);
- article pages of 5-50 KB of HTML (navigation, scripts, footer around the article), generated on
  request so the server holds no page in memory;
- a relevance marker in each article's first paragraph that the scripted LLM reads.

`WorldServer` serves feeds/search/pages with a set latency (and, for chaos, seeded faults);
`LLMServer` is an OpenAI-compatible Chat Completions server with a set latency that answers valid
structured output, counts calls and prompt tokens, and measures how much of each prompt is an
unchanged prefix of the previous prompt of the same stage and brief (what a prompt cache serves).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from briefbot.models import Brief
from briefbot.textformat import parse_text

SEED_FILE = Path("/work/shared/seeds/000_e80d5fd7bc36e827.txt")
RUN_DATE = dt.date(2026, 6, 1)
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
    for slug, tag in zip(SLUGS[1:], ("B", "C")):
        out[slug] = base.model_copy(
            update={"title": f"{base.title} (synthetic copy {tag})"}
        )
    return out


@dataclass(frozen=True)
class Item:
    n: int
    brief: int  # index into SLUGS
    relevant: bool
    syndicated: (
        bool  # also published under /syndicated/<n> in another feed of the brief
    )
    size: int  # target HTML bytes
    published: dt.datetime

    @property
    def path(self) -> str:
        return f"/articles/{self.n}.html"

    @property
    def title(self) -> str:
        kind = "development" if self.relevant else "story"
        return f"Bench item {self.n}: {kind} {_WORDS[self.n % len(_WORDS)]} {_WORDS[(self.n * 7) % len(_WORDS)]}"

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
            size = int(
                min(50_000, max(5_000, rng.lognormvariate(9.7, 0.5)))
            )  # median ~16 KB
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
            chunks = [
                entries[k : k + self.feed_size]
                for k in range(0, len(entries), self.feed_size)
            ] or [[]]
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
    return (
        "# SYNTHETIC benchmark root (bench/_world.py)\n"
        + json.dumps(config, indent=1)
        + "\n"
    )


def write_root(root: Path, world: World, base: str, **config: Any) -> None:
    """A project root: feeds.yaml, three briefs (brief.yaml + published version)."""
    from briefbot.project import Project

    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds.yaml").write_text(
        feeds_yaml(world, base, **config), encoding="utf-8"
    )
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
        "<nav>"
        + "".join(f"<a href='/section/{w}'>{w}</a>" for w in _WORDS[:25])
        + "</nav>"
        f"<article><h1>{escape(item.title)}</h1><p class='byline'>By Bench Wire, "
        f"{item.published:%d %B %Y}</p><p>{item.mark} Item {item.n} reports on "
        f"{_WORDS[item.n % len(_WORDS)]} in open models.</p>"
    )
    tail = (
        "</article><aside><h2>Related</h2><ul>"
        + "".join(
            f"<li><a href='/articles/{rng.randrange(10**6)}.html'>Related {k}</a></li>"
            for k in range(8)
        )
        + "</ul></aside><footer>Copyright Bench Wire. All rights reserved. Privacy. Terms.</footer></body></html>"
    )
    parts = [head]
    size = len(head) + len(tail)
    while size < item.size:
        para = (
            "<p>"
            + " ".join(_sentence(rng) for _ in range(rng.randrange(3, 7)))
            + "</p>"
        )
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
        link = (
            f"{links(item.n + 1)}/syndicated/{item.n}.html"
            if copy
            else f"{links(item.n)}{item.path}"
        )
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


# -- faults (chaos) --------------------------------------------------------------------------------
@dataclass
class Faults:
    """Seeded fault injection: each feed/search answer fails with `rate`, the kind drawn at random."""

    rate: float = 0.0
    seed: int = 11
    kinds: tuple[str, ...] = ("500", "timeout", "truncated", "garbage")
    timeout_seconds: float = 3.0
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (epoch, path, kind)
    epoch: str = "0"
    # Paths (feed or search, without the query) that answer 500 every time while listed: an outage.
    down: set[str] = field(default_factory=set)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, path: str) -> str | None:
        with self._lock:
            if urlsplit(path).path in self.down:
                self.log.append((self.epoch, path, "500"))
                return "500"
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.log.append((self.epoch, path, kind))
            return kind


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        *,
        declared: int | None = None,
    ) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header(
                "Content-Length", str(len(body) if declared is None else declared)
            )
            if declared is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if status != 304:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (a killed run, a timeout) is expected here, not news


class _Server:
    """One handler served on `hosts` loopback addresses (127.0.0.1, .2, ...) sharing one port."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, hosts: int = 1
    ) -> None:
        self.httpds = [_QuietHTTPServer(("127.0.0.1", 0), handler)]
        port = self.httpds[0].server_address[1]
        for k in range(2, hosts + 1):
            self.httpds.append(_QuietHTTPServer((f"127.0.0.{k}", port), handler))
        self.threads = []
        for httpd in self.httpds:
            httpd.daemon_threads = True
            self.threads.append(
                threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    daemon=True,
                )
            )

    @property
    def base(self) -> str:
        host, port = self.httpds[0].server_address[:2]
        return f"http://{host}:{port}"

    def host_base(self, n: int) -> str:
        """The base URL of the n-th item's publisher (items spread over the addresses like sites)."""
        host, port = self.httpds[n % len(self.httpds)].server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for httpd in self.httpds:
            httpd.shutdown()
            httpd.server_close()
        for thread in self.threads:
            thread.join()


class WorldServer(_Server):
    """Feeds (`/feeds/<name>.xml`, with ETags), search (`/searxng/search`), pages; `latency` per answer."""

    def __init__(
        self,
        world: World,
        *,
        latency: float = 0.05,
        faults: Faults | None = None,
        hosts: int = 16,
    ) -> None:
        self.world, self.latency, self.faults = world, latency, faults or Faults()
        self.requests = 0
        self.fault_hits = 0
        srv = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                srv.requests += 1  # approximate under threads; a figure, not a check
                time.sleep(srv.latency)
                parts = urlsplit(self.path)
                base = srv.base
                if parts.path.startswith("/feeds/") or parts.path.startswith(
                    "/searxng"
                ):
                    kind = srv.faults.draw(self.path)
                    if kind is not None and self._fault(kind):
                        return
                if parts.path.startswith("/feeds/") and parts.path.endswith(".xml"):
                    name = parts.path[len("/feeds/") : -4]
                    if name not in srv.world.feeds():
                        self.send(
                            404, b"no such feed\n", {"Content-Type": "text/plain"}
                        )
                        return
                    self._cacheable(
                        feed_xml(srv.world, name, base, srv.host_base),
                        "application/rss+xml",
                    )
                elif parts.path == "/searxng/search":
                    query = parse_qs(parts.query).get("q", [""])[0]
                    self.send(
                        200,
                        search_json(srv.world, query, srv.host_base),
                        {"Content-Type": "application/json"},
                    )
                elif m := re.fullmatch(
                    r"/(articles|syndicated)/(\d+)\.html", parts.path
                ):
                    n = int(m.group(2))
                    if n >= len(srv.world.items):
                        self.send(404, b"gone\n", {"Content-Type": "text/plain"})
                        return
                    body = article_html(srv.world.items[n], srv.world.seed)
                    self.send(200, body, {"Content-Type": "text/html; charset=utf-8"})
                else:
                    self.send(
                        404, b"not in the bench world\n", {"Content-Type": "text/plain"}
                    )

            def _cacheable(self, body: bytes, content_type: str) -> None:
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                headers = {"Content-Type": content_type, "ETag": etag}
                if self.headers.get("If-None-Match") == etag:
                    self.send(304, b"", headers)
                else:
                    self.send(200, body, headers)

            def _fault(self, kind: str) -> bool:
                if kind == "500":
                    self.send(
                        500, b"internal error (chaos)\n", {"Content-Type": "text/plain"}
                    )
                elif kind == "timeout":
                    time.sleep(srv.faults.timeout_seconds)
                    self.send(504, b"late (chaos)\n", {"Content-Type": "text/plain"})
                elif kind == "truncated":
                    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>cut</title><item><title>"
                    self.send(
                        200,
                        body,
                        {"Content-Type": "application/rss+xml"},
                        declared=len(body) * 40,
                    )
                else:  # garbage: a 200 whose body is noise
                    noise = random.Random(self.path).randbytes(2048)
                    self.send(200, noise, {"Content-Type": "application/rss+xml"})
                return True

        super().__init__(Handler, hosts=hosts)


# -- the scripted LLM ---------------------------------------------------------------------------
_FENCE = re.compile(r"^<<<BEGIN (DATA-[0-9A-F]+) ref=(new:\d+)>>>$", re.MULTILINE)


def fenced(text: str) -> list[tuple[str, str]]:
    """(ref, body) of each fenced item, read up to its own END line (as a careful model would)."""
    out, pos = [], 0
    while (m := _FENCE.search(text, pos)) is not None:
        end = text.index(f"\n<<<END {m.group(1)}>>>", m.end())
        out.append((m.group(2), text[m.end() + 1 : end]))
        pos = end + 1
    return out


@dataclass
class StageFigures:
    calls: int = 0
    prompt_chars: int = 0
    prefix_chars: int = (
        0  # unchanged prefix vs the previous prompt of the same stage and brief
    )
    seconds: float = 0.0  # sum of per-call service time

    @property
    def prompt_tokens(self) -> int:
        return self.prompt_chars // 4

    @property
    def prefix_share(self) -> float:
        return self.prefix_chars / self.prompt_chars if self.prompt_chars else 0.0


def propose_edits(items: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A few valid edits citing the first relevant items shown (deterministic in the prompt)."""
    refs = [ref for ref, body in items if RELEVANT_MARK in body][:3]
    edits: list[dict[str, Any]] = []
    for k, ref in enumerate(refs):
        edits.append(
            {
                "op": "add_open_question",
                "significance": "minor" if k else "major",
                "text": f"Does the development reported in [{ref}] change how the gap is measured?",
                "summary": f"A new open question from [{ref}].",
            }
        )
    if refs:
        edits.append(
            {
                "op": "add_narrative_paragraph",
                "significance": "minor",
                "text": "Further reports this week ["
                + "][".join(refs)
                + "] kept the gap debate open.",
                "summary": "Further reports [" + "][".join(refs) + "].",
            }
        )
    return edits


class LLMServer(_Server):
    """OpenAI Chat Completions with `latency` per call; `faults(index) -> kind|None` for chaos."""

    def __init__(
        self,
        *,
        latency: float = 0.2,
        titles: dict[str, str] | None = None,
        faults: Callable[[], str | None] | None = None,
    ) -> None:
        self.latency = latency
        self.titles = titles or {slug: b.title for slug, b in briefs().items()}
        self.faults = faults
        self.figures: dict[str, StageFigures] = {}
        self.last: dict[tuple[str, str], str] = {}
        self.fault_log: list[str] = []
        self.in_flight = self.max_in_flight = (
            0  # calls being answered at once: the client's real concurrency
        )
        self.lock = threading.Lock()
        # Wall-clock span of the LLM phase as the server saw it: first request in, last answer out.
        self.first_at: float | None = None
        self.last_at: float | None = None
        srv = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                started = time.perf_counter()
                with srv.lock:
                    srv.first_at = started if srv.first_at is None else min(srv.first_at, started)
                body = json.loads(
                    self.rfile.read(int(self.headers.get("content-length") or 0))
                    or b"{}"
                )
                kind = srv.faults() if srv.faults else None
                with srv.lock:
                    srv.in_flight += 1
                    srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
                try:
                    # The answer is ready `latency` after the request arrived: the stand-in's own
                    # work (reading, answering, counting) comes out of that time, not on top of it,
                    # so the figures measure the client's overhead and not this server's.
                    ready = None
                    if kind is None or kind == "junk-content":
                        prefix = srv.count(body, srv.latency)
                        ready = srv.answer(body, junk=kind == "junk-content", cached_chars=prefix)
                    time.sleep(max(0.0, srv.latency - (time.perf_counter() - started)))
                finally:
                    with srv.lock:
                        srv.in_flight -= 1
                        srv.last_at = time.perf_counter()
                if kind is not None:
                    with srv.lock:
                        srv.fault_log.append(kind)
                    if kind in ("429", "500"):
                        err = json.dumps(
                            {"error": {"message": f"chaos {kind}", "type": "chaos"}}
                        ).encode()
                        self.send(
                            int(kind),
                            err,
                            {"Content-Type": "application/json", "Retry-After": "0"},
                        )
                        return
                    if kind == "junk-body":
                        self.send(
                            200,
                            b"{not json at all",
                            {"Content-Type": "application/json"},
                        )
                        return
                assert ready is not None
                self.send(200, ready, {"Content-Type": "application/json"})

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return self.base + "/v1"

    def _brief_of(self, text: str) -> str:
        for slug, title in sorted(self.titles.items(), key=lambda kv: -len(kv[1])):
            if title in text:
                return slug
        return "?"

    def count(self, body: dict[str, Any], seconds: float) -> int:
        """Count one answered call; returns its unchanged-prefix length in characters."""
        prompt = "\n".join(
            str(m.get("content") or "") for m in body.get("messages", [])
        )
        model = body.get("model")
        stage = (
            "triage"
            if model == TRIAGE_MODEL
            else "baseline"
            if model == BASELINE_MODEL
            else "propose"
        )
        key = (stage, self._brief_of(prompt))
        with self.lock:
            previous = self.last.get(key, "")
            prefix = _common_prefix(previous, prompt)
            self.last[key] = prompt
            fig = self.figures.setdefault(stage, StageFigures())
            fig.calls += 1
            fig.prompt_chars += len(prompt)
            fig.prefix_chars += prefix
            fig.seconds += seconds
        return prefix

    def answer(
        self, body: dict[str, Any], *, junk: bool = False, cached_chars: int = 0
    ) -> bytes:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        items = fenced(str(users[0]["content"])) if users else []
        if junk:
            content = json.dumps({"unexpected": "shape"})
        elif body.get("model") == BASELINE_MODEL:
            text = "\n".join(str(m["content"]) for m in users)
            content = json.dumps({"relevant": RELEVANT_MARK in text})
        elif body.get("model") == TRIAGE_MODEL:
            content = json.dumps(
                {
                    "items": [
                        {
                            "ref": ref,
                            "relevance": "relevant"
                            if RELEVANT_MARK in text
                            else "irrelevant",
                            "reason": f"bench marker for {ref}",
                            "perspectives": [],
                            "tensions": [],
                        }
                        for ref, text in items
                    ]
                }
            )
        else:
            content = json.dumps({"edits": propose_edits(items)})
        prompt_chars = sum(
            len(str(m.get("content") or "")) for m in body.get("messages", [])
        )
        usage = {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(content) // 4,
            "total_tokens": prompt_chars // 4 + len(content) // 4,
            # Like a provider's cache: whole 128-token blocks of the shared prefix, from 1,024 tokens.
            "prompt_tokens_details": {
                "cached_tokens": (c // 128) * 128
                if (c := cached_chars // 4) >= 1024
                else 0
            },
        }
        completion = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body.get("model"),
            "usage": usage,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                    },
                }
            ],
        }
        return json.dumps(completion).encode()

    def totals(self) -> StageFigures:
        total = StageFigures()
        for fig in self.figures.values():
            for f in dataclasses.fields(StageFigures):
                setattr(total, f.name, getattr(total, f.name) + getattr(fig, f.name))
        return total


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while (
        lo < hi
    ):  # binary search on slices: C-speed comparisons instead of a Python char loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
