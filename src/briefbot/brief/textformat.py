"""The seed's text format: parse it into a `Brief` and render a `Brief` back, byte for byte.

The format is a sequence of lines separated by `\\n`; the seed has no trailing newline, and a file
that ends with one newline keeps it (`Brief.final_newline`):

    site                              line 1
    <blank>
    title
    <blank>
    state · vN · YYYY-MM-DD · N items · history
    then, for each non-empty section in a fixed order, a blank line, the heading, a blank line and
    its body (`Status: ...` is heading and body in one line).

Bodies: paragraph sections (What's new in vN, What, Why it matters, Narrative) are lines separated
by single blank lines; Open questions are `  • ` bullets separated by blank lines; Timeline and
Tensions are `  • ` bullets on consecutive lines (a timeline bullet is `  • DATE: text`);
Perspectives are blocks of actor, stance and an optional `Evolution: ...` line, each separated by a
blank line; Sources are consecutive lines `  N. [M] Title — Label (date)` where N is the position,
M the source number, the title is split from the label on the LAST ` — ` and ` (date)` is optional.

What cannot round-trip (and so `render_text` refuses it, naming the field): a text with a line
break, an empty or whitespace-only text, a line that reads as a heading (`What`, `Timeline`, ...,
`What's new in vN`, or starting `Status:`), an actor or stance starting `Evolution:`, a source label
containing ` — `, or an undated label (or title, when there is no label) ending in ` (YYYY[-MM[-DD]])`.

`parse_text` re-renders what it parsed and refuses any input that would not come back byte for byte,
so `render_text(parse_text(x)) == x` holds for every input it accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from briefbot.brief._lines import (
    BULLET,
    EVOLUTION,
    FORMAT_DOC,
    HEADINGS,
    ORDER,
    SEP,
    STATUS,
    _clip,
    doc_link,
    free_line_problem,
    header_line,
    heading_key,
    render_text,
    source_rest,
    split_source_rest,
)
from briefbot.errors import FormatError
from briefbot.models import Brief, Perspective, Source, TimelineEntry, WhatsNew

__all__ = [
    "FORMAT_DOC",
    "HEADINGS",
    "MAX_BRIEF_BYTES",
    "free_line_problem",
    "header_line",
    "heading_key",
    "parse_text",
    "render_text",
    "source_rest",
]

# The largest brief file `briefbot import` reads (the seed is 21.7 kB): a 50 MB file took 448 MB
# of memory to refuse or import (issue 17, item 10), and no brief is a hundred times the seed.
MAX_BRIEF_BYTES = 2_000_000

_NUMBER = r"[1-9]\d*"
_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
_WHATS_NEW_RE = re.compile(rf"^What's new in v({_NUMBER})$")
_HEADER_RE = re.compile(
    rf"^(.+?){SEP}v({_NUMBER}){SEP}(\d{{4}}-\d{{2}}-\d{{2}}){SEP}(0|{_NUMBER}) (items?)({SEP}history)?$"
)
_TIMELINE_RE = re.compile(rf"^{BULLET}({_DATE}): (.*)$")
_SOURCE_RE = re.compile(rf"^  ({_NUMBER})\. \[({_NUMBER})\] (.*)$")
_ORIGIN_RE = re.compile(r"^(feed|reactive):\S+$")
_MODEL_NAMES = {"TimelineEntry": "timeline entry", "WhatsNew": "What's new", "Brief": "header"}

# --------------------------------------------------------------------------------------------
# Parse
# --------------------------------------------------------------------------------------------


@dataclass
class _Cursor:
    lines: list[str]
    path: str | None
    pos: int = 0  # 0-based index of the next line
    part: str = "file"  # what is being read, for the link to its description (DOC_ANCHORS)

    @property
    def lineno(self) -> int:
        return self.pos + 1

    def at_end(self) -> bool:
        return self.pos >= len(self.lines)

    def peek(self) -> str | None:
        return None if self.at_end() else self.lines[self.pos]

    def error(self, message: str, *, line: int | None = None, part: str | None = None) -> FormatError:
        link = doc_link(part or self.part)
        return FormatError(f"{message} (see {link})", line=line or self.lineno, path=self.path)

    def expected(self, what: str, *, part: str | None = None) -> FormatError:
        line = self.peek()
        found = "end of file" if line is None else "a blank line" if line == "" else repr(_clip(line))
        return self.error(f"expected {what}, found {found}", part=part)

    def take(self, what: str) -> str:
        """The next non-blank line; error naming `what` if it is blank or missing."""
        line = self.peek()
        if line is None or line == "":
            raise self.expected(what)
        self.pos += 1
        return line

    def blank(self, after: str) -> None:
        """The one blank line between two parts of the file (File layout states the rule)."""
        if self.peek() != "":
            raise self.expected(f"a blank line after {after}", part="file")
        self.pos += 1


def parse_text(text: str, *, path: str | None = None) -> Brief:
    """Parse a brief in the seed's text format. Raises FormatError naming the 1-based line and what
    was expected there. Accepts only input that renders back to exactly the same text."""
    # One final newline is what most editors add; keep it as a fact of the file, so the round trip
    # stays exact. More than one is a blank line the format has no place for.
    final_newline = text.endswith("\n") and not text.endswith("\n\n")
    cursor = _Cursor((text[:-1] if final_newline else text).split("\n"), path)
    for number, line in enumerate(cursor.lines, start=1):
        if "\r" in line:
            raise cursor.error("carriage return found; the format uses \\n line endings only", line=number)
    if len(cursor.lines) > 1 and cursor.lines[-1] == "":
        raise cursor.error(
            "the file ends with a newline or blank line; the format ends right after its last line",
            line=len(cursor.lines),
        )
    fields: dict[str, object] = {
        "site": cursor.take("the site name on the first line"),
        "final_newline": final_newline,
    }
    cursor.blank("the site name")
    fields["title"] = cursor.take("the brief's title")
    cursor.blank("the title")
    cursor.part = "header"
    fields.update(_header(cursor))
    done: list[str] = []
    while not cursor.at_end():
        cursor.part = "sections"
        cursor.blank("the previous section (sections are separated by one blank line)")
        start = cursor.lineno
        line = cursor.take("a section heading")
        key = heading_key(line)
        if key is None:
            raise cursor.error(
                f"expected a section heading (one of {_next_headings(done)}), found {_clip(line)!r}",
                line=start,
            )
        if done and ORDER.index(key) <= ORDER.index(done[-1]):
            raise cursor.error(
                f"section {_clip(line)!r} is out of order or repeated: after {_title(done[-1])!r} expected one of {_next_headings(done)}",
                line=start,
            )
        done.append(key)
        cursor.part = key
        fields[key] = _section(cursor, key, line, start)
    cursor.part = "header"  # what the model checks here beyond the line rules is the header's
    brief = _build(cursor, Brief, fields, line=5)
    cursor.part = "canonical"
    _check_round_trip(cursor, brief, text)
    return brief


def _title(key: str) -> str:
    return {"whats_new": "What's new in vN", "status": "Status: ..."}.get(key) or HEADINGS[key]


def _next_headings(done: list[str]) -> str:
    rest = ORDER[ORDER.index(done[-1]) + 1 :] if done else ORDER
    return ", ".join(repr(_title(k)) for k in rest) or "none (Sources is last)"


def _header(cursor: _Cursor) -> dict[str, object]:
    line = cursor.take("the header line 'state · vN · YYYY-MM-DD · N items · history'")
    match = _HEADER_RE.match(line)
    if not match:
        raise cursor.error(
            f"expected the header 'state · vN · YYYY-MM-DD · N items[ · history]', found {_clip(line)!r}",
            line=cursor.pos,
        )
    state, version, date, count, noun, history = match.groups()
    if (noun == "item") != (count == "1"):
        raise cursor.error(
            f"expected '{count} {'item' if count == '1' else 'items'}' in the header, found '{count} {noun}'",
            line=cursor.pos,
        )
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise cursor.error(f"header date {date!r} is not a real YYYY-MM-DD day", line=cursor.pos) from None
    return {
        "state": state,
        "version": int(version),
        "date": day,
        "item_count": int(count),
        "history_link": bool(history),
    }


def _section(cursor: _Cursor, key: str, heading: str, start: int) -> object:
    if key == "status":
        value = heading[len(STATUS) :] if heading.startswith(STATUS) else ""
        if not value.strip():
            raise cursor.error("expected 'Status: <text>' with some text after 'Status: '", line=start)
        return value
    whats_new_version = 0
    if key == "whats_new":
        match = _WHATS_NEW_RE.match(heading)
        if not match:
            raise cursor.error(
                f'expected the heading "What\'s new in vN" (N a version number), found {heading!r}',
                line=start,
            )
        whats_new_version = int(match.group(1))
    if cursor.peek() is None or (cursor.peek() == "" and _is_heading_at(cursor, cursor.pos + 1)):
        # The rule is the section list's: an empty section is left out, never a bare heading.
        raise cursor.error(
            f"section {heading!r} has no content (leave an empty section out, heading and all)",
            line=start,
            part="sections",
        )
    cursor.blank(f"the heading {heading!r}")
    if key == "whats_new":
        return _build(
            cursor, WhatsNew, {"version": whats_new_version, "paragraphs": _prose(cursor)}, line=start
        )
    if key in ("what", "why_it_matters", "narrative"):
        return _prose(cursor)
    if key == "open_questions":
        return [
            _bullet(cursor, line, number)
            for number, line in _numbered_blocks(cursor, f"a question bullet '{BULLET}...'")
        ]
    if key == "tensions":
        return [
            _bullet(cursor, line, number) for number, line in _run(cursor, f"a tension bullet '{BULLET}...'")
        ]
    if key == "timeline":
        return [
            _timeline_entry(cursor, line, number)
            for number, line in _run(cursor, f"a timeline bullet '{BULLET}DATE: text'")
        ]
    if key == "perspectives":
        return _perspective_blocks(cursor)
    return _source_lines(cursor)


def _is_heading_at(cursor: _Cursor, index: int) -> bool:
    return index < len(cursor.lines) and heading_key(cursor.lines[index]) is not None


def _numbered_blocks(cursor: _Cursor, what: str) -> list[tuple[int, str]]:
    """Single-line blocks separated by one blank line, up to the next heading or the end."""
    found = [(cursor.lineno, cursor.take(what))]
    while True:
        if cursor.at_end() or _is_heading_at(cursor, cursor.pos + 1):
            return found
        if cursor.peek() != "":
            raise cursor.expected("a blank line between entries (each is a single line), or the next section")
        cursor.pos += 1
        found.append((cursor.lineno, cursor.take(what)))


def _prose(cursor: _Cursor, what: str = "a paragraph") -> list[str]:
    return [line for _, line in _checked_prose(cursor, what)]


def _checked_prose(cursor: _Cursor, what: str) -> list[tuple[int, str]]:
    blocks = _numbered_blocks(cursor, what)
    for number, line in blocks:
        problem = free_line_problem(line)
        if problem:
            raise cursor.error(f"expected {what}, found {_clip(line)!r}, which {problem}", line=number)
    return blocks


def _run(cursor: _Cursor, what: str) -> list[tuple[int, str]]:
    """Consecutive lines (no blank between) up to a blank line or the end."""
    found = [(cursor.lineno, cursor.take(what))]
    while cursor.peek():
        found.append((cursor.lineno, cursor.take(what)))
    if cursor.peek() == "" and not _is_heading_at(cursor, cursor.pos + 1):
        raise cursor.error(
            "expected the next section heading after this list (its entries are not separated by blank lines)",
            line=cursor.lineno + 1,
        )
    return found


def _bullet(cursor: _Cursor, line: str, number: int) -> str:
    if not line.startswith(BULLET) or not line[len(BULLET) :].strip():
        raise cursor.error(f"expected a bullet '{BULLET}<text>', found {_clip(line)!r}", line=number)
    return line[len(BULLET) :]


def _timeline_entry(cursor: _Cursor, line: str, number: int) -> TimelineEntry:
    match = _TIMELINE_RE.match(line)
    if not match or not match.group(2).strip():
        raise cursor.error(
            f"expected a timeline bullet '{BULLET}YYYY[-MM[-DD]]: text', found {_clip(line)!r}", line=number
        )
    return _build(cursor, TimelineEntry, {"date": match.group(1), "text": match.group(2)}, line=number)


def _perspective_blocks(cursor: _Cursor) -> list[Perspective]:
    blocks = _checked_prose(cursor, "a perspective's actor, stance or Evolution line")
    perspectives: list[Perspective] = []
    i = 0
    while i < len(blocks):
        (actor_line, actor) = blocks[i]
        if actor.startswith("Evolution:"):
            raise cursor.error(
                "expected an actor name to open a perspective, found an 'Evolution:' line", line=actor_line
            )
        if i + 1 >= len(blocks):
            raise cursor.error(
                f"expected the stance of {actor!r} after a blank line, found the end of the section",
                line=actor_line + 1,
            )
        stance_line, stance = blocks[i + 1]
        if stance.startswith("Evolution:"):
            raise cursor.error(
                f"expected the stance of {actor!r} before its 'Evolution:' line", line=stance_line
            )
        evolution = None
        i += 2
        if i < len(blocks) and blocks[i][1].startswith("Evolution:"):
            evolution_line, line = blocks[i]
            if not line.startswith(EVOLUTION) or not line[len(EVOLUTION) :].strip():
                raise cursor.error("expected 'Evolution: <text>'", line=evolution_line)
            evolution = line[len(EVOLUTION) :]
            i += 1
        perspectives.append(
            _build(
                cursor,
                Perspective,
                {"actor": actor, "stance": stance, "evolution": evolution},
                line=actor_line,
            )
        )
    return perspectives


def _source_lines(cursor: _Cursor) -> list[Source]:
    sources: list[Source] = []
    seen: dict[int, int] = {}
    for number, line in _run(cursor, "a source line '  N. [N] Title — Label (date)'"):
        match = _SOURCE_RE.match(line)
        if not match:
            raise cursor.error(
                f"expected a source line '  N. [N] Title — Label (date)', found {_clip(line)!r}", line=number
            )
        position, source_number, rest = int(match.group(1)), int(match.group(2)), match.group(3)
        if position != len(sources) + 1:
            raise cursor.error(
                f"expected source list number {len(sources) + 1}., found {position}.", line=number
            )
        if source_number in seen:
            raise cursor.error(
                f"source [{source_number}] is listed twice (first on line {seen[source_number]})", line=number
            )
        seen[source_number] = number
        title, label, date = split_source_rest(rest)
        if not title.strip():
            raise cursor.error("expected a source title before ' — '", line=number)
        origin = label if label is not None and _ORIGIN_RE.match(label) else None
        publisher = label if origin is None else None
        fields = {
            "number": source_number,
            "title": title,
            "publisher": publisher,
            "date": date,
            "origin": origin,
        }
        sources.append(_build(cursor, Source, fields, line=number))
    return sources


_M = TypeVar("_M", bound=BaseModel)


def _build(cursor: _Cursor, model: type[_M], fields: dict[str, object], *, line: int) -> _M:
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        what = _MODEL_NAMES.get(model.__name__, model.__name__.lower())
        raise cursor.error(f"invalid {what}: {problems}", line=line) from None


def _check_round_trip(cursor: _Cursor, brief: Brief, text: str) -> None:
    """Refuse what would not render back exactly, pointing at the first line that differs."""
    try:
        rendered = render_text(brief)
    except FormatError as exc:
        # The renderer's own message, without its location and link (the cursor adds both).
        message = str(exc).split(": ", 1)[1].removesuffix(f" (see {doc_link('canonical')})")
        raise cursor.error(message, line=exc.line) from None
    if rendered == text:
        return
    expected = rendered.split("\n")
    for number, (got, want) in enumerate(zip(cursor.lines, expected, strict=False), start=1):
        if got != want:
            raise cursor.error(
                f"not in the canonical form: expected {_clip(want)!r}, found {_clip(got)!r}", line=number
            )
    number = min(len(cursor.lines), len(expected)) + 1
    raise cursor.error("not in the canonical form: the line count differs from the rendering", line=number)
