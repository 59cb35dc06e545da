"""PURE: the candidate's What's new, judged or assembled.

The proposer may write a What's new draft in the seed's style (the news and why it matters, cited
like the edits). The merger is still the judge, and deterministically: the draft is used only if

- every citation in it resolves to a source that an *applied* edit cites (an editor's rejection of
  an edit can therefore unseat a draft that leaned on it);
- it is at most `MAX_WORDS` words (citation markers not counted) in at most `MAX_PARAGRAPHS`
  paragraphs;
- no citation carries more than `MAX_MARKERS` sources at once (`[1][2][3]`, not the 15-marker runs of
  an assembly of every summary). Counted per run of adjacent markers, not per sentence: the seed's
  own What's new, the standard a draft aims at, cites [12][13][14] and then [10] in one sentence;
- it keeps the fault-line rule: when no edit adds a tension it closes with `NO_NEW_FAULT_LINES`
  (appended when the draft leaves it out), and when one does, it does not say there was none.

Otherwise the What's new is a *compact assembly* of the applied edits' summaries: major ones first,
at most `MAX_SENTENCES` of them, each ending with at most `MAX_MARKERS` of its citations, those
deduplicated and ascending; then the fault-line sentence. The result says which was used and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefbot.models import CITATION_RE, EDIT_CITATION_RE

NO_NEW_FAULT_LINES = "No new fault lines emerged this pass."
MAX_WORDS = 120
MAX_PARAGRAPHS = 2
MAX_MARKERS = 3
MAX_SENTENCES = 4

# A sentence ends at . ! or ? followed by space and a capital, a quote or a bracket, or at the end;
# citations after the full stop ("... rose [3][4].") stay with their sentence.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])(?:\s*\[(?:new:\d+|\d+)\])*\s+(?=[A-Z0-9\"“‘(\[])")
_MARKERS_RE = re.compile(r"(?:\s*\[(?:new:\d+|\d+)\])+")


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


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END_RE.split(paragraph.strip()) if s.strip()]


def word_count(paragraphs: list[str]) -> int:
    return sum(len(EDIT_CITATION_RE.sub(" ", p).split()) for p in paragraphs)


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
    if len(paragraphs) > MAX_PARAGRAPHS:
        return None, f"the What's new draft has {len(paragraphs)} paragraphs (at most {MAX_PARAGRAPHS})"
    words = word_count(paragraphs)
    if words > MAX_WORDS:
        return None, f"the What's new draft has {words} words (at most {MAX_WORDS})"
    for paragraph in paragraphs:
        for group in _MARKERS_RE.findall(paragraph):
            count = len(EDIT_CITATION_RE.findall(group))
            if count > MAX_MARKERS:
                return None, f"a What's new citation carries {count} sources at once (at most {MAX_MARKERS})"
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


def assemble(summaries: list[Summary], *, tension_added: bool) -> list[str]:
    """The compact assembly: major summaries first, at most MAX_SENTENCES, cited sparingly."""
    ordered = sorted(summaries, key=lambda s: 0 if s.major else 1)[:MAX_SENTENCES]
    parts = [_sentence(summary) for summary in ordered]
    if not tension_added:
        parts.append(NO_NEW_FAULT_LINES)
    return [" ".join(parts)]


def _sentence(summary: Summary) -> str:
    inline = [int(n) for n in CITATION_RE.findall(summary.text)]
    cited = list(dict.fromkeys([*inline, *summary.sources]))[:MAX_MARKERS]
    text = " ".join(_MARKERS_RE.sub("", summary.text).split()).rstrip()
    if not text.endswith((".", "!", "?")):
        text += "."
    if not cited:
        return text
    return f"{text[:-1]} {''.join(f'[{n}]' for n in sorted(cited))}{text[-1]}"


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
