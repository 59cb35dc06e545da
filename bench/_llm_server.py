"""The scripted LLM: `LLMServer`, an OpenAI-compatible Chat Completions server with a set latency
that answers valid structured output, counts calls and prompt tokens, and measures how much of each
prompt is an unchanged prefix of the previous prompt of the same stage and brief (what a prompt
cache serves). The model names it tells apart are the constants of `_world`."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _http import LoopbackServer, QuietHandler
from _world import BASELINE_MODEL, RELEVANT_MARK, TRIAGE_MODEL, briefs

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
    prefix_chars: int = 0  # unchanged prefix vs the previous prompt of the same stage and brief
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
                "text": "Further reports this week [" + "][".join(refs) + "] kept the gap debate open.",
                "summary": "Further reports [" + "][".join(refs) + "].",
            }
        )
    return edits


class LLMServer(LoopbackServer):
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
        self.in_flight = self.max_in_flight = 0  # calls being answered at once: the client's real concurrency
        self.lock = threading.Lock()
        # Wall-clock span of the LLM phase as the server saw it: first request in, last answer out.
        self.first_at: float | None = None
        self.last_at: float | None = None
        srv = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                started = time.perf_counter()
                with srv.lock:
                    srv.first_at = started if srv.first_at is None else min(srv.first_at, started)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
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
                        err = json.dumps({"error": {"message": f"chaos {kind}", "type": "chaos"}}).encode()
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
        prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
        model = body.get("model")
        stage = "triage" if model == TRIAGE_MODEL else "baseline" if model == BASELINE_MODEL else "propose"
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

    def answer(self, body: dict[str, Any], *, junk: bool = False, cached_chars: int = 0) -> bytes:
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
                            "relevance": "relevant" if RELEVANT_MARK in text else "irrelevant",
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
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(content) // 4,
            "total_tokens": prompt_chars // 4 + len(content) // 4,
            # Like a provider's cache: whole 128-token blocks of the shared prefix, from 1,024 tokens.
            "prompt_tokens_details": {
                "cached_tokens": (c // 128) * 128 if (c := cached_chars // 4) >= 1024 else 0
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
    while lo < hi:  # binary search on slices: C-speed comparisons instead of a Python char loop
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo
