"""Word-level diff of two briefs, section by section, shaped for the diff template.

Shape: a list of sections that changed, each `{"title", "blocks": [{"kind", "chunks"}]}` where a
block is a paragraph, bullet or source line and `chunks` is `[(equal|insert|delete, text)]`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..models import Brief

_TOKEN = re.compile(r"\s+|[^\s]+")


def brief_blocks(brief: Brief) -> list[tuple[str, list[str]]]:
    """The brief as the reader sees it: (section title, its paragraphs/bullets/lines)."""
    sources = []
    for s in brief.sources:
        label = s.publisher or s.origin
        line = f"[{s.number}] {s.title}" + (f" — {label}" if label else "") + (f" ({s.date})" if s.date else "")
        sources.append(line)
    perspectives = []
    for p in brief.perspectives:
        perspectives.append(f"{p.actor}: {p.stance}" + (f" Evolution: {p.evolution}" if p.evolution else ""))
    header = f"{brief.state} · v{brief.version} · {brief.date.isoformat()} · {brief.item_count} items"
    return [
        ("Header", [brief.title, header]),
        ("What's new", list(brief.whats_new.paragraphs) if brief.whats_new else []),
        ("What", list(brief.what)),
        ("Why it matters", list(brief.why_it_matters)),
        ("Open questions", list(brief.open_questions)),
        ("Narrative", list(brief.narrative)),
        ("Timeline", [f"{e.date}: {e.text}" for e in brief.timeline]),
        ("Perspectives", perspectives),
        ("Tensions", list(brief.tensions)),
        ("Status", [brief.status] if brief.status else []),
        ("Sources", sources),
    ]


def word_chunks(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    chunks: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            chunks.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            chunks.append(("insert", "".join(b[j1:j2])))
        if tag == "equal":
            chunks.append(("equal", "".join(a[i1:i2])))
    return chunks


def _section_blocks(old: list[str], new: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            # Same number of blocks on both sides: a revision of each, shown word by word.
            for o, n in zip(old[i1:i2], new[j1:j2]):
                blocks.append({"kind": "changed", "chunks": word_chunks(o, n)})
            continue
        blocks.extend({"kind": "removed", "chunks": [("delete", o)]} for o in old[i1:i2])
        blocks.extend({"kind": "added", "chunks": [("insert", n)]} for n in new[j1:j2])
    return blocks


def diff_briefs(old: Brief, new: Brief) -> list[dict[str, Any]]:
    sections = []
    for (title, old_blocks), (_, new_blocks) in zip(brief_blocks(old), brief_blocks(new)):
        blocks = _section_blocks(old_blocks, new_blocks)
        if blocks:
            sections.append({"title": title, "blocks": blocks})
    return sections
