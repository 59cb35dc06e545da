"""The line rules of the seed's text format and its renderer (see `textformat` for the format).

The parser in `textformat` uses the same rules, so what the renderer accepts it can read back.
"""

from __future__ import annotations

import re

from briefbot.errors import FormatError
from briefbot.models import Brief, Perspective, Source

BULLET = "  • "
SEP = " · "
EVOLUTION = "Evolution: "
STATUS = "Status: "

# Section keys in the order the format writes them, with their fixed headings.
HEADINGS: dict[str, str] = {
    "what": "What",
    "why_it_matters": "Why it matters",
    "open_questions": "Open questions",
    "narrative": "Narrative",
    "timeline": "Timeline",
    "perspectives": "Perspectives",
    "tensions": "Tensions",
    "sources": "Sources",
}
ORDER = (
    "whats_new",
    "what",
    "why_it_matters",
    "open_questions",
    "narrative",
    "timeline",
    "perspectives",
    "tensions",
    "status",
    "sources",
)
_BY_HEADING = {heading: key for key, heading in HEADINGS.items()}
_FOLDED_HEADINGS = {h.casefold() for h in HEADINGS.values()} | {"status", "status:"}
_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
_DATE_SUFFIX_RE = re.compile(rf"^(.*) \(({_DATE})\)$")

# Every import and render error ends with a link to the part of the format's description it is about.
FORMAT_DOC = "docs/format.md"
DOC_ANCHORS: dict[str, str] = {
    "file": "file-layout",
    "header": "header-line",
    "sections": "sections",
    "whats_new": "paragraph-sections",
    "what": "paragraph-sections",
    "why_it_matters": "paragraph-sections",
    "narrative": "paragraph-sections",
    "open_questions": "open-questions",
    "timeline": "timeline",
    "perspectives": "perspectives",
    "tensions": "tensions",
    "status": "status",
    "sources": "sources",
    "canonical": "canonical-form",
    "complete": "complete-briefs",
}


def doc_link(part: str) -> str:
    """Where docs/format.md describes `part` (a key of DOC_ANCHORS)."""
    return f"{FORMAT_DOC}#{DOC_ANCHORS[part]}"


# --------------------------------------------------------------------------------------------
# Shared line rules (the renderer checks with the same functions the parser uses)
# --------------------------------------------------------------------------------------------


def heading_key(line: str) -> str | None:
    """The section a line opens, or None when it is not a heading."""
    if line in _BY_HEADING:
        return _BY_HEADING[line]
    if line.startswith("What's new in v"):
        return "whats_new"
    if line.startswith("Status:"):
        return "status"
    return None


def free_line_problem(line: str) -> str | None:
    """Why a paragraph, actor or stance line cannot be written, or None.

    Besides exact headings, near-misses (`Open Questions`) and bullets are refused where prose goes,
    so a misspelt heading is an error at the parser instead of silently turning into prose.
    """
    if heading_key(line) is not None:
        return "would read as a section heading"
    if line.strip().casefold() in _FOLDED_HEADINGS or line.casefold().startswith("what's new in"):
        return "looks like a misspelt section heading"
    if line.startswith(BULLET.rstrip()):
        return f"starts with a bullet {BULLET.strip()!r} where prose or an actor is expected"
    return None


def split_source_rest(rest: str) -> tuple[str, str | None, str | None]:
    """Split `Title — Label (date)` into title, label and date (label and date optional)."""
    date = None
    match = _DATE_SUFFIX_RE.match(rest)
    if match:
        rest, date = match.group(1), match.group(2)
    head, sep, label = rest.rpartition(" — ")
    if not sep:
        return rest, None, date
    return head, label, date


def source_rest(source: Source) -> str:
    rest = source.title
    if source.label is not None:
        rest += " — " + source.label
    if source.date is not None:
        rest += f" ({source.date})"
    return rest


def header_line(brief: Brief) -> str:
    noun = "item" if brief.item_count == 1 else "items"
    tail = f"{SEP}history" if brief.history_link else ""
    return (
        f"{brief.state}{SEP}v{brief.version}{SEP}{brief.date.isoformat()}{SEP}{brief.item_count} {noun}{tail}"
    )


# --------------------------------------------------------------------------------------------
# Render
# --------------------------------------------------------------------------------------------


class _Writer:
    """Collects output lines and refuses any text the parser would read back differently."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def fail(self, field: str, problem: str) -> FormatError:
        return FormatError(
            f"cannot write {field} in the text format: {problem} (see {doc_link('canonical')})",
            line=len(self.lines) + 1,
        )

    def text(self, field: str, value: str, *, prefix: str = "", free: bool = False) -> None:
        """Emit `prefix + value`; `free` lines may not read as a heading (they sit where one could)."""
        if "\n" in value or "\r" in value:
            raise self.fail(field, "contains a line break")
        if not value.strip():
            raise self.fail(field, "is empty")
        line = prefix + value
        problem = free_line_problem(line) if free else None
        if problem:
            raise self.fail(field, f"{_clip(line, 40)!r} {problem}")
        self.lines.append(line)

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def section(self, heading: str) -> None:
        self.lines += ["", heading, ""]


def render_text(brief: Brief) -> str:
    """The brief in the seed's text format (a final newline only if the parsed file had one). Raises FormatError if a field
    holds text the format cannot carry (see the module docstring)."""
    out = _Writer()
    out.text("site", brief.site)
    out.raw("")
    out.text("title", brief.title)
    out.raw("")
    out.raw(header_line(brief))
    if brief.whats_new is not None:
        out.section(f"What's new in v{brief.whats_new.version}")
        _paragraphs(out, "whats_new.paragraphs", brief.whats_new.paragraphs)
    for key in ("what", "why_it_matters"):
        if getattr(brief, key):
            out.section(HEADINGS[key])
            _paragraphs(out, key, getattr(brief, key))
    if brief.open_questions:
        out.section(HEADINGS["open_questions"])
        for i, question in enumerate(brief.open_questions):
            if i:
                out.raw("")
            out.text(f"open_questions[{i}]", question, prefix=BULLET)
    if brief.narrative:
        out.section(HEADINGS["narrative"])
        _paragraphs(out, "narrative", brief.narrative)
    if brief.timeline:
        out.section(HEADINGS["timeline"])
        for i, entry in enumerate(brief.timeline):
            out.text(f"timeline[{i}].text", entry.text, prefix=f"{BULLET}{entry.date}: ")
    if brief.perspectives:
        out.section(HEADINGS["perspectives"])
        _perspectives(out, brief.perspectives)
    if brief.tensions:
        out.section(HEADINGS["tensions"])
        for i, tension in enumerate(brief.tensions):
            out.text(f"tensions[{i}]", tension, prefix=BULLET)
    if brief.status is not None:
        out.raw("")
        out.text("status", brief.status, prefix=STATUS)
    if brief.sources:
        out.section(HEADINGS["sources"])
        _sources(out, brief.sources)
    return "\n".join(out.lines) + ("\n" if brief.final_newline else "")


def _paragraphs(out: _Writer, field: str, paragraphs: list[str]) -> None:
    for i, paragraph in enumerate(paragraphs):
        if i:
            out.raw("")
        out.text(f"{field}[{i}]", paragraph, free=True)


def _perspectives(out: _Writer, perspectives: list[Perspective]) -> None:
    for i, perspective in enumerate(perspectives):
        if i:
            out.raw("")
        for name in ("actor", "stance"):
            value = getattr(perspective, name)
            if value.startswith("Evolution:"):
                raise out.fail(f"perspectives[{i}].{name}", "starts with 'Evolution:'")
            out.text(f"perspectives[{i}].{name}", value, free=True)
            out.raw("")
        if perspective.evolution is None:
            out.lines.pop()
        else:
            out.text(f"perspectives[{i}].evolution", perspective.evolution, prefix=EVOLUTION)


def _sources(out: _Writer, sources: list[Source]) -> None:
    seen: set[int] = set()
    for i, source in enumerate(sources):
        field = f"sources[{i}]"
        if source.number in seen:
            raise out.fail(f"{field}.number", f"source number {source.number} is used twice")
        seen.add(source.number)
        if source.label is not None and (" — " in source.label or source.label.startswith("— ")):
            raise out.fail(
                f"{field} label", f"{source.label!r} contains ' — ', which separates title and label"
            )
        for name, value in (("title", source.title), ("label", source.label)):
            if value is not None and ("\n" in value or "\r" in value or not value.strip()):
                raise out.fail(f"{field}.{name}", "is empty or contains a line break")
        rest = source_rest(source)
        if split_source_rest(rest) != (source.title, source.label, source.date):
            raise out.fail(field, f"{rest!r} would not read back as title, label and date")
        out.text(field, rest, prefix=f"  {i + 1}. [{source.number}] ")


def _clip(line: str, limit: int = 60) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
