"""The What's new: the proposer's draft judged by the merger, else a compact assembly; and the
proposer's timeline placement (`after`) honoured only where the date order stays valid."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _merge_briefs import RUN_DATE, batch, edit, item, small_brief
from briefbot.merge import NO_NEW_FAULT_LINES, merge
from briefbot.merge.whats_new import (
    MAX_MARKERS,
    MAX_SENTENCES,
    MAX_WORDS,
    Summary,
    assemble,
    sentences,
    word_count,
)
from briefbot.models import CITATION_RE, EditBatch


def drafted(edits: list[dict[str, Any]], draft: list[str] | None, **kw: Any) -> EditBatch:
    data = batch(edits, **kw).model_dump()
    data["whats_new"] = draft
    return EditBatch.model_validate(data)


TWO_EDITS = [
    edit("add_open_question", text="Will NVIDIA pay [new:1]?", summary="A question on NVIDIA money [new:1]."),
    edit(
        "add_timeline_entry",
        date="2026-05-28",
        text="Mistral AI joins the coalition [new:2]",
        summary="Mistral AI joins [new:2].",
        significance="major",
    ),
]


def test_a_good_draft_is_used_with_its_markers_mapped_and_the_fault_line_closing_it() -> None:
    draft = ["Mistral AI joined NVIDIA's coalition [new:2], and the money question is open [new:1]."]
    proposal = merge(small_brief(), drafted(TWO_EDITS, draft), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "draft"
    # new:1 -> 5 and new:2 -> 6 in order of first citation by the applied edits.
    assert proposal.whats_new.paragraphs == [
        f"Mistral AI joined NVIDIA's coalition [6], and the money question is open [5]. {NO_NEW_FAULT_LINES}"
    ]


def test_a_draft_citing_an_existing_source_no_applied_edit_cites_falls_back() -> None:
    draft = ["Mistral AI joined [new:2]; CAISI still disagrees [1]."]
    proposal = merge(small_brief(), drafted(TWO_EDITS, draft), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    assert "[1]" in proposal.whats_new_note and "no applied edit cites" in proposal.whats_new_note


def test_a_draft_citing_an_unknown_item_falls_back() -> None:
    proposal = merge(small_brief(), drafted(TWO_EDITS, ["Something happened [new:9]."]), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    assert "[new:9]" in proposal.whats_new_note


def test_the_editor_rejecting_the_edit_a_draft_leans_on_unseats_the_draft() -> None:
    draft = ["Mistral AI joined NVIDIA's coalition [new:2]."]
    batch_ = drafted(TWO_EDITS, draft)
    assert merge(small_brief(), batch_, run_date=RUN_DATE).whats_new_origin == "draft"
    after_decision = merge(small_brief(), batch_, run_date=RUN_DATE, accepted={1})
    assert after_decision.whats_new_origin == "assembled"
    assert "[new:2]" in after_decision.whats_new_note
    assert after_decision.whats_new.paragraphs == [f"A question on NVIDIA money [5]. {NO_NEW_FAULT_LINES}"]


def test_too_long_too_many_markers_or_a_false_fault_line_claim_fall_back() -> None:
    long = ["Mistral AI joined [new:2]. " + "word " * MAX_WORDS]
    assert "words" in merge(small_brief(), drafted(TWO_EDITS, long), run_date=RUN_DATE).whats_new_note
    crowded = ["Mistral AI joined [new:2][new:1][new:2][new:1]."]
    note = merge(small_brief(), drafted(TWO_EDITS, crowded), run_date=RUN_DATE).whats_new_note
    assert f"at most {MAX_MARKERS}" in note
    # Two groups of markers in one sentence are fine (the seed's own What's new does this).
    spread = ["Mistral AI joined [new:2][new:1] and NVIDIA pays [new:1][new:2]."]
    assert merge(small_brief(), drafted(TWO_EDITS, spread), run_date=RUN_DATE).whats_new_origin == "draft"
    tension = [*TWO_EDITS, edit("add_tension", text="NVIDIA and Mistral AI disagree [new:2]")]
    claim = [f"Mistral AI joined [new:2]. {NO_NEW_FAULT_LINES}"]
    proposal = merge(small_brief(), drafted(tension, claim), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled" and "adds a tension" in proposal.whats_new_note
    assert NO_NEW_FAULT_LINES not in proposal.whats_new.paragraphs[0]


def test_no_draft_is_assembled_and_says_so() -> None:
    proposal = merge(small_brief(), batch(TWO_EDITS), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    assert proposal.whats_new_note == "the proposer wrote no What's new draft"
    assert proposal.whats_new.paragraphs == [
        f"Mistral AI joins [6]. A question on NVIDIA money [5]. {NO_NEW_FAULT_LINES}"
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(1, 60), min_size=0, max_size=12)),
        min_size=1,
        max_size=16,
    )
)
def test_the_assembly_is_compact_whatever_the_edits(summaries: list[tuple[bool, list[int]]]) -> None:
    made = [
        Summary(major, "Something moved " + "".join(f"[{n}]" for n in cites[:5]) + ".", cites)
        for major, cites in summaries
    ]
    (paragraph,) = assemble(made, tension_added=False)
    parts = sentences(paragraph)
    assert parts[-1] == NO_NEW_FAULT_LINES
    assert len(parts) <= MAX_SENTENCES + 1
    for sentence in parts:
        cited = [int(n) for n in CITATION_RE.findall(sentence)]
        assert len(cited) <= MAX_MARKERS and cited == sorted(set(cited))
    majors = [m for m, _ in summaries]
    if any(majors):
        assert len(parts) - 1 == min(MAX_SENTENCES, len(summaries))


def test_six_long_major_summaries_assemble_to_four_sentences_within_the_word_cap() -> None:
    three = "{n} rose sharply on the coding leaderboard this week [{a}]. Its lab said more was coming soon [{b}]. Analysts expect the pattern to continue into the summer months [{a}][{b}]."
    made = [Summary(True, three.format(n=f"Model{k}", a=k, b=k + 10), [k, k + 10]) for k in range(1, 7)]
    (paragraph,) = assemble(made, tension_added=False)
    parts = sentences(paragraph)
    assert len(parts) - 1 <= MAX_SENTENCES and parts[-1] == NO_NEW_FAULT_LINES
    assert word_count([paragraph]) <= MAX_WORDS
    # The first sentence of each summary, major first, not whole summaries.
    assert parts[0] == "Model1 rose sharply on the coding leaderboard this week [1][11]."
    assert all("Its lab said" not in p for p in parts)


def test_the_word_cap_stops_the_assembly_and_cuts_a_lone_overlong_sentence() -> None:
    long = " ".join(["word"] * 50)
    made = [Summary(True, f"Alpha {long} [{k}].", [k]) for k in range(1, 5)]
    (paragraph,) = assemble(made, tension_added=False)
    assert word_count([paragraph]) <= MAX_WORDS and len(sentences(paragraph)) == 3
    huge = [Summary(True, "Alpha " + " ".join(["word"] * 200) + " [1].", [1])]
    (cut,) = assemble(huge, tension_added=True)
    assert word_count([cut]) <= MAX_WORDS and cut.endswith("… [1].")


def test_inline_markers_are_collected_at_the_sentence_end_without_stray_punctuation() -> None:
    made = [Summary(True, "The lab grew [12, 13] and [3], [4]. Revenue, [5], fell [6] sharply.", [3, 4, 7])]
    (paragraph,) = assemble(made, tension_added=True)
    assert paragraph == "The lab grew and [3][4][7]. Revenue, fell sharply [5][6]."
    assert "[12, 13]" not in paragraph and " ," not in paragraph and ",," not in paragraph


@pytest.mark.parametrize("odd", ["[NEW:1]", "[ new:1 ]", "[12, 13]", "[new: 1]", "[#2]"])
def test_a_draft_with_a_marker_that_is_not_one_falls_back_naming_it(odd: str) -> None:
    draft = [f"Mistral AI joined NVIDIA's coalition [new:2] and the question is open {odd}."]
    proposal = merge(small_brief(), drafted(TWO_EDITS, draft), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    assert odd in proposal.whats_new_note and "not one" in proposal.whats_new_note
    assert odd not in proposal.whats_new.paragraphs[0]
    # Brackets without a digit or "new:" are ordinary text ("[sic]").
    fine = ["Mistral AI joined [sic] NVIDIA's coalition [new:2]."]
    assert merge(small_brief(), drafted(TWO_EDITS, fine), run_date=RUN_DATE).whats_new_origin == "draft"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.lists(st.integers(1, 40), min_size=1, max_size=4),  # words per sentence / 3
            st.lists(st.integers(1, 60), max_size=6),
        ),
        min_size=1,
        max_size=16,
    )
)
def test_the_assembly_keeps_its_caps_for_sentences_of_any_length(
    summaries: list[tuple[bool, list[int], list[int]]],
) -> None:
    made = [
        Summary(
            major,
            " ".join(
                "Something " + " ".join(["moved"] * (3 * n)) + "".join(f" [{c}]" for c in cites[:2]) + "."
                for n in lengths
            ),
            cites,
        )
        for major, lengths, cites in summaries
    ]
    (paragraph,) = assemble(made, tension_added=False)
    parts = sentences(paragraph)
    assert parts[-1] == NO_NEW_FAULT_LINES and 2 <= len(parts) <= MAX_SENTENCES + 1
    assert word_count([paragraph]) <= MAX_WORDS
    for sentence in parts:
        cited = [int(n) for n in CITATION_RE.findall(sentence)]
        assert len(cited) <= MAX_MARKERS and cited == sorted(set(cited))
        assert " ," not in sentence and " ." not in sentence


# -- timeline placement ------------------------------------------------------------------------------


def _timeline(edits: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[Any]]:
    story = item(1, published="2026-05-20", text="GLM-5.2 follows GLM-5.1 on SWE-Bench Pro.")
    proposal = merge(small_brief(), batch(edits, [story]), run_date=RUN_DATE)
    return [(e.date, e.text) for e in proposal.candidate.timeline], proposal.verdicts


def test_after_places_the_entry_beside_its_anchor_when_the_dates_allow() -> None:
    entry = edit("add_timeline_entry", date="2026-05", text="GLM-5.2 follows [new:1]", after=4)
    timeline, verdicts = _timeline([entry])
    assert timeline[4] == ("2026-05", "GLM-5.2 follows [5]")
    assert timeline[3][1].startswith("GLM-5.1") and timeline[5][1].startswith("NVIDIA")
    assert verdicts[0].warnings == []


def test_without_after_the_entry_goes_after_every_entry_of_its_date() -> None:
    timeline, _ = _timeline([edit("add_timeline_entry", date="2026-05", text="GLM-5.2 follows [new:1]")])
    assert timeline[-1] == ("2026-05", "GLM-5.2 follows [5]")


def test_an_after_that_breaks_the_date_order_is_ignored_with_a_warning() -> None:
    entry = edit("add_timeline_entry", date="2026-05", text="GLM-5.2 follows [new:1]", after=1)
    timeline, verdicts = _timeline([entry])
    assert timeline[-1] == ("2026-05", "GLM-5.2 follows [5]")
    assert verdicts[0].status == "applied"
    assert verdicts[0].warnings == [
        "after=1: 2026-05 does not fit between entry 1 (2026-04-11) and the next; placed by date"
    ]
    _, missing = _timeline([{**entry, "after": 40}])
    assert missing[0].warnings == ["after=40: there is no timeline entry 40; placed by date"]


def test_existing_entries_are_never_reordered() -> None:
    before = [(e.date, e.text) for e in small_brief().timeline]
    for after in (None, 1, 2, 3, 4, 5):
        entry = edit("add_timeline_entry", date="2026-05", text="GLM-5.2 follows [new:1]", after=after)
        timeline, _ = _timeline([entry])
        assert [t for t in timeline if not t[1].startswith("GLM-5.2")] == before


def test_two_entries_after_one_anchor_are_checked_against_each_other() -> None:
    first = edit("add_timeline_entry", date="2026-05-10", text="GLM-5.2 follows [new:1]", after=1)
    second = edit("add_timeline_entry", date="2026-04-20", text="Qwen answers GLM-5.2 [new:1]", after=1)
    timeline, verdicts = _timeline([first, second])
    assert [d for d, _ in timeline][:4] == ["2026-04-11", "2026-04-20", "2026-05-10", "2026-05-16"]
    assert not any(w.startswith("after=") for w in verdicts[0].warnings)
    assert [w for w in verdicts[1].warnings if w.startswith("after=")] == [
        "after=1: 2026-04-20 does not fit between the entry edit 1 put after it (2026-05-10) and the next; "
        "placed by date"
    ]


# -- the names and figures checks on a draft -----------------------------------------------------------


def test_a_drafts_invented_figure_and_name_are_warned_and_the_draft_is_still_used() -> None:
    draft = ["Mistral AI joined NVIDIA's coalition [new:2] for $5 billion, Zorblax said."]
    proposal = merge(small_brief(), drafted(TWO_EDITS, draft), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "draft"
    assert proposal.whats_new_warnings == [
        "What's new: names found neither in the cited items nor in the brief: Zorblax",
        "What's new: figures found neither in the cited items nor in the brief: $5 billion",
    ]


def test_a_drafts_figure_in_the_items_it_cites_or_in_the_brief_passes() -> None:
    items = [item(1), item(2, text="Mistral AI joins the coalition with $5 billion of compute.")]
    draft = ["Mistral AI joined NVIDIA's coalition [new:2] for $5bn; Forge claims 99% [new:1]."]
    proposal = merge(small_brief(), drafted(TWO_EDITS, draft, items=items), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "draft"
    assert proposal.whats_new_warnings == []
    # The same figure cited from an item that does not carry it is warned.
    elsewhere = ["Mistral AI joined NVIDIA's coalition for $5bn [new:1]."]
    warned = merge(small_brief(), drafted(TWO_EDITS, elsewhere, items=items), run_date=RUN_DATE)
    assert warned.whats_new_warnings == [
        "What's new: figures found neither in the cited items nor in the brief: $5bn"
    ]


def test_an_assembly_carries_no_whats_new_warnings() -> None:
    proposal = merge(small_brief(), batch(TWO_EDITS), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled" and proposal.whats_new_warnings == []
