"""The figures check and the names check's first-word rule (issue 14, item 5).

Each rule is tested on the check functions themselves and through `merge`, so the warning is shown to
reach the verdict the editor reads; hypothesis draws figures in their several spellings and ordinary
words at the start of a sentence.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from _merge_briefs import RUN_DATE, batch, edit, item, small_brief
from briefbot.merge import merge
from briefbot.merge._text import _SENTENCE_WORDS
from briefbot.merge.checks import unknown_names, vocabulary
from briefbot.merge.figures import figures, unknown_figures
from briefbot.models import Brief, EditBatch

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIGURES = "figures found neither in the cited items nor in the brief: "
NAMES = "names found neither in the cited items nor in the brief: "
# Known texts for the check functions: no digits, no spelled-out numbers.
CITED = "The lab reported results on the coding benchmark, ahead of closed models."


def _bare_brief() -> Brief:
    """A brief with no figure in its text: only its date (2026-05-01) carries numbers."""
    return Brief.model_validate(
        {
            "title": "Open models and the capability gap",
            "state": "closed",
            "version": 1,
            "date": "2026-05-01",
            "item_count": 1,
            "narrative": ["NVIDIA and Mistral AI announced a coalition of open labs [1]."],
            "sources": [{"number": 1, "title": "The coalition", "origin": "reactive:t"}],
        }
    )


def _verdict(text: str, cited_text: str, *, brief: Brief | None = None):
    """The verdict of one narrative paragraph `text` citing one item whose text is `cited_text`."""
    proposal = merge(
        brief or _bare_brief(),
        batch(
            [edit("add_narrative_paragraph", text=text, summary="A paragraph [new:1]")],
            [item(1, title="Leaderboard news", publisher=None, published=None, text=cited_text)],
        ),
        run_date=RUN_DATE,
    )
    verdict = proposal.verdicts[0]
    assert verdict.status == "applied", verdict.reason
    return verdict


def _flagged(text: str, cited_text: str = CITED, brief_text: str = "") -> list[str]:
    return unknown_figures([text], known=[cited_text, brief_text])


# -- hand-written: figures ---------------------------------------------------------------------


def test_an_invented_percent_is_flagged_through_the_merger():
    verdict = _verdict("The lab's guardrails lift a small model to 99% [new:1].", CITED)
    assert verdict.warnings == [f"{FIGURES}99%"]


def test_a_percent_in_the_cited_item_passes_in_either_spelling():
    cited = "A small model jumped from 53 percent to 99% with guardrails."
    verdict = _verdict("The lab's guardrails lift a small model from 53% to 99 per cent [new:1].", cited)
    assert verdict.warnings == []


def test_a_figure_in_the_brief_passes_though_no_cited_item_has_it():
    # small_brief's timeline: "Forge claims guardrails lift an 8B model to 99% [3]".
    verdict = _verdict("NVIDIA says an 8B model reaches 99% [new:1].", CITED, brief=small_brief())
    assert not any(w.startswith(FIGURES) for w in verdict.warnings), verdict.warnings


def test_a_rank_in_the_cited_text_passes_and_an_invented_one_is_flagged():
    cited = "GLM-5.1 has topped SWE-Bench Pro and hit #3 on Code Arena."
    assert _verdict("GLM-5.1 reached #3 on Code Arena [new:1].", cited).warnings == []
    assert _verdict("GLM-5.1 reached No. 3 on Code Arena [new:1].", cited).warnings == []
    assert _verdict("GLM-5.1 reached #2 on Code Arena [new:1].", cited).warnings == [f"{FIGURES}#2"]
    assert _flagged("it reached #3 there", "it took third place on the arena") == []
    assert _flagged("it reached 3rd place there", "it was ranked No. 3") == []


def test_invented_money_is_flagged_and_money_in_any_spelling_passes():
    verdict = _verdict("NVIDIA commits $2 billion to the coalition [new:1].", CITED)
    assert verdict.warnings == [f"{FIGURES}$2 billion"]
    cited = "NVIDIA will spend $2bn on the coalition and charge $1 per hour; Mistral AI raised €40m."
    text = (
        "NVIDIA commits 2 billion dollars, charges $1/hour, and Mistral AI raised 40 million euros [new:1]."
    )
    assert _verdict(text, cited).warnings == []
    # The same amount in another currency is another figure.
    assert _flagged("it raised €2 billion", "it raised $2bn") == ["€2 billion"]


def test_several_figures_are_listed_in_order_once_each():
    text = "The lab claims 99% and $2 billion, then 99% again, in May 2027 [new:1]."
    assert _verdict(text, CITED).warnings == [f"{FIGURES}99%, $2 billion, May 2027"]


def test_numbers_are_compared_by_value():
    assert _flagged("about 1,000 GPUs and 2.50 points", "roughly 1000 GPUs, 2.5 points") == []
    assert _flagged("an 8 billion parameter model", "an 8B model") == []
    assert _flagged("an 8B model of 8 layers", "an 8 billion parameter model") == []
    assert _flagged("eight labs, then 8 labs", "the coalition has eight labs") == []
    assert _flagged("about 1,001 GPUs", "roughly 1000 GPUs") == ["1,001"]


def test_dates_pass_when_a_known_date_contains_them():
    cited = "Published 2026-05-24 by the lab."
    assert _flagged("in May 2026, on May 24, 2026, on 24 May and in 2026", cited) == []
    assert _flagged("in mid-May 2026 and mid-2026", cited) == []
    assert _flagged("on May 25, 2026 and in April 2026", cited) == ["May 25, 2026", "April 2026"]
    assert _flagged("in 2025", cited) == ["2025"]


def test_a_cited_items_published_date_and_the_briefs_dates_count():
    # small_brief has a 2026-04-11 timeline entry; the item is published 2026-05-28.
    proposal = merge(
        small_brief(),
        batch([edit("add_tension", text="In April 2026 and on May 28 NVIDIA disputes Mistral AI [new:1]")]),
        run_date=RUN_DATE,
    )
    assert proposal.verdicts[0].warnings == []


def test_names_with_version_numbers_and_citation_markers_are_not_figures():
    text = "GLM-5.1 and MiniMax M2.5 beat V4 and Qwen3-235B [12][new:3] [4], as does Gemma 4 under Apache 2.0"
    assert figures(text, skip_versions=True) == []
    assert _flagged(text) == []
    # Read as figures in known text, so "Gemma 4" in the brief grounds "4" written elsewhere.
    assert [written for written, _ in figures(text)] == ["4", "2.0"]


def test_a_number_opening_a_sentence_after_an_ordinary_word_is_a_figure():
    assert _flagged("About 40 labs joined. Gemma 4 arrived") == ["40", "4"]
    # A year after a name is still a figure: "Q1 2026", "Code Arena 2027".
    assert _flagged("the Q1 2025 numbers from Code Arena 2027") == ["2025", "2027"]


def test_figures_keys_for_each_spelling():
    assert figures("$2bn and 2 billion dollars and US$2 billion") == [
        ("$2bn", ("$", Decimal("2e9"))),
        ("2 billion dollars", ("$", Decimal("2e9"))),
        ("US$2 billion", ("$", Decimal("2e9"))),
    ]
    assert [key for _, key in figures("53% 53 percent #3 No. 3 May 2026 2026-05-24 24 May")] == [
        ("percent", Decimal(53)),
        ("percent", Decimal(53)),
        ("rank", Decimal(3)),
        ("rank", Decimal(3)),
        ("date", "2026-05"),
        ("date", "2026-05-24"),
        ("date", "--05-24"),
    ]


# -- hand-written: names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Hardened: the union set a floor for NVIDIA [new:1].",
        "Significantly, NVIDIA and Mistral AI agree [new:1].",
        "Significantly strengthened: NVIDIA leads [new:1].",
        'NVIDIA moved. "Hardened," the union said [new:1].',
        "NVIDIA moved; unsurprisingly so. Reportedly the union agreed [new:1].",
    ],
)
def test_an_ordinary_first_word_is_not_a_name(text):
    assert _verdict(text, CITED).warnings == []


@pytest.mark.parametrize(
    "text",
    [
        "Moreover NVIDIA rose [new:1].",
        "NVIDIA moved. Furthermore NVIDIA and Mistral AI agree [new:1].",
        "Nevertheless, NVIDIA leads [new:1].",
        "Meanwhile NVIDIA pays the union [new:1].",
        "NVIDIA moved; Consequently NVIDIA leads [new:1].",
        'NVIDIA moved. "Indeed NVIDIA leads," the union said [new:1].',
    ],
)
def test_a_connective_opening_a_sentence_before_a_name_is_not_a_name(text):
    assert _verdict(text, CITED).warnings == []


def test_a_connective_does_not_hide_the_unknown_name_after_it():
    verdict = _verdict("Moreover Zorblax rose with NVIDIA [new:1].", CITED)
    assert verdict.warnings == [f"{NAMES}Zorblax"]


def test_a_real_unknown_name_mid_sentence_is_still_flagged():
    verdict = _verdict("Hardened: NVIDIA now answers to Zorblax on funding [new:1].", CITED)
    assert verdict.warnings == [f"{NAMES}Zorblax"]


def test_a_first_word_that_looks_like_a_name_is_still_a_name():
    known = vocabulary(["NVIDIA and the labs"])
    cited = vocabulary([CITED])
    assert unknown_names(["Zorblax Labs disputes NVIDIA."], cited=cited, known=known) == ["Zorblax"]
    assert unknown_names(["OpenAI: the labs agree."], cited=cited, known=known) == ["OpenAI"]
    assert unknown_names(["Zorblax-9 leads. GLM-7 follows."], cited=cited, known=known) == [
        "Zorblax-9",
        "GLM-7",
    ]


# -- hypothesis ---------------------------------------------------------------------------------

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]


@st.composite
def figure_spellings(draw, *, last_year: int = 2025) -> list[str]:
    """Several spellings of one drawn figure; any two of them name the same figure."""
    kind = draw(st.sampled_from(["number", "decimal", "percent", "money", "rank", "month", "day"]))
    n = draw(st.integers(1, 10**7))
    if kind == "number":
        return [f"{n}", f"{n:,}"]
    if kind == "decimal":
        value = Decimal(n).scaleb(-draw(st.integers(1, 3)))
        return [f"{value}", f"{value}0"]
    if kind == "percent":
        return [f"{n}%", f"{n} percent", f"{n:,} per cent"]
    if kind == "money":
        m = draw(st.integers(1, 999))
        return [f"${m} million", f"${m}m", f"{m} million dollars", f"${m * 1000:,},000", f"US${m}M"]
    if kind == "rank":
        rank = draw(st.integers(1, 500))
        return [f"#{rank}", f"No. {rank}"]
    year, month, day = draw(st.integers(1990, last_year)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    if kind == "month":
        return [f"{MONTHS[month - 1]} {year}", f"{year}-{month:02d}", f"{MONTHS[month - 1][:3]}. {year}"]
    name = MONTHS[month - 1]
    return [f"{name} {day}, {year}", f"{day} {name} {year}", f"{year}-{month:02d}-{day:02d}"]


def _sentence(figure: str) -> str:
    return f"The lab reported {figure} on the coding benchmark [new:1]."


@SETTINGS
@given(spellings=figure_spellings(last_year=2030), data=st.data())
def test_a_figure_in_the_cited_text_is_never_flagged_in_any_spelling(spellings, data):
    written = data.draw(st.sampled_from(spellings))
    cited = data.draw(st.sampled_from(spellings))
    assert _flagged(_sentence(written), f"{CITED} It reported {cited} there.") == []
    verdict = _verdict(_sentence(written), f"It reported {cited} there.")
    assert not any(w.startswith(FIGURES) for w in verdict.warnings), verdict.warnings


@SETTINGS
@given(spellings=figure_spellings(), data=st.data())
def test_a_figure_absent_from_the_cited_text_and_the_brief_is_flagged(spellings, data):
    written = data.draw(st.sampled_from(spellings))
    # The bare brief's only figure is its date, 2026-05-01; the drawn years stop at 2025.
    assume(written not in ("2026", "2,026"))
    assert _flagged(_sentence(written)) == [written]
    # "US$1M" also writes the name US, which the names check reports on its own.
    warnings = _verdict(_sentence(written), CITED).warnings
    assert [w for w in warnings if not w.startswith(NAMES)] == [f"{FIGURES}{written}"]


@SETTINGS
@given(
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12),
    before=st.sampled_from(["", "NVIDIA moved. ", "NVIDIA moved: ", 'NVIDIA moved. "', "NVIDIA moved!\n"]),
    after=st.sampled_from([": the union set a floor", ", the labs agree", " the labs", ", NVIDIA said"]),
)
def test_an_ordinary_word_capitalised_at_a_sentence_start_is_never_flagged(word, before, after):
    text = f"{before}{word.capitalize()}{after} [new:1]."
    known = vocabulary(["NVIDIA and the labs"])
    assert unknown_names([text], cited=vocabulary([CITED]), known=known) == []
    assert not any(w.startswith(NAMES) for w in _verdict(text, CITED).warnings)


@SETTINGS
@given(
    opener=st.sampled_from(sorted(_SENTENCE_WORDS)),
    before=st.sampled_from(["", "NVIDIA moved. ", "NVIDIA moved; ", 'NVIDIA moved. "', "NVIDIA moved?\n"]),
    comma=st.sampled_from(["", ","]),
    name=st.sampled_from(["NVIDIA", "Mistral AI", "GLM-5.1", "Zq"]),
)
def test_a_sentence_word_opening_a_sentence_is_never_flagged_whatever_follows(opener, before, comma, name):
    text = f"{before}{opener.capitalize()}{comma} {name} rose [new:1]."
    known = vocabulary(["NVIDIA and the labs, Mistral AI and GLM-5.1"])
    flagged = unknown_names([text], cited=vocabulary([CITED]), known=known)
    assert opener.capitalize() not in flagged
    assert flagged == (["Zq"] if name == "Zq" else [])


@SETTINGS
@given(word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12))
def test_an_unknown_capitalised_word_mid_sentence_is_flagged(word):
    name = f"Zq{word}"
    verdict = _verdict(f"NVIDIA answers to {name} on funding [new:1].", CITED)
    assert verdict.warnings == [f"{NAMES}{name}"]


def test_the_check_is_deterministic_and_leaves_inputs_alone():
    brief = _bare_brief()
    edits = batch(
        [edit("add_tension", text="NVIDIA pays Zorblax $2 billion for 99% [new:1]")],
        [item(1, text="Hardened: nothing")],
    )
    before = (brief.model_dump_json(), edits.model_dump_json())
    first = merge(brief, edits, run_date=dt.date(2026, 5, 31))
    assert first == merge(brief, EditBatch.model_validate(edits.model_dump()), run_date=dt.date(2026, 5, 31))
    assert (brief.model_dump_json(), edits.model_dump_json()) == before
    assert first.verdicts[0].warnings == [f"{NAMES}Zorblax", f"{FIGURES}$2 billion, 99%"]
