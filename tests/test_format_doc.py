"""docs/format.md stays true: its whole-brief examples import and render back byte for byte, its
excerpts are the seed's own lines, its section list is the parser's, and every import error links
to a section of it that exists."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefbot.brief._lines import DOC_ANCHORS, FORMAT_DOC, ORDER, header_line
from briefbot.brief.textformat import HEADINGS, parse_text, render_text
from briefbot.cli import main
from briefbot.errors import FormatError
from briefbot.models import Brief, Source
from conftest import REPO, SEED, as_project

DOC = REPO / FORMAT_DOC
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(kind: str) -> list[str]:
    # A fenced block's text is everything between the fences, without the newline before the closing one.
    return [
        body.removesuffix("\n")
        for info, body in _FENCE.findall(DOC.read_text(encoding="utf-8"))
        if info == kind
    ]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _doc_anchors() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    return {_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_the_doc_has_whole_brief_examples_and_excerpts():
    assert len(_blocks("brief")) >= 1
    assert len(_blocks("excerpt")) >= 8


@pytest.mark.parametrize("example", _blocks("brief"))
def test_each_whole_brief_example_round_trips(example: str):
    brief = parse_text(example, path=FORMAT_DOC)
    assert render_text(brief) == example
    # "This one has every section": a section left out of the example would go untested.
    missing = [key for key in ORDER if not getattr(brief, key)]
    assert missing == []
    assert any(p.evolution is None for p in brief.perspectives)
    assert any(p.evolution is not None for p in brief.perspectives)


def _matches(excerpt_line: str, seed_line: str) -> bool:
    if excerpt_line.endswith("…"):
        return seed_line.startswith(excerpt_line[:-1]) and len(seed_line) > len(excerpt_line) - 1
    return excerpt_line == seed_line


@pytest.mark.parametrize("excerpt", _blocks("excerpt"))
def test_each_excerpt_is_consecutive_lines_of_the_seed(excerpt: str):
    seed = SEED.read_text(encoding="utf-8").split("\n")
    lines = excerpt.split("\n")
    starts = [i for i, line in enumerate(seed) if _matches(lines[0], line)]
    assert any(
        all(i + k < len(seed) and _matches(line, seed[i + k]) for k, line in enumerate(lines)) for i in starts
    ), f"not lines of the seed in this order:\n{excerpt}"


def test_the_section_list_is_the_parsers_order():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Sections", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. `([^`]+)`", section, re.MULTILINE)
    titles = {"whats_new": "What's new in vN", "status": "Status: ..."}
    assert listed == [titles.get(key) or HEADINGS[key] for key in ORDER]


def test_every_anchor_the_errors_link_to_is_a_heading_of_the_doc():
    assert set(DOC_ANCHORS.values()) <= _doc_anchors()


def test_every_link_into_the_doc_in_the_code_names_a_heading():
    """Not only DOC_ANCHORS: every `docs/format.md#anchor` or `{FORMAT_DOC}#anchor` written in the
    source, and every part a `doc_link(...)` call names."""
    anchors = _doc_anchors()
    linked: list[tuple[str, str]] = []
    for path in sorted((REPO / "src" / "briefbot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for anchor in re.findall(r"(?:docs/format\.md|\{FORMAT_DOC\})#([\w-]+)", text):
            linked.append((path.name, anchor))
        for part in re.findall(r"doc_link\([\"']([\w]+)[\"']\)", text):
            assert part in DOC_ANCHORS, (path.name, part)
            linked.append((path.name, DOC_ANCHORS[part]))
    assert {name for name, _ in linked} >= {"brief_cmds.py", "completeness.py"}  # the scan finds them
    assert [(name, anchor) for name, anchor in linked if anchor not in anchors] == []


def _section_text(anchor: str) -> str:
    """The words of the doc's section with this anchor, whitespace folded (rules wrap lines)."""
    text = DOC.read_text(encoding="utf-8")
    for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        if _anchor(heading) == anchor:
            return " ".join(body.split())
    raise AssertionError(f"no section #{anchor}")


def test_the_first_paragraph_says_the_complete_example_is_not_the_seed():
    intro = " ".join(DOC.read_text(encoding="utf-8").split("\n## ", 1)[0].split())
    assert "every example below is quoted from" not in intro
    assert "every excerpt below is quoted from" in intro and "Harbour Automation Watch" in intro
    assert "Harbour Automation Watch" in EXAMPLE and "Harbour Automation Watch" not in SEED.read_text(
        encoding="utf-8"
    )


# -- import errors end with a link to the part of the doc they are about -----------------------

EXAMPLE = _blocks("brief")[0] if _blocks("brief") else ""


def _replace(old: str, new: str):
    def change(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return change


# Each error, the anchor it links to, and words of the rule it breaks as that section states it:
# a link to a section that does not state the rule (an empty section sent to #perspectives, say)
# fails here.
ERRORS = [
    ("crlf", lambda t: t.replace("\n", "\r\n", 1), "file-layout", "(no `\\r`)"),
    ("final blank line", lambda t: t + "\n\n", "file-layout", "there is no blank line at the end"),
    (
        "no blank after the title",
        _replace("Harbour Automation Watch\n\n", "Harbour Automation Watch\n"),
        "file-layout",
        "the brief's title, a blank line and the header line",
    ),
    (
        "no blank after a heading",
        _replace("What\n\nRotterdam", "What\nRotterdam"),
        "file-layout",
        "a blank line, its heading, a blank line and its body",
    ),
    (
        "two blanks between sections",
        _replace("\n\nWhy it matters", "\n\n\nWhy it matters"),
        "paragraph-sections",
        "paragraphs are separated by one blank line",
    ),
    ("plural", _replace("2 items ·", "2 item ·"), "header-line", "`1 items` and `2 item` are refused"),
    ("bad state", _replace("active · v2", "act1ve · v2"), "header-line", "a word or words of letters"),
    ("out of order", _replace("Why it matters\n", "Narrative\n"), "sections", "fixed order"),
    (
        "empty paragraph section",
        _replace("What\n\nRotterdam is trialling remote-operated cranes [1][2].\n\n", "What\n\n"),
        "sections",
        "an empty one is left out entirely (a heading with no body is refused)",
    ),
    (
        "empty perspectives section",
        lambda t: t[: t.index("Perspectives\n")] + "Perspectives\n\n" + t[t.index("Tensions\n") :],
        "sections",
        "an empty one is left out entirely (a heading with no body is refused)",
    ),
    (
        "paragraph as a heading",
        _replace("The trial began in January [1].", "Timeline"),
        "sections",
        "fixed order",  # a heading out of its place: the order rule
    ),
    (
        "question not a bullet",
        _replace("  • Do the unions", "Do the unions"),
        "open-questions",
        "One bullet per question",
    ),
    ("timeline date", _replace("  • 2026-01:", "  • Jan 2026:"), "timeline", "where `DATE` is `YYYY`"),
    (
        "stance missing",
        _replace("\n\nRemote operation must not cut jobs.", ""),
        "perspectives",
        "the actor's name, their stance",
    ),
    (
        "tension gap",
        _replace("  • The port wants", "\n  • The port wants"),
        "tensions",
        "on consecutive lines",
    ),
    ("empty status", _replace("Status: watching", "Status: "), "status", "heading and text together"),
    ("source numbering", _replace("  2. [2]", "  3. [2]"), "sources", "counting 1, 2, 3... with no gaps"),
    (
        "empty label",
        _replace("— reactive:harbour-automation", "— "),
        "canonical-form",
        "a source line ending in ` — ` with no label after it",
    ),
]


@pytest.mark.parametrize(("change", "anchor", "rule"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_import_errors_link_the_section_that_states_their_rule(change, anchor: str, rule: str):
    with pytest.raises(FormatError) as caught:
        parse_text(change(EXAMPLE), path="brief.txt")
    assert str(caught.value).endswith(f" (see {FORMAT_DOC}#{anchor})"), str(caught.value)
    assert str(caught.value).count("(see ") == 1
    assert rule in _section_text(anchor), (anchor, rule)


def test_bad_utf8_links_the_section_that_says_utf8(tmp_path: Path):
    root = as_project(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(EXAMPLE.encode("utf-8").replace(b"Rotterdam", b"Rotterd\xe4m"))
    result = CliRunner().invoke(main, ["--root", str(root), "import", str(bad), "--slug", "harbour"])
    assert result.exit_code == 2, result.output
    assert result.stderr.rstrip().endswith("not valid UTF-8 at byte 183 (see docs/format.md#file-layout)")
    assert "The file is UTF-8 text." in _section_text("file-layout")


def test_render_errors_link_the_canonical_form():
    brief = parse_text(EXAMPLE).model_copy(update={"sources": [Source(number=1, title="a — b")]})
    with pytest.raises(FormatError, match=re.escape(f"(see {FORMAT_DOC}#canonical-form)")) as caught:
        render_text(brief)
    assert str(caught.value).count("(see ") == 1


# -- the header's noun follows its number ---------------------------------------------------


@pytest.mark.parametrize(("count", "noun"), [(0, "items"), (1, "item"), (2, "items"), (118, "items")])
def test_header_writes_item_or_items_and_reads_it_back(count: int, noun: str):
    brief = Brief(title="T", state="active", version=1, date=dt.date(2026, 1, 1), item_count=count)
    assert header_line(brief) == f"active · v1 · 2026-01-01 · {count} {noun} · history"
    text = render_text(brief.model_copy(update={"status": "watching"}))
    assert parse_text(text).item_count == count


@pytest.mark.parametrize(
    ("wrong", "right"), [("1 items", "1 item"), ("2 item", "2 items"), ("0 item", "0 items")]
)
def test_header_refuses_the_wrong_noun_naming_the_right_one(wrong: str, right: str):
    text = EXAMPLE.replace("2 items ·", f"{wrong} ·")
    with pytest.raises(FormatError) as caught:
        parse_text(text)
    assert caught.value.line == 5
    assert f"expected '{right}' in the header, found '{wrong}'" in str(caught.value)


def test_existing_fixtures_still_round_trip_byte_for_byte():
    files = [SEED, *sorted(Path(REPO / "fixtures" / "briefs").glob("*.txt"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert render_text(parse_text(text)) == text, path
