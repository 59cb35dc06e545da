"""PURE: the names and figures checks run on a What's new: the proposer's draft (in the merger) and
the editor's own text (`briefbot whats-new`). They warn, never refuse, as for an edit.

A What's new is checked against the items its markers cite (title, publisher, text, publication
date) and the candidate brief without its What's new (the text the What's new speaks of: the base
with every applied edit, whose own figures were checked when it was merged)."""

from __future__ import annotations

from briefbot.merge.checks import brief_known_figures, brief_texts, unknown_names, vocabulary
from briefbot.merge.figures import known_figures, unknown_figures
from briefbot.models import CITATION_RE, EDIT_CITATION_RE, BatchItem, Brief


def text_warnings(paragraphs: list[str], *, cited: list[str], brief: Brief) -> list[str]:
    """Names and figures of `paragraphs` that neither `cited` (the cited items' texts) nor `brief`
    mention, as warnings the editor reads."""
    context = brief.model_copy(update={"whats_new": None})
    plains = [EDIT_CITATION_RE.sub("", p) for p in paragraphs]
    warnings: list[str] = []
    names = unknown_names(plains, cited=vocabulary(cited), known=vocabulary(brief_texts(context)))
    if names:
        warnings.append(
            f"What's new: names found neither in the cited items nor in the brief: {', '.join(names)}"
        )
    figures = unknown_figures(plains, known=brief_known_figures(context) | known_figures(cited))
    if figures:
        warnings.append(
            f"What's new: figures found neither in the cited items nor in the brief: {', '.join(figures)}"
        )
    return warnings


def item_texts(item: BatchItem) -> list[str]:
    return [item.title, item.publisher or "", item.text or "", item.published or ""]


def editor_text_warnings(paragraphs: list[str], *, candidate: Brief, items: list[BatchItem]) -> list[str]:
    """The checks on an editor's What's new: its `[N]` cite the candidate's sources, and a source
    that came from a batch item is read through that item's text."""
    by_url = {item.url: item for item in items}
    cited: list[str] = []
    for number in dict.fromkeys(int(n) for p in paragraphs for n in CITATION_RE.findall(p)):
        source = candidate.source(number)
        if source is None:
            continue
        item = by_url.get(source.url) if source.url else None
        cited += item_texts(item) if item is not None else [source.title, source.date or ""]
    return text_warnings(paragraphs, cited=cited, brief=candidate)
