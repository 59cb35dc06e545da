"""Brief and batch fixtures for the merger's tests, built as models (no text-format parser needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from briefbot.models import (
    Brief,
    EditBatch,
    Perspective,
    Source,
    TimelineEntry,
    WhatsNew,
)

RUN_DATE = dt.date(2026, 5, 31)


def small_brief() -> Brief:
    """A cut-down seed brief: the same shapes (partial dates after full ones, reactive sources)."""
    return Brief(
        title="Open Model Wave and Open-vs-Closed Capability Gap Debate",
        state="closed",
        version=7,
        date=dt.date(2026, 5, 24),
        item_count=118,
        whats_new=WhatsNew(
            version=7, paragraphs=["GLM-5.1 topped SWE-Bench Pro [2]. No new fault lines emerged this pass."]
        ),
        what=["A mid-May 2026 open-weight model release wave has sharpened debate over the gap [1]."],
        why_it_matters=["Open models may match closed ones on coding tasks [2][3]."],
        open_questions=[
            "Do leaderboard wins reflect scaffolding choices [1][3]?",
            "Does the Nemotron Coalition provide durable funding [4]?",
        ],
        narrative=[
            "In mid-May 2026, a cluster of open-weight releases arrived; CAISI said the gap is widening [1].",
            "GLM-5.1 from Z.ai has since topped SWE-Bench Pro [2].",
        ],
        timeline=[
            TimelineEntry(
                date="2026-04-11", text="Nathan Lambert publishes a call for an open model consortium [4]"
            ),
            TimelineEntry(date="2026-05-16", text="Florian Brand covers the open model release wave [1]"),
            TimelineEntry(date="2026-05-19", text="Forge claims guardrails lift an 8B model to 99% [3]"),
            TimelineEntry(date="2026-05", text="GLM-5.1 tops SWE-Bench Pro [2]"),
            TimelineEntry(
                date="2026-05", text="NVIDIA announces the Nemotron Coalition of eight AI labs [4]"
            ),
        ],
        perspectives=[
            Perspective(actor="CAISI (NIST)", stance="The gap is widening [1]", evolution="Consistent"),
            Perspective(
                actor="Nathan Lambert (Interconnects / Ai2)",
                stance="A funded consortium is needed [4]",
                evolution="Consistent",
            ),
            Perspective(
                actor="NVIDIA / Nemotron Coalition",
                stance="Open frontier models need coordinated investment",
                evolution=None,
            ),
        ],
        tensions=["CAISI says the gap widens [1]; leaderboards say otherwise [2]"],
        status="active and growing",
        sources=[
            Source(
                number=1, title="Latest open artifacts (#21)", publisher="Interconnects", date="2026-05-16"
            ),
            Source(
                number=2,
                title="GLM5.1 topped SWE-Bench Pro - Reddit",
                origin="reactive:open-model-capability-gap",
                url="https://reddit.example/glm51",
            ),
            Source(
                number=3,
                title="Show HN: Forge",
                origin="reactive:open-model-capability-gap",
                date="2026-05-19",
            ),
            Source(
                number=4,
                title="The inevitable need for an open model consortium",
                publisher="Interconnects",
                date="2026-04-11",
                url="https://interconnects.example/consortium",
            ),
        ],
    )


def item(k: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "ref": f"new:{k}",
        "url": f"https://news.example/{k}",
        "title": f"Story {k}",
        "publisher": "Example News",
        "published": "2026-05-28",
        "origin": "feed:example",
        "text": f"Story {k} text about Mistral AI and NVIDIA.",
    }
    data.update(overrides)
    return data


def edit(op: str, **fields: Any) -> dict[str, Any]:
    data = {
        "op": op,
        "summary": fields.pop("summary", f"{op} happened"),
        "significance": fields.pop("significance", "minor"),
    }
    data.update(fields)
    return data


def funding_entry() -> dict[str, Any]:
    """The review tests' first edit: a major timeline entry citing item 1."""
    return edit(
        "add_timeline_entry",
        date="2026-05-28",
        text="NVIDIA details coalition funding [new:1]",
        significance="major",
        summary="NVIDIA detailed coalition funding [new:1].",
    )


def terms_tension() -> dict[str, Any]:
    """The review tests' second edit: a tension citing item 2."""
    return edit(
        "add_tension", text="Mistral AI doubts NVIDIA's terms [new:2]", summary="A new fault line [new:2]."
    )


def batch(edits: list[dict[str, Any]], items: list[dict[str, Any]] | None = None) -> EditBatch:
    return EditBatch.model_validate(
        {"items": items if items is not None else [item(1), item(2)], "edits": edits}
    )
