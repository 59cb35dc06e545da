"""Propose: one call per brief to the strong model, from the triaged items to an edit batch.

A brief with no published version is drafted instead (`draft`): the same call and the same typed
edits, asked to fill every section of its empty v0 skeleton from the items, with its own prompt.

The brief comes first (stable, so the provider's prompt cache serves it), then the kept items, most
relevant first, their text cut to a token budget. The answer is an `EditList`; with the items shown
it becomes the `EditBatch` the merger turns into a proposal.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from pydantic import Field

from briefbot.brief.textformat import render_text
from briefbot.errors import BriefbotError
from briefbot.llm import CallStats, LLMClient
from briefbot.models import BatchItem, Brief, EditBatch, EditList, StrictModel
from briefbot.triage import TriagedItem
from briefbot.untrusted import FencedItem, clean_text, fence

# Below this many characters an item's text says too little to ground an edit; leave it out.
MIN_ITEM_CHARS = 300
# A first version drafted from fewer relevant items than this would be a summary of one article.
DRAFT_MIN_ITEMS = 3


class TooFewItemsError(BriefbotError):
    """A draft asked for with fewer relevant items than the minimum."""


class ProposeResult(StrictModel):
    batch: EditBatch
    stats: CallStats
    items_offered: int = Field(description="kept items passed in")
    items_sent: int = Field(description="items that fitted the token budget")
    truncated: list[str] = Field(default_factory=list, description="refs whose text was cut")
    cached: bool = False


def brief_text(brief: Brief) -> str:
    """The brief as a reader sees it (the seed's text format)."""
    return render_text(brief)


def budget_items(
    kept: list[TriagedItem], *, budget_chars: int
) -> tuple[list[tuple[TriagedItem, str]], list[str]]:
    """Item texts cut to fit `budget_chars` in total, in the order given; returns (items, truncated refs)."""
    chosen: list[tuple[TriagedItem, str]] = []
    truncated: list[str] = []
    left = budget_chars
    for triaged in kept:
        text = (triaged.item.text or "").strip()
        if not text:
            chosen.append((triaged, ""))  # title and metadata alone still cost next to nothing
            continue
        if left < MIN_ITEM_CHARS:
            break
        if len(text) > left:
            cut = text[:left]
            text = (cut.rsplit(None, 1)[0] if " " in cut else cut) + " […]"
            truncated.append(triaged.item.ref)
        left -= len(text)
        chosen.append((triaged, text))
    return chosen, truncated


def _fenced(triaged: TriagedItem, text: str) -> FencedItem:
    item = triaged.item
    touches = ", ".join(triaged.perspectives + [f"tension {n}" for n in triaged.tensions])
    fields = {
        "title": item.title,
        "publisher": item.publisher,
        "published": item.published,
        "url": item.url,
        "triage": f"{triaged.relevance}: {triaged.reason}" + (f" (touches {touches})" if touches else ""),
    }
    return fence(item.ref, fields, text)


def check_draft_items(slug: str, kept: int, *, minimum: int) -> None:
    """Refuse a draft from fewer than `minimum` relevant items, naming both counts."""
    if kept < minimum:
        raise TooFewItemsError(
            f"brief {slug!r} not drafted: {kept} relevant item(s) collected, a first version needs at "
            f"least {minimum}; add feeds or queries to its brief.yaml, or wait for more news"
        )


_E = TypeVar("_E", bound=StrictModel)


def _cleaned(edit: _E) -> _E:
    """`edit` with its text fields cleaned (`clean_text`); the same object when nothing changes."""
    update = {
        name: clean_text(value, multiline=True)
        for name, value in edit
        if isinstance(value, str) and clean_text(value, multiline=True) != value
    }
    return edit.model_copy(update=update) if update else edit


async def propose(
    client: LLMClient,
    brief: Brief,
    kept: list[TriagedItem],
    *,
    slug: str,
    run_date: dt.date,
    scope: str | None = None,
) -> ProposeResult:
    """Ask for edits to `brief` from `kept` (relevant first). Nothing kept, no call, no edits.

    A brief at version 0 (its skeleton) is drafted: the `draft` prompt asks for every section."""
    settings = client.settings
    stage = "draft" if brief.version == 0 else "propose"
    if not kept:
        return ProposeResult(
            batch=EditBatch(items=[], edits=[], whats_new=None),
            stats=CallStats(),
            items_offered=0,
            items_sent=0,
        )
    budget = int(settings.propose_token_budget * settings.chars_per_token)
    chosen, truncated = budget_items(kept, budget_chars=budget)
    shown = [_fenced(triaged, text) for triaged, text in chosen]
    if stage == "draft":
        # The skeleton has no text to show: a reader's rendering of it would be a bare header.
        prompt = client.prompts.render(
            "draft", brief=brief, items=shown, scope=scope, run_date=run_date.isoformat()
        )
    else:
        prompt = client.prompts.render(
            "propose",
            brief=brief,
            brief_text=brief_text(brief),
            items=shown,
            scope=scope,
            run_date=run_date.isoformat(),
        )
    result = await client.structured(prompt, EditList, stage=stage, brief=slug, model=settings.propose_model)
    # The batch carries the items' full text: the merger checks names in edits against it.
    items: list[BatchItem] = [triaged.item for triaged, _ in chosen]
    # A model can echo what a page smuggled in (an escape sequence, a bidi override): the edits
    # become a published brief that terminals and browsers show, so they are cleaned like items.
    edits = [_cleaned(edit) for edit in result.value.edits]
    drafted = result.value.whats_new
    whats_new = None if drafted is None else [clean_text(p, multiline=True) for p in drafted]
    return ProposeResult(
        batch=EditBatch(items=items, edits=edits, whats_new=whats_new),
        stats=result.stats,
        items_offered=len(kept),
        items_sent=len(chosen),
        truncated=truncated,
        cached=result.cached,
    )
