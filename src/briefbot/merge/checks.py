"""The merger's checks on a single edit: pure functions, each failure a reason the editor reads.

Split from `merge.py` so the rules an edit must pass sit apart from the bookkeeping of applying it.
"""

from __future__ import annotations

import datetime as dt
import re

from briefbot.merge._text import (
    _CALENDAR_RE,
    _CAPITAL_NEXT_RE,
    _NAME_RE,
    _ORDINARY_WORD_RE,
    _POSSESSIVE_RE,
    _SENTENCE_WORDS,
    _WORD_RE,
    _opens_sentence,
    sentences,
)
from briefbot.merge.figures import KnownFigures, known_figures, unknown_figures
from briefbot.models import (
    EDIT_CITATION_RE,
    AddOpenQuestion,
    AddPerspective,
    AddTimelineEntry,
    BatchItem,
    Brief,
    Edit,
    RetireOpenQuestion,
    ReviseSection,
    UpdatePerspective,
    check_partial_date,
)
from briefbot.untrusted import injection_flags

# Upper bounds on what one edit may write, in characters, so a runaway answer cannot bloat a brief.
MAX_CHARS = {"summary": 600, "actor": 120, "text": 1500, "stance": 1000, "evolution": 1200, "section": 4000}


class Rejected(Exception):
    """An edit the merger refuses; the message is the reason the editor reads."""


def brief_texts(brief: Brief) -> list[str]:
    texts = [
        brief.title,
        *brief.what,
        *brief.why_it_matters,
        *brief.open_questions,
        *brief.narrative,
        *brief.tensions,
    ]
    texts += [e.text for e in brief.timeline]
    texts += [f"{p.actor} {p.stance} {p.evolution or ''}" for p in brief.perspectives]
    texts += [f"{s.title} {s.publisher or ''}" for s in brief.sources]
    if brief.status:
        texts.append(brief.status)
    if brief.whats_new:
        texts += brief.whats_new.paragraphs
    return texts


def vocabulary(texts: list[str]) -> tuple[set[str], set[str]]:
    joined = "\n".join(texts)
    return set(_NAME_RE.findall(joined)), set(_WORD_RE.findall(joined.lower()))


def brief_known_figures(brief: Brief) -> KnownFigures:
    """The figures the brief mentions: its text, and its own dates (timeline, sources, its date),
    which count as mentioned as the cited items' dates do."""
    return known_figures(
        [
            *brief_texts(brief),
            *(e.date for e in brief.timeline),
            *(s.date or "" for s in brief.sources),
            brief.date.isoformat(),
        ]
    )


def text_fields(edit: Edit) -> list[tuple[str, str]]:
    """The (limit key, text) pairs an edit writes, in the order citations are numbered."""
    fields: list[tuple[str, str]] = []
    if isinstance(edit, (UpdatePerspective, AddPerspective)):
        fields.append(("actor", edit.actor))
        for name in ("stance", "evolution"):
            value = getattr(edit, name)
            if value is not None:
                fields.append((name, value))
    elif isinstance(edit, ReviseSection):
        fields.append(("section", edit.text))
    elif not isinstance(edit, RetireOpenQuestion):
        fields.append(("text", edit.text))
    return fields


def markers(edit: Edit) -> list[str]:
    found: list[str] = []
    for _, text in [*text_fields(edit), ("summary", edit.summary)]:
        found += EDIT_CITATION_RE.findall(text)
    return list(dict.fromkeys(found))


# -- checks ------------------------------------------------------------------------------------


def check_lengths(edit: Edit) -> None:
    for key, text in [("summary", edit.summary), *text_fields(edit)]:
        if not EDIT_CITATION_RE.sub("", text).strip():
            raise Rejected(f"{key} is empty")
        if len(text) > MAX_CHARS[key]:
            raise Rejected(f"{key} is {len(text)} characters, over the limit of {MAX_CHARS[key]}")
    if isinstance(edit, UpdatePerspective) and edit.stance is None and edit.evolution is None:
        raise Rejected("changes nothing: stance and evolution are both null")
    if isinstance(edit, (UpdatePerspective, AddPerspective)) and EDIT_CITATION_RE.search(edit.actor):
        # An actor is a name, not a claim; a citation in it would never be mapped to a source.
        raise Rejected(f"actor {edit.actor!r} contains a citation; cite in the stance or evolution")


def check_citations(cites: list[str], *, items: dict[str, BatchItem], base: Brief) -> None:
    if not cites:
        raise Rejected("cites nothing: an edit must cite a batch item [new:K] or a source [N]")
    for marker in cites:
        if marker.startswith("new:"):
            if marker not in items:
                known = ", ".join(sorted(items, key=lambda r: int(r[4:]))) or "none"
                raise Rejected(f"cites [{marker}], which is not an item of this batch (items: {known})")
        elif base.source(int(marker)) is None:
            raise Rejected(
                f"cites [{marker}], which is not a source of v{base.version} (sources 1-{base.next_source_number() - 1})"
            )


def edit_warnings(
    edit: Edit,
    cites: list[str],
    *,
    items: dict[str, BatchItem],
    base: Brief,
    known: tuple[set[str], set[str]],
    brief_figures: KnownFigures | None = None,
    item_figures: dict[str, KnownFigures] | None = None,
) -> list[str]:
    """What the editor should check: names and figures no cited item or the brief mentions,
    instruction-like text in a cited item, a timeline date no cited item carries."""
    cited: list[str] = []
    dates: list[str] = []
    for marker in cites:
        if marker.startswith("new:"):
            item = items[marker]
            cited += [item.title, item.publisher or "", item.text or ""]
            dates.append(item.published or "")
        else:
            source = base.source(int(marker))  # known: check_citations ran first
            dates.append(source.date or "" if source is not None else "")
    plains = [EDIT_CITATION_RE.sub("", text) for _, text in text_fields(edit)]
    found_problems: list[str] = []
    for marker in dict.fromkeys(cites):
        if marker.startswith("new:"):
            # Fetched text that reads like instructions to the model: the editor should know.
            flags = injection_flags(items[marker].text or "")
            if flags:
                found_problems.append(
                    f"[{marker}] contains instruction-like text (treated as data): {'; '.join(flags)}"
                )
    names = unknown_names(plains, cited=vocabulary(cited), known=known)
    if names:
        found_problems.append(f"names found neither in the cited items nor in the brief: {', '.join(names)}")
    brief_side = brief_figures if brief_figures is not None else brief_known_figures(base)
    seen = brief_side
    for marker in dict.fromkeys(m for m in cites if m.startswith("new:")):
        if item_figures is None or marker not in item_figures:
            item = items[marker]
            found = known_figures([item.title, item.publisher or "", item.text or "", item.published or ""])
            if item_figures is None:
                seen |= found
                continue
            item_figures[marker] = found
        seen |= item_figures[marker]
    seen |= known_figures(dates)  # existing sources' dates
    unsupported = unknown_figures(plains, known=seen)
    if unsupported:
        found_problems.append(
            f"figures found neither in the cited items nor in the brief: {', '.join(unsupported)}"
        )
    if isinstance(edit, AddTimelineEntry):
        grounded = any(d.startswith(edit.date) for d in dates) or any(edit.date in text for text in cited)
        if not grounded:
            listed = ", ".join(d for d in dates if d) or "none"
            found_problems.append(f"date {edit.date} is not a date of a cited item (their dates: {listed})")
    return found_problems


# -- a first draft ---------------------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    """A text's paragraphs (split on blank lines), whitespace collapsed."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def check_draft_sentences(edit: Edit) -> None:
    """Reject a first draft's edit with a sentence that cites nothing (see `merger`'s docstring)."""
    if isinstance(edit, AddOpenQuestion) or (isinstance(edit, ReviseSection) and edit.section == "status"):
        return
    for key, text in text_fields(edit):
        if key == "actor":
            continue
        for paragraph in paragraphs(text):
            for sentence in _cited_sentences(paragraph):
                if not EDIT_CITATION_RE.search(sentence):
                    short = sentence if len(sentence) <= 80 else sentence[:77] + "..."
                    raise Rejected(
                        f"a first draft cites every sentence; this {key} has one without: {short!r}"
                    )


# Fewer words than this is a fragment ("Q3 2026."), not a sentence: it joins the next.
_MIN_SENTENCE_WORDS = 4


def _cited_sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences (`_text.sentences`), a fragment joined to the one after it."""
    out: list[str] = []
    pending = ""
    for sentence in sentences(paragraph):
        piece = pending + sentence
        if len(piece.split()) < _MIN_SENTENCE_WORDS:
            pending = piece + " "
            continue
        out.append(piece)
        pending = ""
    if pending:
        out.append(pending.rstrip())
    return out


# -- names -------------------------------------------------------------------------------------


def unknown_names(
    plains: list[str], *, cited: tuple[set[str], set[str]], known: tuple[set[str], set[str]]
) -> list[str]:
    """Capitalised words and model-like tokens of `plains` (texts without citation markers) that
    neither the cited items nor the brief mention, in order of first appearance.

    A name is known when it appears with the same spelling in the cited items or the brief, or when
    it is an ordinary word: one in the list of sentence words ("However", "The"), a month or weekday,
    or one that appears in lower case there. "GLM-5.1's" is the name GLM-5.1.

    The rule for a sentence's first word. A word opens a sentence when it stands at the start of the
    text or after . ! ? : ; and whitespace (or a line break), optionally behind an opening quote or
    bracket. Such a word is capitalised by grammar, so it is not read as a name ("Hardened: the
    union...", "Significantly, NVIDIA...", "Answered its critics") when both
    - it is shaped like an ordinary word: one capital, then lower-case letters only; no digit,
      hyphen, dot or inner capital (GLM-5.1, OpenAI and NVIDIA look like names wherever they stand),
    - and the next word is not capitalised: "Zorblax Labs disputes..." opens with a two-word name.
    A name that only ever opens a sentence is missed; one written mid-sentence anywhere in the text
    is flagged there.
    """
    names: list[str] = []
    for plain in plains:
        for match in _NAME_RE.finditer(plain):
            # "GLM-5.1's" names GLM-5.1: the possessive is grammar, not part of the name.
            name = _POSSESSIVE_RE.sub("", match.group(0))
            if (
                _opens_sentence(plain, match.start())
                and _ORDINARY_WORD_RE.match(name)
                and not _CAPITAL_NEXT_RE.match(plain[match.end() :])
            ):
                continue
            if name in known[0] or name in cited[0] or _CALENDAR_RE.match(name):
                continue
            lower = name.lower()
            # A capitalised ordinary word ("However") is known in lower case somewhere.
            if lower not in _SENTENCE_WORDS and lower not in known[1] and lower not in cited[1]:
                names.append(name)
    return list(dict.fromkeys(names))


def check_date(value: str, run_date: dt.date) -> None:
    try:
        check_partial_date(value)
    except ValueError as exc:
        raise Rejected(f"malformed date {value!r}: {exc}") from None
    year, month, day = (int(p) for p in (value + "-01-01")[:10].split("-"))
    if dt.date(year, month, day) > run_date:
        raise Rejected(f"date {value} is later than the run date {run_date.isoformat()}")
