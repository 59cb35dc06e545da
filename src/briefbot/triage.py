"""Triage: which candidate items matter to a brief. Batched calls to the cheap model.

Each item gets a label (relevant / background / irrelevant), a one-line reason, and the brief's
perspectives and tensions it touches. Irrelevant items stop here; a failed batch is reported and
its items are left out (never assumed relevant), and the other batches go on.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from briefbot.errors import LLMError
from briefbot.llm import CallStats, LLMClient
from briefbot.models import BatchItem, Brief, StrictModel
from briefbot.untrusted import FencedItem, fence

Relevance = Literal["relevant", "background", "irrelevant"]
RANK: dict[str, int] = {"relevant": 0, "background": 1, "irrelevant": 2}


class TriageLabel(StrictModel):
    ref: str = Field(description="the item's ref exactly as shown, e.g. new:3")
    relevance: Relevance
    reason: str = Field(description="one line naming the fact that decided the label")
    perspectives: list[str] = Field(description="actor names of the brief's perspectives the item touches")
    tensions: list[int] = Field(description="numbers of the brief's tensions the item touches")


class TriageAnswer(StrictModel):
    """The triage model's structured output for one batch."""

    items: list[TriageLabel]


class TriagedItem(StrictModel):
    item: BatchItem
    relevance: Relevance
    reason: str
    perspectives: list[str]
    tensions: list[int]
    # Instruction-like text found in the item (a warning for the editor; the item stays data).
    flags: list[str] = Field(default_factory=list)


class TriageResult(StrictModel):
    items: list[TriagedItem]
    failures: list[str] = Field(default_factory=list)
    stats: CallStats

    def kept(self) -> list[TriagedItem]:
        """Relevant then background items, each group in input order; irrelevant ones never pass."""
        kept = [t for t in self.items if t.relevance != "irrelevant"]
        return sorted(kept, key=lambda t: RANK[t.relevance])

    def warnings(self) -> list[str]:
        return [
            f"{t.item.ref} ({t.item.url}): instruction-like text, treated as data: {'; '.join(t.flags)}"
            for t in self.items
            if t.flags
        ]


def fenced(item: BatchItem, *, max_chars: int | None) -> FencedItem:
    """The item as the model sees it: metadata and (possibly truncated) text inside one fence."""
    text = item.text or ""
    if max_chars is not None and len(text) > max_chars:
        cut = text[:max_chars]
        # End on a word boundary so the model does not read a half word as a claim.
        text = (cut.rsplit(None, 1)[0] if " " in cut else cut) + " […]"
    fields = {"title": item.title, "publisher": item.publisher, "published": item.published, "url": item.url}
    return fence(item.ref, fields, text)


async def triage(
    client: LLMClient, brief: Brief, items: list[BatchItem], *, slug: str, scope: str | None = None
) -> TriageResult:
    """Label every item for `brief`; no items, no call."""
    settings = client.settings
    size = settings.triage_batch_size
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    # A batch's prompt is rendered only when it is about to be sent (twice the client's concurrency
    # wait their turn): a night of thousands of items never holds every prompt at once.
    gate = asyncio.Semaphore(2 * settings.max_concurrency)

    async def gated(batch: list[BatchItem]) -> tuple[list[TriagedItem], CallStats]:
        async with gate:
            return await _one_batch(client, brief, batch, slug=slug, scope=scope)

    outcomes = await asyncio.gather(*(gated(batch) for batch in batches), return_exceptions=True)
    labelled: list[TriagedItem] = []
    failures: list[str] = []
    stats = CallStats()
    for batch, outcome in zip(batches, outcomes, strict=False):
        if isinstance(outcome, LLMError):
            refs = ", ".join(i.ref for i in batch)
            failures.append(f"triage of {refs} failed: {outcome}")
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        batch_items, batch_stats = outcome
        labelled.extend(batch_items)
        stats.merge(batch_stats)
    if batches and len(failures) == len(batches):
        raise LLMError(f"triage for {slug!r} failed for every batch: " + " | ".join(failures))
    order = {item.ref: n for n, item in enumerate(items)}
    labelled.sort(key=lambda t: order[t.item.ref])
    return TriageResult(items=labelled, failures=failures, stats=stats)


async def _one_batch(
    client: LLMClient, brief: Brief, batch: list[BatchItem], *, slug: str, scope: str | None
) -> tuple[list[TriagedItem], CallStats]:
    settings = client.settings
    shown = [fenced(item, max_chars=settings.triage_excerpt_chars) for item in batch]
    prompt = client.prompts.render("triage", brief=brief, items=shown, scope=scope)
    refs = [item.ref for item in batch]

    def check(answer: TriageAnswer) -> None:
        # An answer that skips or repeats an item is unusable: ask again, quoting what is wrong.
        given = [label.ref for label in answer.items]
        missing = [r for r in refs if r not in given]
        extra = sorted({r for r in given if r not in refs or given.count(r) > 1})
        if missing or extra:
            raise ValueError(
                f"items must list every ref exactly once; missing {missing}, unknown or repeated {extra}"
            )

    result = await client.structured(
        prompt, TriageAnswer, stage="triage", brief=slug, model=settings.triage_model, check=check
    )
    actors = {p.actor for p in brief.perspectives}
    by_ref = {label.ref: label for label in result.value.items}
    triaged = []
    for item, view in zip(batch, shown, strict=False):
        label = by_ref[item.ref]
        triaged.append(
            TriagedItem(
                item=item,
                relevance=label.relevance,
                reason=label.reason,
                # Names the brief does not have are dropped rather than re-asked: they only guide the proposer.
                perspectives=[a for a in label.perspectives if a in actors],
                tensions=[t for t in label.tensions if 1 <= t <= len(brief.tensions)],
                flags=list(view.flags),
            )
        )
    return triaged, result.stats
