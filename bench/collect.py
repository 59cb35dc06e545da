"""Benchmark: briefbot's collect stage against a naive sequential feedparser loop.

200 feeds on local servers that wait 50 ms before every response (304s included). The feeds are
the shared corpus's real-world feeds of 5-60 entries and at most --max-kb (cycled, each made unique) or, without ../shared, synthetic
20-item feeds. The 200 feeds are spread over 20 loopback addresses (127.0.0.1-20), ten each, as
real feeds are spread over many hosts, so per-host politeness limits apply as they would live.

    python bench/collect.py [--feeds 200] [--delay 0.05] [--concurrency 32] [--max-kb 20] [--synthetic]

Before it, a micro-benchmark of dedupe alone: 2,000 vs 10,000 synthetic items (headline-like titles
of Zipf-distributed words, every tenth a syndicated copy), checked and added one by one as the stage
does; the ratio of the two times shows how it grows (x5 items: x5 is linear, x25 quadratic).

Last line: `speedup=<naive/first> revalidate_speedup=<first/second>`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser

from briefbot.collect.dedupe import Deduper, KnownItem
from briefbot.collect.feeds import content_hash
from briefbot.collect.stage import DEFAULT_CONCURRENCY, collect
from briefbot.config import load_config
from briefbot.http import HttpSettings, make_client
from briefbot.models import CandidateItem
from briefbot.project import Project
from briefbot.store import connect

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feeds"
HOSTS = 20


def feed_bodies(count: int, *, max_bytes: int, synthetic: bool) -> list[bytes]:
    """`count` distinct feed documents."""
    sources: list[bytes] = []
    manifest = CORPUS / "manifest.json"
    if manifest.exists() and not synthetic:
        for record in json.loads(manifest.read_text(encoding="utf-8")):
            if (
                record["stratum"].startswith("realworld")
                and not record["gzip_bytes"]
                and not record["bozo"]
                and 5 <= record["n_entries"] <= 60
                and record["bytes"] <= max_bytes
            ):
                sources.append((CORPUS / record["file"]).read_bytes())
    if not sources:
        items = "".join(
            f"<item><title>Story {n}</title><link>https://example.com/{{i}}/{n}</link>"
            f"<description>Synthetic story number {n} of feed {{i}}.</description>"
            f"<pubDate>Mon, 04 May 2026 10:{n:02d}:00 GMT</pubDate></item>"
            for n in range(20)
        )
        template = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {{i}}</title>{items}</channel></rss>'
        return [template.replace("{i}", str(i)).encode() for i in range(count)]
    # A comment makes each copy a distinct document (own ETag) without changing what it parses to.
    return [sources[i % len(sources)] + f"\n<!-- copy {i} -->\n".encode() for i in range(count)]


class DelayedServer:
    def __init__(self, host: str, routes: dict[str, bytes], delay: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                time.sleep(delay)
                body = routes.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("ETag", tag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def naive(urls: list[str]) -> float:
    started = time.perf_counter()
    for url in urls:
        feedparser.parse(url)
    return time.perf_counter() - started


def briefbot_run(project: Project, *, concurrency: int) -> tuple[float, int, int]:
    config = load_config(project)
    settings = HttpSettings(allow_private_networks=True)

    async def go() -> tuple[int, int]:
        conn = connect(project.state_db)
        try:
            async with make_client(settings) as client:
                report = await collect(config, client=client, conn=conn, concurrency=concurrency)
        finally:
            conn.close()
        failed = [s for s in report.sources if s.errors]
        if failed:
            raise SystemExit(f"benchmark run had failures: {failed[0].errors}")
        return report.new, sum(1 for s in report.sources if s.not_modified)

    started = time.perf_counter()
    new, not_modified = asyncio.run(go())
    return time.perf_counter() - started, new, not_modified


def serve(bodies: list[bytes], delay: float, urls_out: mp.Queue[list[str]], stop: mp.Event) -> None:
    """Run the feed servers (in their own process, so their work is not timed as the client's)."""
    per_host: list[dict[str, bytes]] = [{} for _ in range(HOSTS)]
    for index, body in enumerate(bodies):
        per_host[index % HOSTS][f"/feed/{index}.xml"] = body
    servers = [DelayedServer(f"127.0.0.{h + 1}", per_host[h], delay) for h in range(HOSTS)]
    urls_out.put([f"{servers[i % HOSTS].base}/feed/{i}.xml" for i in range(len(bodies))])
    stop.wait()
    for server in servers:
        server.close()


def synthetic_items(count: int, *, seed: int = 3) -> list[tuple[CandidateItem, bool]]:
    """`count` items, each with whether it is a syndicated copy of an earlier one."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnoprstuvw") for _ in range(rng.randint(3, 9))) for _ in range(4000)
    ]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    when = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    out: list[tuple[CandidateItem, bool]] = []
    originals: list[CandidateItem] = []
    for n in range(count):
        if n >= 10 and n % 10 == 0:
            source = rng.choice(originals)
            title, summary = source.title.upper() + "!", (source.summary or "") + " Via wire."
        else:
            title = " ".join(rng.choices(vocabulary, weights, k=rng.randint(7, 12)))
            summary = " ".join(rng.choices(vocabulary, weights, k=25))
        url = f"https://site{n % 50}.example/{n}"
        item = CandidateItem(
            url=url,
            link=url,
            title=title,
            summary=summary,
            published=when,
            origin="feed:bench",
            content_hash=content_hash(title, summary),
        )
        if n % 10 or n < 10:
            originals.append(item)
        out.append((item, bool(n >= 10 and n % 10 == 0)))
    return out


def dedupe_seconds(count: int) -> float:
    stream = synthetic_items(count)
    started = time.perf_counter()
    deduper = Deduper(upcoming=[item.title for item, _copy in stream])
    for index, (item, copy) in enumerate(stream):
        found = deduper.check(item)
        if (found is not None) != copy:
            raise SystemExit(f"dedupe benchmark: item {index} judged wrongly ({found})")
        if found is None:
            deduper.add(KnownItem.of(item, item_id=index))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    # Parsing is CPU-bound and the same work in both loops, so feed size sets how much
    # concurrent fetching can win; 20 kB is a typical 10-20 item feed.
    parser.add_argument("--max-kb", type=int, default=20, help="largest corpus feed to use")
    parser.add_argument(
        "--synthetic", action="store_true", help="small generated 20-item feeds instead of the corpus"
    )
    args = parser.parse_args()

    bodies = feed_bodies(args.feeds, max_bytes=args.max_kb * 1024, synthetic=args.synthetic)
    context = mp.get_context("spawn")
    urls_queue: mp.Queue[list[str]] = context.Queue()
    stop = context.Event()
    server = context.Process(target=serve, args=(bodies, args.delay, urls_queue, stop), daemon=True)
    server.start()
    try:
        urls = urls_queue.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            project = Project(tmp)
            lines = ["feeds:"] + [f"  - name: f{i}\n    url: {url}" for i, url in enumerate(urls)]
            (Path(tmp) / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
            naive_s = naive(urls)
            first_s, new, _ = briefbot_run(project, concurrency=args.concurrency)
            second_s, _, not_modified = briefbot_run(project, concurrency=args.concurrency)
    finally:
        stop.set()
        server.join(timeout=10)
    corpus = "synthetic feeds" if args.synthetic or not CORPUS.exists() else "shared corpus real-world feeds"
    print(
        f"{args.feeds} feeds ({corpus}, {sum(map(len, bodies)) // 1024} KiB), {args.delay * 1000:.0f} ms per response, "
        f"concurrency {args.concurrency}, python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    )
    print(f"naive sequential feedparser.parse(url): {naive_s:.2f} s")
    print(f"briefbot collect, first run:            {first_s:.2f} s  ({new} new items)")
    print(f"briefbot collect, second run (304s):    {second_s:.2f} s  ({not_modified} not modified)")
    small, large = dedupe_seconds(2000), dedupe_seconds(10000)
    print(
        f"dedupe of 2,000 vs 10,000 synthetic items: {small:.2f} s vs {large:.2f} s "
        f"(x{large / small:.1f} time for x5 items)"
    )
    print(f"speedup={naive_s / first_s:.2f} revalidate_speedup={first_s / second_s:.2f}")


if __name__ == "__main__":
    main()
