"""PURE: the candidate's What's new, judged or assembled.

The proposer may write a What's new draft in the seed's style (the news and why it matters, cited
like the edits). The merger is still the judge, and deterministically: the draft is used only if

- every bracket in it that reads as a citation marker (a digit or "new:" inside) is one, `[N]` or
  `[new:K]`: "[NEW:1]", "[ new:1 ]" or "[12, 13]" would be published as written, unresolved;
- every citation in it resolves to a source that an *applied* edit cites (an editor's rejection of
  an edit can therefore unseat a draft that leaned on it);
- it is at most `MAX_WORDS` words (markers and lone punctuation not counted) in at most
  `MAX_PARAGRAPHS` paragraphs;
- no citation carries more than `MAX_MARKERS` sources at once (`[1][2][3]`, not the 15-marker runs of
  an assembly of every summary). Counted per run of adjacent markers, not per sentence: the seed's
  own What's new, the standard a draft aims at, cites [12][13][14] and then [10] in one sentence;
- it keeps the fault-line rule: when no edit adds a tension it closes with `NO_NEW_FAULT_LINES`
  (appended when the draft leaves it out), and when one does, it does not say there was none.

An editor's own What's new passes the same shape rules (`shape_fault`), with `[N]` the only marker.

Otherwise the What's new is a *compact assembly* of the applied edits' summaries, split into
sentences: the first sentence of each summary, major summaries first, then second sentences and so
on, at most `MAX_SENTENCES` sentences and `MAX_WORDS` words counting the closing fault-line sentence
(the assembly stops at the first sentence that would pass the cap; a first sentence too long alone is
cut). A sentence's markers, of any form, are taken out of its text (with the commas between them)
and it ends with at most `MAX_MARKERS` of the sources it cites (a summary's first sentence: its own
`[N]`, then its edit's sources; a later one: its own, else its edit's),
deduplicated and ascending; an odd form such as "[12, 13]" cites nothing and is dropped. The result
says which was used and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefbot.merge._text import sentences
from briefbot.models import CITATION_RE, EDIT_CITATION_RE

NO_NEW_FAULT_LINES = "No new fault lines emerged this pass."
MAX_WORDS = 120
MAX_PARAGRAPHS = 2
MAX_MARKERS = 3
MAX_SENTENCES = 4

_MARKERS_RE = re.compile(r"(?:\s*\[(?:new:\d+|\d+)\])+")
# A bracket that reads as a citation marker: a digit or "new:" inside ("[12, 13]", "[ new:1 ]",
# "[NEW:1]"). Only "[N]" (and, in a draft, "[new:K]") is one; "[sic]" or "[the lab]" are not markers.
_BRACKET_RE = re.compile(r"\[[^\[\]\n]{0,60}\]")
_MARKER_LIKE_RE = re.compile(r"\d|new\s*:", re.IGNORECASE)
# A run of markers of any form, commas between them included ("[3], [4]"), with the space before it.
_MARKER_RUN_RE = re.compile(r"\s*\[[^\[\]\n]{0,60}\](?:\s*,?\s*\[[^\[\]\n]{0,60}\])*")


@dataclass(frozen=True)
class Summary:
    """One applied edit as the assembly sees it: its summary and the sources it cites, in order."""

    major: bool
    text: str  # already mapped: [new:K] -> [N]
    sources: list[int]


@dataclass(frozen=True)
class Outcome:
    paragraphs: list[str]
    origin: str  # "draft" or "assembled"
    note: str  # why: the draft's fault, or that there was none


def odd_markers(paragraphs: list[str], *, allow_new: bool) -> list[str]:
    """Brackets of `paragraphs` that read as citation markers but are not one: anything but `[N]`
    (and `[new:K]` when `allow_new`) with a digit or "new:" inside, as written, in order."""
    valid = EDIT_CITATION_RE if allow_new else CITATION_RE
    odd = [
        m.group(0)
        for p in paragraphs
        for m in _BRACKET_RE.finditer(p)
        if not valid.fullmatch(m.group(0)) and _MARKER_LIKE_RE.search(m.group(0))
    ]
    return list(dict.fromkeys(odd))


def crowded_marker_run(paragraphs: list[str]) -> int:
    """The most sources one run of adjacent markers carries (0 when there is none)."""
    runs = [len(EDIT_CITATION_RE.findall(g)) for p in paragraphs for g in _MARKERS_RE.findall(p)]
    return max(runs, default=0)


def word_count(paragraphs: list[str]) -> int:
    """Words, not markers or punctuation standing alone ("—", the "." after "… [1]")."""
    return sum(
        1 for p in paragraphs for w in EDIT_CITATION_RE.sub(" ", p).split() if any(c.isalnum() for c in w)
    )


def judge_draft(
    draft: list[str] | None,
    *,
    markers_to_sources: dict[str, int],
    applied_sources: set[int],
    tension_added: bool,
) -> tuple[list[str] | None, str]:
    """The draft with its markers mapped to source numbers, or None and the reason it was refused."""
    if draft is None:
        return None, "the proposer wrote no What's new draft"
    paragraphs = [" ".join(p.split()) for p in draft if p.strip()]
    if not paragraphs:
        return None, "the What's new draft is empty"
    fault = shape_fault(paragraphs, allow_new=True)
    if fault is not None:
        return None, f"the What's new draft {fault}"
    mapped = []
    for paragraph in paragraphs:
        unresolved: list[str] = []

        def number(match: re.Match[str], unresolved: list[str] = unresolved) -> str:
            marker = match.group(1)
            source = markers_to_sources.get(marker) if marker.startswith("new:") else int(marker)
            if source is None or source not in applied_sources:
                unresolved.append(f"[{marker}]")
                return match.group(0)
            return f"[{source}]"

        text = EDIT_CITATION_RE.sub(number, paragraph)
        if unresolved:
            return None, (
                f"the What's new draft cites {', '.join(dict.fromkeys(unresolved))}, "
                "which no applied edit cites"
            )
        mapped.append(text)
    says_none = any(NO_NEW_FAULT_LINES.lower() in p.lower() for p in mapped)
    if tension_added and says_none:
        return (
            None,
            "the What's new draft says no new fault lines emerged, but an applied edit adds a tension",
        )
    if not tension_added and not says_none:
        mapped[-1] = f"{mapped[-1]} {NO_NEW_FAULT_LINES}"
    return mapped, "the proposer's draft passed every check"


def shape_fault(paragraphs: list[str], *, allow_new: bool) -> str | None:
    """What is wrong with a What's new's shape, as the end of a sentence naming it, or None: a
    marker-like bracket that is no marker, too many paragraphs or words, a crowded marker run."""
    odd = odd_markers(paragraphs, allow_new=allow_new)
    if odd:
        plain = "[N] or [new:K]" if allow_new else "[N]"
        return f"has citation markers that are not one: {', '.join(odd)} (a marker is written {plain})"
    if len(paragraphs) > MAX_PARAGRAPHS:
        return f"has {len(paragraphs)} paragraphs (at most {MAX_PARAGRAPHS})"
    words = word_count(paragraphs)
    if words > MAX_WORDS:
        return f"has {words} words (at most {MAX_WORDS})"
    crowded = crowded_marker_run(paragraphs)
    if crowded > MAX_MARKERS:
        return f"has a citation carrying {crowded} sources at once (at most {MAX_MARKERS})"
    return None


def assemble(summaries: list[Summary], *, tension_added: bool) -> list[str]:
    """The compact assembly: the summaries' sentences, major summaries first, the first sentence of
    each before any second one; at most MAX_SENTENCES of them and MAX_WORDS words with the closing
    fault-line sentence (the first sentence is cut to fit if it alone is too long)."""
    ordered = sorted(summaries, key=lambda s: 0 if s.major else 1)
    split = [_summary_sentences(summary) for summary in ordered]
    closing = [] if tension_added else [NO_NEW_FAULT_LINES]
    budget = MAX_WORDS - word_count(closing)
    chosen: list[tuple[int, int]] = []  # (summary, sentence) positions, in the order taken
    words = 0
    rounds = max((len(parts) for parts in split), default=0)
    for depth in range(rounds):  # first sentences first, then second ones, ...
        for which, parts in enumerate(split):
            if depth >= len(parts) or len(chosen) == MAX_SENTENCES:
                continue
            size = word_count([parts[depth][0]])
            if words + size > budget:
                if chosen:
                    break
                parts[depth] = (_cut(parts[depth][0], budget), parts[depth][1])
                size = budget
            chosen.append((which, depth))
            words += size
        else:
            continue
        break
    body = [_cited(*split[which][depth]) for which, depth in sorted(chosen)]
    return [" ".join([*body, *closing])]


# Fewer words than this is an abbreviation's tail ("U.S."), not a sentence: it joins the next.
_MIN_SENTENCE_WORDS = 4


def _summary_sentences(summary: Summary) -> list[tuple[str, list[int]]]:
    """A summary's sentences without their markers, each with the sources it cites (see the
    module's docstring). An odd marker ("[12, 13]") is dropped, as
    everywhere it cites nothing."""
    pieces: list[str] = []
    for piece in sentences(" ".join(summary.text.split())):
        if pieces and word_count([pieces[-1]]) < _MIN_SENTENCE_WORDS:
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    out: list[tuple[str, list[int]]] = []
    for piece in pieces:
        inline = [int(n) for n in CITATION_RE.findall(piece)]
        text = _MARKER_RUN_RE.sub("", piece)
        text = _SPACE_BEFORE_RE.sub(r"\1", text)  # "grew , and" -> "grew, and"
        text = _DOUBLE_PUNCT_RE.sub(r"\1", text).strip(" ,;:")
        if not text.strip():
            continue
        # The first sentence speaks for the edit: its own markers first, then the edit's sources.
        cites = [*inline, *summary.sources] if not out else inline or list(summary.sources)
        out.append((" ".join(text.split()), cites))
    return out


_SPACE_BEFORE_RE = re.compile(r"\s+([,.;:!?])")
_DOUBLE_PUNCT_RE = re.compile(r"[,;:]\s*([,.;:!?])")


def _cut(text: str, words: int) -> str:
    return " ".join(text.split()[: max(words, 1)]).rstrip(".,;:!?") + "…"


def _cited(text: str, sources: list[int]) -> str:
    """The sentence ending with at most MAX_MARKERS of its sources, deduplicated and ascending."""
    cited = sorted(list(dict.fromkeys(sources))[:MAX_MARKERS])
    end = text[-1] if text.endswith((".", "!", "?")) else "."
    body = text[:-1] if text.endswith((".", "!", "?")) else text
    markers = "".join(f"[{n}]" for n in cited)
    return f"{body} {markers}{end}" if markers else f"{body}{end}"


def decide(
    draft: list[str] | None,
    summaries: list[Summary],
    *,
    markers_to_sources: dict[str, int],
    tension_added: bool,
) -> Outcome:
    """The What's new the candidate carries: the draft if it passes, else the compact assembly."""
    applied_sources = {n for s in summaries for n in s.sources}
    judged, why = judge_draft(
        draft,
        markers_to_sources=markers_to_sources,
        applied_sources=applied_sources,
        tension_added=tension_added,
    )
    if judged is not None:
        return Outcome(paragraphs=judged, origin="draft", note=why)
    return Outcome(paragraphs=assemble(summaries, tension_added=tension_added), origin="assembled", note=why)
