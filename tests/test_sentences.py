"""The merger's one sentence splitter (`merge._text.sentences`) and its two readers: the first
draft's rule that every sentence cites, and the What's new (markers per sentence, the assembly)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from _merge_briefs import RUN_DATE, batch, edit, item, small_brief
from briefbot.merge import merge
from briefbot.merge._text import sentences


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    assert sentences("Officials in the U.S. Department of Commerce acted [1]. Exports fell [2].") == [
        "Officials in the U.S. Department of Commerce acted [1].",
        "Exports fell [2].",
    ]
    assert sentences("Models, e.g. Llama, improved. Dr. Smith of Acme Inc. Research agreed.") == [
        "Models, e.g. Llama, improved.",
        "Dr. Smith of Acme Inc. Research agreed.",
    ]
    assert sentences("John F. Kennedy spoke. Then 2026 came.") == [
        "John F. Kennedy spoke.",
        "Then 2026 came.",
    ]


def test_citations_after_the_full_stop_stay_with_their_sentence() -> None:
    assert sentences("Exports fell. [3][4] Prices rose [5].") == ["Exports fell. [3][4]", "Prices rose [5]."]
    # A citation after an abbreviation's full stop ends the sentence there.
    assert sentences("Rules tightened in the U.S. [1] Europe waited [2].") == [
        "Rules tightened in the U.S. [1]",
        "Europe waited [2].",
    ]


def test_other_full_stops_still_end_sentences() -> None:
    assert sentences("It rose to version 2. Next came 3! Why? Because.") == [
        "It rose to version 2.",
        "Next came 3!",
        "Why?",
        "Because.",
    ]
    assert sentences("GLM-5.1 leads. “Open wins,” says one. (Maybe not.) [Editor's note] fine.") == [
        "GLM-5.1 leads.",
        "“Open wins,” says one.",
        "(Maybe not.) [Editor's note] fine.",  # a full stop inside a bracket ends nothing
    ]


_WORDS = st.sampled_from(
    [
        "U.S.",
        "e.g.",
        "Dr.",
        "Inc.",
        "F.",
        "rose.",
        "fell!",
        "why?",
        "[1]",
        "[new:2]",
        "GLM-5.1",
        "The",
        "gap",
        "2.",
    ]
)


@given(st.lists(_WORDS, min_size=1, max_size=30))
def test_the_sentences_are_the_paragraph_cut_and_nothing_else(words: list[str]) -> None:
    paragraph = " ".join(words)
    found = sentences(paragraph)
    assert " ".join(found).split() == paragraph.split()
    assert all(s == s.strip() and s for s in found)


def _draft(text: str):
    v0 = small_brief().model_copy(update={"version": 0})
    edits = [edit("revise_section", section="what", text=text, summary="What [new:1]")]
    return merge(v0, batch(edits, [item(1), item(2)]), run_date=RUN_DATE)


def test_a_draft_sentence_about_the_us_is_one_cited_sentence() -> None:
    proposal = _draft(
        "Officials in the U.S. Department of Commerce restricted exports [new:1]. Labs objected [new:2]."
    )
    assert [v.status for v in proposal.verdicts] == ["applied"], proposal.verdicts
    uncited = _draft(
        "Officials in the U.S. Department of Commerce restricted exports. Labs objected [new:2]."
    )
    (verdict,) = uncited.verdicts
    assert verdict.status == "rejected" and "cites every sentence" in (verdict.reason or "")
    assert "U.S. Department of Commerce restricted exports" in (verdict.reason or "")


def test_an_assembled_sentence_keeps_its_abbreviation() -> None:
    edits = [
        edit(
            "add_tension",
            text="Export rules bite [new:1]",
            summary="The U.S. Commerce Department tightened export rules [new:1].",
            significance="major",
        )
    ]
    proposal = merge(small_brief(), batch(edits, [item(1)]), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    first = proposal.candidate.whats_new.paragraphs[0] if proposal.candidate.whats_new else ""
    assert "The U.S. Commerce Department tightened export rules" in first, first
