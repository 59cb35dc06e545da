"""Benchmark: the whole nightly run (`briefbot run`) at N = 200, 2,000 and 10,000 candidate items.

The SYNTHETIC world of bench/_world.py (3 briefs, feeds, searches, 5-50 KB pages, duplicates, 5%
relevant) is served from 16 loopback addresses with a set latency per answer, and a scripted
OpenAI-compatible server answers with a set latency. briefbot runs as a subprocess
(`briefbot --root R run --date D`), exactly as cron would run it; its peak RSS is the whole process
tree's (briefbot and its extraction workers, summed), sampled every 0.1 s from /proc.

The naive baseline (written here): for each brief, fetch its feeds and searches one after another,
then for every entry (no dedupe) fetch the page, extract it with trafilatura, and make one LLM call
with the whole brief (the seed's text format) and the whole article text. On a 2-core machine it
is too slow at 2,000 items, so it is timed on an evenly spread sample of `--baseline-sample` entries
and extrapolated to all entries (feeds and searches are fetched in full); the output says so.

    python bench/pipeline.py                # N = 200, 2,000, 10,000
    python bench/pipeline.py --quick        # N = 2,000 alone (< 5 minutes)
    python bench/pipeline.py --sizes 200    # any list

Last line with --quick: `speedup=<x> token_ratio=<y> peak_rss_mb=<z>` (baseline over briefbot).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import feedparser
import httpx2
import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _llm_server import LLMServer
from _world import (
    BASELINE_MODEL,
    BRIEFBOT,
    RUN_DATE,
    SLUGS,
    World,
    brief_queries,
    briefs,
    write_root,
)
from _world_server import WorldServer
from briefbot.brief.textformat import render_text


def _tree_rss_kb(root_pid: int) -> int:
    """Resident memory of `root_pid` and all its descendants (the extract pool's workers)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            pid = int(status.parent.name)
            parents[pid] = int(fields["PPid"])
            rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
        except (OSError, ValueError, KeyError):
            continue  # the process ended while we looked
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in tree)


class _TreeSampler(threading.Thread):
    """Samples the whole process tree's RSS every 0.1 s: ru_maxrss counts one process at a time."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.pid))


def run_briefbot(
    world: World,
    *,
    web_latency: float,
    llm_latency: float,
    concurrency: int,
    workdir: Path,
) -> dict[str, Any]:
    root = workdir / f"root-{world.n}"
    with (
        WorldServer(world, latency=web_latency) as web,
        LLMServer(latency=llm_latency) as llm,
    ):
        write_root(root, world, web.base)
        env = dict(
            os.environ,
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_API_KEY="bench-key",
            BRIEFBOT_LLM_MAX_CONCURRENCY=str(concurrency),
        )
        started = time.perf_counter()
        with open(workdir / f"run-{world.n}.log", "wb") as log:
            proc = subprocess.Popen(
                [
                    BRIEFBOT,
                    "--root",
                    str(root),
                    "run",
                    "--date",
                    RUN_DATE.isoformat(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            sampler = _TreeSampler(proc.pid)
            sampler.start()
            _, status, usage = os.wait4(proc.pid, 0)
            sampler.done.set()
            sampler.join()
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        report = json.loads(next((root / ".briefbot" / "runs").glob("*/report.json")).read_text())
        stages: dict[str, float] = {}
        for s in report["stages"]:
            stages[s["stage"]] = stages.get(s["stage"], 0.0) + s["seconds"]
        figures = {k: vars(v).copy() for k, v in llm.figures.items()}
        total = llm.totals()
        max_in_flight = llm.max_in_flight
        llm_first, llm_last = llm.first_at, llm.last_at
    calls = {k: f["calls"] for k, f in figures.items()}
    # Briefs run their LLM stages concurrently, so summed stage times overcount: the wall time is
    # the span the LLM server saw, from the first request to the last answer.
    llm_wall = (llm_last - llm_first) if llm_first is not None and llm_last is not None else 0.0
    # Ideal LLM time: the (calls / concurrency) x latency, and the tighter per-brief bound
    # (each brief's triage batches in waves of `concurrency`, then its one propose call).
    waves = 0
    for b in report["briefs"]:
        proposes = 1 if b["relevant"] + b["background"] else 0
        waves += -(-(b["llm"]["calls"] - proposes) // concurrency) + proposes
    per_brief = waves * llm_latency
    return {
        "n": world.n,
        "exit": proc.returncode,
        "wall": wall,
        "stages": stages,
        # The whole tree (briefbot and its extraction workers, summed at the worst sampled moment),
        # and never less than the main process's own kernel-measured peak.
        "peak_rss_mb": max(sampler.peak_kb, usage.ru_maxrss) / 1024,
        "main_rss_mb": usage.ru_maxrss / 1024,
        "collected": report["collected"],
        "duplicates": report["duplicates"],
        "extracted": report["extracted"],
        "relevant": sum(b["relevant"] for b in report["briefs"]),
        "applied": sum(b["edits_applied"] for b in report["briefs"]),
        "calls": calls,
        "llm_calls": total.calls,
        "prompt_tokens": total.prompt_tokens,
        "prefix_share": total.prefix_share,
        "prefix_share_by_stage": {
            k: (f["prefix_chars"] / f["prompt_chars"] if f["prompt_chars"] else 0) for k, f in figures.items()
        },
        "llm_wall": llm_wall,
        "llm_ideal": total.calls / concurrency * llm_latency,
        "llm_ideal_per_brief": per_brief,
        "failures": len(report["failures"]),
        # A run with failures is not comparable: say why, in the figures and on the console.
        "failure_kinds": _failure_kinds(report["failures"]),
        "max_in_flight": max_in_flight,
    }


def _failure_kinds(failures: list[str]) -> dict[str, int]:
    """Failures counted by their reason, the URL dropped (`page: <url>: timed out` -> `page: timed out`)."""
    kinds: dict[str, int] = {}
    for failure in failures:
        kind = re.sub(r"https?://\S+", "<url>", failure)[:120]
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5])


def _entries(world: World, web: WorldServer, client: httpx2.Client) -> tuple[list[tuple[int, str]], float]:
    """Every (brief, page URL) a naive reader meets, duplicates included; and the seconds it took."""
    started = time.perf_counter()
    feeds = world.feeds()
    entries: list[tuple[int, str]] = []
    for b in range(3):
        urls = [f"{web.base}/feeds/{name}.xml" for name in feeds if name.startswith(f"b{b}-")]
        urls += [f"{web.base}/searxng/search?q={q}&format=json" for q in brief_queries(b)]
        for url in urls:
            answer = client.get(url)
            if "searxng" in url:
                entries += [(b, r["url"]) for r in answer.json()["results"]]
            else:
                entries += [(b, e.link) for e in feedparser.parse(answer.content).entries]
    return entries, time.perf_counter() - started


def run_baseline(world: World, *, web_latency: float, llm_latency: float, sample: int) -> dict[str, Any]:
    texts = {slug: render_text(brief) for slug, brief in briefs().items()}
    with (
        WorldServer(world, latency=web_latency) as web,
        LLMServer(latency=llm_latency) as llm,
        httpx2.Client(timeout=60) as client,
    ):
        entries, listing = _entries(world, web, client)
        step = max(1, len(entries) // sample)
        chosen = entries[::step][:sample]
        started = time.perf_counter()
        for b, url in chosen:
            page = client.get(url).text
            text = trafilatura.extract(page, url=url) or ""
            messages = [
                {
                    "role": "system",
                    "content": "Say whether this article matters to the brief below.\n\n" + texts[SLUGS[b]],
                },
                {"role": "user", "content": text},
            ]
            client.post(
                f"{llm.base_url}/chat/completions",
                json={"model": BASELINE_MODEL, "messages": messages},
            )
        sampled = time.perf_counter() - started
        tokens = llm.totals().prompt_tokens
    scale = len(entries) / len(chosen)
    return {
        "n": world.n,
        "entries": len(entries),
        "sampled": len(chosen),
        "listing": listing,
        "wall": listing + sampled * scale,
        "prompt_tokens": int(tokens * scale),
        "llm_calls": len(entries),
    }


def _row(cells: list[str], widths: list[int]) -> str:
    return " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=False))


def print_table(results: list[dict[str, Any]], baselines: dict[int, dict[str, Any]]) -> None:
    head = [
        "N",
        "exit",
        "collect s",
        "extract s",
        "triage s",
        "propose s",
        "total s",
        "peak MB",
        "calls",
        "prompt tok",
        "prefix %",
        "LLM s",
        "ideal s",
        "ideal/b s",
        "in flight",
        "tok/item",
        "s/item",
        "base s",
        "base tok",
    ]
    widths = [max(len(h), 8) for h in head]
    print(_row(head, widths))
    print("-+-".join("-" * w for w in widths))
    for r in results:
        st, base = r["stages"], baselines.get(r["n"])
        print(
            _row(
                [
                    str(r["n"]),
                    str(r["exit"]),
                    f"{st.get('collect', 0):.1f}",
                    f"{st.get('extract', 0):.1f}",
                    f"{st.get('triage', 0):.1f}",
                    f"{st.get('propose', 0):.1f}",
                    f"{r['wall']:.1f}",
                    f"{r['peak_rss_mb']:.0f}",
                    str(r["llm_calls"]),
                    str(r["prompt_tokens"]),
                    f"{100 * r['prefix_share']:.0f}",
                    f"{r['llm_wall']:.1f}",
                    f"{r['llm_ideal']:.1f}",
                    f"{r['llm_ideal_per_brief']:.1f}",
                    str(r["max_in_flight"]),
                    f"{r['prompt_tokens'] / r['n']:.0f}",
                    f"{r['wall'] / r['n']:.4f}",
                    f"{base['wall']:.0f}" if base else "-",
                    str(base["prompt_tokens"]) if base else "-",
                ],
                widths,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 2,000 alone, with the baseline")
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 2000, 10000])
    parser.add_argument("--web-latency", type=float, default=0.05)
    parser.add_argument("--llm-latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8, help="BRIEFBOT_LLM_MAX_CONCURRENCY")
    parser.add_argument("--baseline-sample", type=int, default=150)
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[2000])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = [2000] if args.quick else args.sizes
    results, baselines = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        for n in sizes:
            world = World(n)
            print(
                f"N={n}: {world.candidates()} feed/search entries; running briefbot ...",
                file=sys.stderr,
                flush=True,
            )
            results.append(
                run_briefbot(
                    world,
                    web_latency=args.web_latency,
                    llm_latency=args.llm_latency,
                    concurrency=args.concurrency,
                    workdir=Path(tmp),
                )
            )
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            if n in args.baseline_sizes:
                print(
                    f"N={n}: baseline on a sample of {args.baseline_sample} entries ...",
                    file=sys.stderr,
                    flush=True,
                )
                baselines[n] = run_baseline(
                    world,
                    web_latency=args.web_latency,
                    llm_latency=args.llm_latency,
                    sample=args.baseline_sample,
                )
                print(json.dumps(baselines[n]), file=sys.stderr, flush=True)
    print(
        f"web latency {args.web_latency}s, LLM latency {args.llm_latency}s, LLM concurrency {args.concurrency}"
    )
    print_table(results, baselines)
    for n, base in baselines.items():
        print(
            f"baseline N={n}: {base['entries']} entries, timed on {base['sampled']} evenly spread entries "
            f"and extrapolated (feeds and searches fetched in full: {base['listing']:.1f}s)"
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "baselines": baselines}, indent=1) + "\n")
    main_n = 2000 if 2000 in baselines else next(iter(baselines), None)
    if main_n is not None:
        r = next(x for x in results if x["n"] == main_n)
        b = baselines[main_n]
        print(
            f"speedup={b['wall'] / r['wall']:.1f} token_ratio={b['prompt_tokens'] / r['prompt_tokens']:.1f} "
            f"peak_rss_mb={max(x['peak_rss_mb'] for x in results):.0f}"
        )


if __name__ == "__main__":
    main()
