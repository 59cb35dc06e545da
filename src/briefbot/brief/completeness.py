"""Whether a parsed brief is whole: the checks `briefbot import` makes after `parse_text`.

`parse_text` accepts any prefix of a brief that happens to end at a line the format allows: a file
cut after a paragraph, or in the middle of one, is still a well-formed brief with fewer sections.
Published versions are immutable, so a truncated file imported by mistake would stay forever
(issue 17, item 2). The importer therefore also asks that the brief be complete:

- the `Status: ...` line is present: it is the last section before Sources, so any cut above it
  loses it, and the drafting prompt always writes it;
- every citation `[n]` outside the Sources list names a listed source, so a cut inside or before
  the list leaves a citation pointing nowhere;
- the header's item count is at least the number of sources: every source was a collected item
  (the merger adds one item per new source), so more sources than items cannot be a real brief.

- the last source line is whole: a file cut inside it leaves a line with no ` — Label` where every
  other source has one, an empty label, an unclosed `(date`, or a label that is the start of
  another source's label cut mid-word (`reactive:open-model-capabi`, `Medi` beside `Medium`).

What no check can see is a cut inside the trailing run of sources nobody cites, exactly at the end
of a line: that is a valid brief with a shorter list. docs/format.md says so.

These rules are separate from `parse_text` because they are about the brief's meaning, not its
lines: the parser still reads any fragment (tests and the round trip need that).
"""

from __future__ import annotations

import re

from briefbot.brief._lines import HEADINGS, doc_link
from briefbot.errors import FormatError
from briefbot.models import Brief

_CITATION_RE = re.compile(r"\[([1-9]\d*)\]")
_HEADER_LINE = 5  # site, blank, title, blank, header


def check_complete(brief: Brief, text: str, *, path: str | None = None) -> None:
    """Raise FormatError (naming the line, linking docs/format.md) if `brief`, parsed from `text`,
    is not a whole brief by the rules in this module's docstring."""
    lines = text.removesuffix("\n").split("\n")
    link = doc_link("complete")
    if brief.status is None:
        raise FormatError(
            f"the file ends at line {len(lines)} without the 'Status: ...' line; a brief that stops "
            f"before its Status line looks cut short and is refused (see {link})",
            line=len(lines) + 1,
            path=path,
        )
    listed = {source.number for source in brief.sources}
    sources_at = _sources_heading(lines)
    for number, line in enumerate(lines[:sources_at], start=1):
        for match in _CITATION_RE.finditer(line):
            cited = int(match.group(1))
            if cited not in listed:
                have = f"sources {_ranges(listed)}" if listed else "no Sources section"
                raise FormatError(
                    f"cites [{cited}], which the Sources list does not have (the file has {have}); "
                    f"a citation pointing nowhere means the file was cut short or edited by hand (see {link})",
                    line=number,
                    path=path,
                )
    cut = _last_source_cut(brief)
    if cut is not None:
        raise FormatError(
            f"the last source line looks cut short: {cut}; a file that ends inside a line is refused (see {link})",
            line=len(lines),
            path=path,
        )
    if brief.item_count < len(brief.sources):
        noun = "item" if brief.item_count == 1 else "items"
        raise FormatError(
            f"the header says {brief.item_count} {noun} but the brief lists {len(brief.sources)} sources; "
            f"every source is a collected item, so the count must be at least {len(brief.sources)} (see {link})",
            line=_HEADER_LINE,
            path=path,
        )


def _last_source_cut(brief: Brief) -> str | None:
    """Why the last source line reads as the start of a longer line, or None when it reads whole.

    Only the last line can be cut (the file ends there), and only against the other lines of the
    same list can a cut be told from a short label: a label is never judged on its own."""
    if len(brief.sources) < 2:
        return None
    last, others = brief.sources[-1], brief.sources[:-1]
    label = last.label
    if label is None:
        if all(source.label is not None for source in others):
            return "it has no ' — Label' while every other source has one"
        return None
    if not label.strip():
        return "its label after ' — ' is empty"
    if label.count("(") > label.count(")"):
        return f"its label {label!r} opens a '(' it never closes"
    for source in others:
        longer = source.label
        if (
            longer is not None
            and len(longer) > len(label)
            and longer.startswith(label)
            and not longer[len(label)].isspace()
        ):
            return f"its label {label!r} is the start of source [{source.number}]'s {longer!r}"
    return None


def _sources_heading(lines: list[str]) -> int:
    """The 0-based index of the Sources heading, or the line count when there is none."""
    heading = HEADINGS["sources"]
    # The heading is the last one, so the last exact match is it (a paragraph cannot be one).
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] == heading:
            return index
    return len(lines)


def _ranges(numbers: set[int]) -> str:
    """`1-32, 37, 38`: a short way to show which source numbers exist."""
    parts: list[str] = []
    ordered = sorted(numbers)
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)
