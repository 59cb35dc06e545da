"""`WorldServer`: the SYNTHETIC world of `_world` served over loopback HTTP with a set latency:
feeds (`/feeds/<name>.xml`, with ETags), search (`/searxng/search`) and article pages; `Faults`
injects seeded feed/search failures and outages for the chaos run."""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from _http import LoopbackServer, QuietHandler
from _world import World, article_html, feed_xml, search_json


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


class WorldServer(LoopbackServer):
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

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                srv.requests += 1  # approximate under threads; a figure, not a check
                time.sleep(srv.latency)
                parts = urlsplit(self.path)
                base = srv.base
                if parts.path.startswith("/feeds/") or parts.path.startswith("/searxng"):
                    kind = srv.faults.draw(self.path)
                    if kind is not None and self._fault(kind):
                        return
                if parts.path.startswith("/feeds/") and parts.path.endswith(".xml"):
                    name = parts.path[len("/feeds/") : -4]
                    if name not in srv.world.feeds():
                        self.send(404, b"no such feed\n", {"Content-Type": "text/plain"})
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
                elif m := re.fullmatch(r"/(articles|syndicated)/(\d+)\.html", parts.path):
                    n = int(m.group(2))
                    if n >= len(srv.world.items):
                        self.send(404, b"gone\n", {"Content-Type": "text/plain"})
                        return
                    body = article_html(srv.world.items[n], srv.world.seed)
                    self.send(200, body, {"Content-Type": "text/html; charset=utf-8"})
                else:
                    self.send(404, b"not in the bench world\n", {"Content-Type": "text/plain"})

            def _cacheable(self, body: bytes, content_type: str) -> None:
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                headers = {"Content-Type": content_type, "ETag": etag}
                if self.headers.get("If-None-Match") == etag:
                    self.send(304, b"", headers)
                else:
                    self.send(200, body, headers)

            def _fault(self, kind: str) -> bool:
                if kind == "500":
                    self.send(500, b"internal error (chaos)\n", {"Content-Type": "text/plain"})
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
