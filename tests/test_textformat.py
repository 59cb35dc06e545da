"""The seed's text format: exact round trips, specific errors for malformed input, and properties."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefbot.brief.textformat import free_line_problem, parse_text, render_text
from briefbot.errors import FormatError
from briefbot.models import Brief, Perspective, Source, TimelineEntry, WhatsNew

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "briefs"
FIXTURE_FILES = sorted(FIXTURES.glob("*.txt"))


def read(path: Path) -> str:
    # newline="" keeps the bytes as they are: the round trip is byte for byte.
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def test_seed_round_trips_byte_for_byte(seed_text: str) -> None:
    brief = parse_text(seed_text)
    assert render_text(brief) == seed_text
    assert not seed_text.endswith("\n")
    assert (brief.state, brief.version, brief.date, brief.item_count) == (
        "closed",
        7,
        dt.date(2026, 5, 24),
        118,
    )
    assert brief.history_link is True
    assert brief.whats_new is not None and brief.whats_new.version == 7
    assert len(brief.open_questions) == 4 and len(brief.narrative) == 4
    assert len(brief.timeline) == 10 and brief.timeline[5].date == "2026-05"
    assert len(brief.perspectives) == 10 and brief.perspectives[0].actor == "CAISI (NIST)"
    assert len(brief.tensions) == 6 and brief.status == "active and growing"
    assert len(brief.sources) == 42
    first, reactive, dated_reactive = brief.sources[0], brief.sources[1], brief.sources[14]
    assert (first.publisher, first.origin, first.date) == ("Interconnects", None, "2026-05-16")
    assert (reactive.publisher, reactive.origin, reactive.date) == (
        None,
        "reactive:open-model-capability-gap",
        None,
    )
    assert reactive.title == "CAISI Evaluation of DeepSeek V4 Pro | NIST"
    assert (dated_reactive.origin, dated_reactive.date) == (
        "reactive:open-model-capability-gap",
        "2026-05-19",
    )
    # The title keeps its own en dash; only the last ` — ` separates the label.
    assert dated_reactive.title.startswith("Show HN: Forge – Guardrails")


def test_fixture_set_is_present() -> None:
    assert len(FIXTURE_FILES) >= 3, f"expected at least three synthetic briefs under {FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_round_trips(path: Path) -> None:
    text = read(path)
    assert render_text(parse_text(text, path=str(path))) == text


def test_stress_fixture_reads_what_it_means() -> None:
    brief = parse_text(read(FIXTURES / "stress_dates_titles.txt"))
    assert brief.title == "Grid Batteries — Storage | Policy: Who Pays for the Duck Curve?"
    assert [e.date for e in brief.timeline] == ["2019", "2024-06", "2025-10-30", "2025-10", "2025"]
    assert len(brief.what) == 3 and len(brief.whats_new.paragraphs) == 2
    assert [p.evolution is None for p in brief.perspectives] == [False, True, False]
    assert brief.sources[1].title == "Who pays for storage? — A primer"
    assert (brief.sources[1].publisher, brief.sources[1].date) == ("Grid Weekly", "2025")
    assert brief.sources[3].origin == "feed:regulator-b" and brief.sources[3].date is None
    assert brief.status == "active — contested"


def test_minimal_and_unlabelled_fixtures() -> None:
    minimal = parse_text(read(FIXTURES / "minimal_status_only.txt"))
    assert (minimal.item_count, minimal.history_link, minimal.status) == (1, False, "watching")
    unicode = parse_text(read(FIXTURES / "unicode_no_whats_new.txt"))
    assert unicode.whats_new is None and unicode.item_count == 4
    assert unicode.sources[2] == Source(number=7, title="Undated, unlabelled source title")


# --------------------------------------------------------------------------------------------
# Malformed input: each gets its own error, naming the line and what was expected there.
# --------------------------------------------------------------------------------------------

GOOD = "\n".join(
    [
        "Site",  # 1
        "",
        "Title",  # 3
        "",
        "active · v2 · 2026-01-02 · 3 items · history",  # 5
        "",
        "What's new in v2",  # 7
        "",
        "Something changed [1].",  # 9
        "",
        "Open questions",  # 11
        "",
        "  • First? [1]",  # 13
        "",
        "  • Second?",  # 15
        "",
        "Timeline",  # 17
        "",
        "  • 2026-01: An event [1]",  # 19
        "  • 2026: Another",  # 20
        "",
        "Perspectives",  # 22
        "",
        "Actor",  # 24
        "",
        "Stance",  # 26
        "",
        "Evolution: Consistent",  # 28
        "",
        "Status: active",  # 30
        "",
        "Sources",  # 32
        "",
        "  1. [1] A title — Publisher (2026-01-01)",  # 34
        "  2. [2] Other — reactive:slug",  # 35
    ]
)


def test_good_base_round_trips() -> None:
    assert render_text(parse_text(GOOD)) == GOOD


def _replace_line(number: int, new: str | None):
    def change(text: str) -> str:
        lines = text.split("\n")
        if new is None:
            del lines[number - 1]
        else:
            lines[number - 1] = new
        return "\n".join(lines)

    return change


MALFORMED = [
    ("trailing blank line", lambda t: t + "\n\n", 37, "ends with a newline or blank line"),
    ("crlf", lambda t: t.replace("\n", "\r\n", 3), 1, "carriage return"),
    ("blank site", lambda t: "\n" + t, 1, "site name"),
    ("no blank after title", _replace_line(4, "extra"), 4, "blank line after the title"),
    ("bad header", _replace_line(5, "active - v2 - 2026-01-02"), 5, "header"),
    ("singular mismatch", _replace_line(5, "active · v2 · 2026-01-02 · 3 item · history"), 5, "'3 items'"),
    ("plural mismatch", _replace_line(5, "active · v2 · 2026-01-02 · 1 items"), 5, "'1 item'"),
    ("impossible header date", _replace_line(5, "active · v2 · 2026-02-30 · 3 items"), 5, "not a real"),
    ("leading zero version", _replace_line(5, "active · v02 · 2026-01-02 · 3 items"), 5, "header"),
    ("bad state", _replace_line(5, "act1ve · v2 · 2026-01-02 · 3 items"), 5, "invalid header: state"),
    ("bad whats new heading", _replace_line(7, "What's new in version 2"), 7, "What's new in vN"),
    ("misspelt heading", _replace_line(11, "Open Questions"), 11, "misspelt section heading"),
    ("unknown heading", _replace_line(11, "Questions"), 13, "bullet"),
    ("out of order", _replace_line(17, "What"), 17, "out of order"),
    ("question not a bullet", _replace_line(15, "Second?"), 15, "bullet"),
    ("questions not separated", _replace_line(14, "  • Extra"), 14, "blank line between entries"),
    ("double blank", _replace_line(10, "\n"), 11, "found a blank line"),
    ("timeline bad date", _replace_line(19, "  • May 2026: An event"), 19, "timeline bullet"),
    ("timeline impossible date", _replace_line(19, "  • 2026-02-31: An event"), 19, "invalid timeline entry"),
    ("timeline gap", _replace_line(20, "\n  • 2026: Another"), 21, "not separated by blank lines"),
    (
        "perspective missing stance",
        lambda t: t.replace("\n\nStance\n\nEvolution: Consistent", ""),
        25,
        "stance of 'Actor'",
    ),
    (
        "perspective stance is evolution",
        lambda t: t.replace("Stance\n\n", ""),
        26,
        "stance of 'Actor' before",
    ),
    ("evolution without text", _replace_line(28, "Evolution:"), 28, "Evolution: <text>"),
    ("empty status", _replace_line(30, "Status: "), 30, "Status: <text>"),
    ("source numbering", _replace_line(35, "  3. [2] Other — reactive:slug"), 35, "list number 2."),
    ("duplicate source", _replace_line(35, "  2. [1] Other — reactive:slug"), 35, "listed twice"),
    ("source shape", _replace_line(35, "  2. Other — reactive:slug"), 35, "source line"),
    ("source bad date", _replace_line(34, "  1. [1] A title — Publisher (2026-13)"), 34, "invalid source"),
    ("source without title", _replace_line(34, "  1. [1]  — Publisher"), 34, "source title"),
    ("no blank before section", _replace_line(31, "Extra"), 31, "blank line after the previous section"),
]


@pytest.mark.parametrize(
    ("change", "line", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_names_line_and_expectation(change, line: int, message: str | None) -> None:
    text = change(GOOD)
    with pytest.raises(FormatError) as caught:
        parse_text(text, path="brief.txt")
    assert caught.value.line == line, str(caught.value)
    assert str(caught.value).startswith(f"brief.txt:{line}: ")
    if message:
        assert message in str(caught.value)


def test_empty_section_error_names_heading() -> None:
    text = GOOD.replace("Timeline\n\n  • 2026-01: An event [1]\n  • 2026: Another\n\n", "Timeline\n\n")
    with pytest.raises(FormatError, match="'Timeline' has no content") as caught:
        parse_text(text)
    assert caught.value.line == 17


# --------------------------------------------------------------------------------------------
# The renderer refuses what it could not read back, naming the field.
# --------------------------------------------------------------------------------------------


def _brief(**changes: object) -> Brief:
    base = dict(title="T", state="active", version=1, date=dt.date(2026, 1, 1), item_count=0)
    return Brief(**(base | changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"what": ["two\nlines"]}, "what[0]"),
        ({"what": ["   "]}, "what[0]"),
        ({"narrative": ["ok", "Timeline"]}, "narrative[1]"),
        ({"why_it_matters": ["Status: not a status"]}, "why_it_matters[0]"),
        ({"what": ["open questions"]}, "what[0]"),
        ({"what": ["  • a bullet"]}, "what[0]"),
        ({"perspectives": [Perspective(actor="Evolution: x", stance="s")]}, "perspectives[0].actor"),
        ({"sources": [Source(number=1, title="t", publisher="a — b")]}, "sources[0] label"),
        ({"sources": [Source(number=1, title="t (2020)")]}, "sources[0]"),
        ({"sources": [Source(number=1, title="a — b")]}, "sources[0]"),
        ({"sources": [Source(number=1, title="a"), Source(number=1, title="b")]}, "sources[1].number"),
        ({"title": "a\rb"}, "title"),
    ],
)
def test_render_refuses_what_cannot_round_trip(changes: dict, field: str) -> None:
    with pytest.raises(FormatError, match=re.escape(f"cannot write {field} ")):
        render_text(_brief(**changes))


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_TRICKY = [
    "—",
    " — ",
    "|",
    "•",
    "  • ",
    "·",
    ":",
    "(2020)",
    "[1]",
    "[12]",
    "Évolution",
    "東京",
    "🛰️",
    "\u2028",
    "\x85",
    "\t",
]
_PLAIN = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1, max_size=30
)
_ONE_LINE = st.lists(st.one_of(_PLAIN, st.sampled_from(_TRICKY)), min_size=1, max_size=4).map("".join)
# Text the format can carry: one line, not blank, not (like) a heading or bullet, no `Evolution:` lead.
LINE = _ONE_LINE.filter(
    lambda s: s.strip() and free_line_problem(s) is None and not s.startswith("Evolution:")
)
DATE = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31))
PARTIAL = st.one_of(
    DATE.map(lambda d: d.isoformat()),
    DATE.map(lambda d: d.isoformat()[:7]),
    DATE.map(lambda d: d.isoformat()[:4]),
)
LABEL = LINE.filter(lambda s: " — " not in s and not s.startswith("— "))


@st.composite
def sources(draw) -> list[Source]:
    numbers = draw(st.lists(st.integers(1, 500), unique=True, max_size=5))
    found = []
    for number in numbers:
        date = draw(st.none() | PARTIAL)
        label = draw(st.none() | LABEL | st.from_regex(r"\A(feed|reactive):[a-z0-9-]{1,12}\Z"))
        title = draw(LINE if label is not None else LABEL)
        last = label if label is not None else title
        if date is None and re.search(r"(?:^| )\(\d{4}(-\d{2}(-\d{2})?)?\)$", last):
            date = "2020"  # an undated label ending like a date would read as a date
        origin = label if label and label.startswith(("feed:", "reactive:")) else None
        found.append(
            Source(number=number, title=title, publisher=None if origin else label, origin=origin, date=date)
        )
    return found


@st.composite
def briefs(draw) -> Brief:
    def many() -> st.SearchStrategy[list[str]]:
        return st.lists(LINE, max_size=3)

    return Brief(
        site=draw(LINE),
        title=draw(LINE),
        state=draw(st.from_regex(r"\A[A-Za-z][A-Za-z -]{0,10}\Z")),
        version=draw(st.integers(1, 10**6)),
        date=draw(DATE),
        item_count=draw(st.integers(0, 3)),
        history_link=draw(st.booleans()),
        whats_new=draw(
            st.none()
            | st.builds(
                WhatsNew, version=st.integers(1, 99), paragraphs=st.lists(LINE, min_size=1, max_size=2)
            )
        ),
        what=draw(many()),
        why_it_matters=draw(many()),
        open_questions=draw(many()),
        narrative=draw(many()),
        timeline=draw(st.lists(st.builds(TimelineEntry, date=PARTIAL, text=LINE), max_size=3)),
        perspectives=draw(
            st.lists(st.builds(Perspective, actor=LINE, stance=LINE, evolution=st.none() | LINE), max_size=3)
        ),
        tensions=draw(many()),
        status=draw(st.none() | LINE),
        sources=draw(sources()),
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(briefs())
def test_render_parse_render_is_identity(brief: Brief) -> None:
    text = render_text(brief)
    assert render_text(parse_text(text)) == text


_WILD = st.lists(
    st.one_of(
        _PLAIN,
        st.sampled_from(
            [*_TRICKY, "\n", "\r", "Timeline", "tensions", "Status: x", "Evolution: y", " (2020)", "— "]
        ),
    ),
    max_size=4,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    paragraphs=st.lists(_WILD, max_size=3),
    actor=_WILD,
    stance=_WILD,
    title=_WILD,
    label=st.none() | _WILD,
)
def test_whatever_render_accepts_it_reads_back(
    paragraphs: list[str], actor: str, stance: str, title: str, label: str | None
) -> None:
    brief = _brief(
        narrative=paragraphs,
        perspectives=[Perspective(actor=actor, stance=stance)],
        sources=[Source(number=1, title=title, publisher=label)],
    )
    try:
        text = render_text(brief)
    except FormatError:
        return
    assert render_text(parse_text(text)) == text


def test_one_final_newline_is_kept_through_the_round_trip(seed_text: str) -> None:
    with_newline = seed_text + "\n"
    brief = parse_text(with_newline)
    assert brief.final_newline is True
    assert render_text(brief) == with_newline
    assert parse_text(seed_text).final_newline is False
