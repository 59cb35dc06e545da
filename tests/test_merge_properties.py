"""Properties of the merger over random edit batches (hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _merge_briefs import RUN_DATE, item, small_brief
from briefbot.merge import merge
from briefbot.models import CITATION_RE, Brief, EditBatch, TimelineEntry, date_sort_key

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["NVIDIA", "funds", "Mistral AI", "the", "coalition", "Zorblax", "GLM-5.1", "gap", "widens"]
# Mostly citations that resolve, sometimes one that does not ([new:4], [6]).
MARKERS = ["[new:1]", "[new:2]", "[new:3]", "[1]", "[2]", "[4]"] * 3 + ["[new:4]", "[6]"]
DATES = [
    "2026-04-11",
    "2026-05-16",
    "2026-05-19",
    "2026-05",
    "2026",
    "2025-12-31",
    "2026-05-30",
    "2026-06-02",
    "2026-02-30",
    "May",
]
ACTORS = [
    "CAISI (NIST)",
    "Nathan Lambert (Interconnects / Ai2)",
    "nvidia / nemotron coalition",
    "Nvidia",
    "Mistral AI",
    "Z [new:1]",
]


def _text(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
    markers = draw(st.lists(st.sampled_from(MARKERS), max_size=2))
    return " ".join(words + markers)


@st.composite
def edits(draw) -> dict:
    op = draw(
        st.sampled_from(
            [
                "add_timeline_entry",
                "revise_timeline_entry",
                "update_perspective",
                "add_perspective",
                "add_tension",
                "revise_tension",
                "add_open_question",
                "revise_open_question",
                "retire_open_question",
                "revise_section",
                "add_narrative_paragraph",
                "revise_narrative_paragraph",
            ]
        )
    )
    data = {"op": op, "summary": _text(draw), "significance": draw(st.sampled_from(["major", "minor"]))}
    if op.startswith(("revise_", "retire_")) and op != "revise_section":
        data["index"] = draw(st.integers(0, 6))
    if op == "add_timeline_entry":
        data["date"] = draw(st.sampled_from(DATES))
        # Where the proposer puts it: any entry, one that is not there (0, negative, past the end), or
        # nowhere; several entries of one batch often name the same anchor.
        data["after"] = draw(st.one_of(st.none(), st.integers(-1, 8), st.sampled_from([1, 2])))
    if op in ("update_perspective", "add_perspective"):
        data["actor"] = draw(st.sampled_from(ACTORS))
        nullable = op == "update_perspective"
        data["stance"] = None if nullable and draw(st.booleans()) else _text(draw)
        data["evolution"] = None if nullable and draw(st.booleans()) else _text(draw)
    elif op == "revise_section":
        data["section"] = draw(st.sampled_from(["what", "why_it_matters", "status"]))
        data["text"] = _text(draw)
    elif op != "retire_open_question":
        data["text"] = _text(draw)
    return data


@st.composite
def briefs(draw) -> Brief:
    """The small brief with a random (sorted) timeline."""
    dates = sorted(draw(st.lists(st.sampled_from(DATES[:7]), max_size=6)), key=date_sort_key)
    timeline = [TimelineEntry(date=d, text=f"Entry {i} about NVIDIA [1]") for i, d in enumerate(dates)]
    return small_brief().model_copy(update={"timeline": timeline})


BATCHES = st.builds(
    lambda es, urls: EditBatch.model_validate(
        {"items": [item(k, url=url) for k, url in enumerate(urls, 1)], "edits": es}
    ),
    st.lists(edits(), max_size=8),
    st.lists(
        st.sampled_from(["https://news.example/a", "https://news.example/b", "https://reddit.example/glm51"]),
        min_size=3,
        max_size=3,
    ),
)


def _all_text(brief: Brief) -> list[str]:
    texts = [*brief.what, *brief.why_it_matters, *brief.open_questions, *brief.narrative, *brief.tensions]
    texts += [e.text for e in brief.timeline] + [brief.status or ""]
    texts += [f"{p.actor} {p.stance} {p.evolution or ''}" for p in brief.perspectives]
    return texts + (brief.whats_new.paragraphs if brief.whats_new else [])


@SETTINGS
@given(briefs(), BATCHES)
def test_merge_is_deterministic(base, batch):
    first = merge(base, batch, run_date=RUN_DATE)
    second = merge(base.model_copy(deep=True), batch.model_copy(deep=True), run_date=RUN_DATE)
    assert first.model_dump_json() == second.model_dump_json()


@SETTINGS
@given(briefs())
def test_empty_batch_changes_only_version_date_and_state(base):
    proposal = merge(base, EditBatch(items=[item(1)], edits=[]), run_date=RUN_DATE)
    assert (
        proposal.candidate.model_copy(
            update={"version": base.version, "date": base.date, "state": base.state}
        )
        == base
    )
    assert (proposal.candidate.version, proposal.candidate.date) == (base.version + 1, RUN_DATE)


@SETTINGS
@given(briefs(), BATCHES)
def test_every_citation_resolves_and_existing_sources_keep_their_numbers(base, batch):
    candidate = merge(base, batch, run_date=RUN_DATE).candidate
    numbers = {s.number for s in candidate.sources}
    for text in _all_text(candidate):
        assert "[new:" not in text
        assert {int(n) for n in CITATION_RE.findall(text)} <= numbers, text
    assert candidate.sources[: len(base.sources)] == base.sources
    assert [s.number for s in candidate.sources] == list(range(1, len(candidate.sources) + 1))
    assert candidate.item_count - base.item_count == len(candidate.sources) - len(base.sources)


@SETTINGS
@given(briefs(), BATCHES)
def test_sorted_timeline_stays_sorted(base, batch):
    timeline = merge(base, batch, run_date=RUN_DATE).candidate.timeline
    keys = [date_sort_key(e.date) for e in timeline]
    assert keys == sorted(keys)
    assert all(dt.date(*(int(p) for p in (e.date + "-01-01")[:10].split("-"))) <= RUN_DATE for e in timeline)


@SETTINGS
@given(
    briefs(),
    st.lists(st.tuples(st.sampled_from(DATES[:7]), st.one_of(st.none(), st.integers(-1, 8))), max_size=6),
)
def test_entries_placed_after_any_anchor_keep_the_timeline_sorted_and_the_old_entries_in_order(
    base: Brief, placed: list[tuple[str, int | None]]
) -> None:
    edits_ = [
        {
            "op": "add_timeline_entry",
            "date": date,
            "text": f"Added {k} moves the story along [new:1]",
            "after": after,
            "summary": f"Added {k} [new:1].",
            "significance": "minor",
        }
        for k, (date, after) in enumerate(placed)
    ]
    batch = EditBatch.model_validate({"items": [item(1)], "edits": edits_})
    proposal = merge(base, batch, run_date=RUN_DATE)
    timeline = proposal.candidate.timeline
    keys = [date_sort_key(e.date) for e in timeline]
    assert keys == sorted(keys)
    assert [e for e in timeline if not e.text.startswith("Added")] == base.timeline
    for verdict, (_, after) in zip(proposal.verdicts, placed, strict=True):
        if verdict.status == "applied" and after is not None and not 1 <= after <= len(base.timeline):
            assert f"there is no timeline entry {after}" in " ".join(verdict.warnings)


@SETTINGS
@given(briefs(), BATCHES)
def test_text_not_targeted_by_an_applied_edit_is_byte_identical(base, batch):
    proposal = merge(base, batch, run_date=RUN_DATE)
    candidate = proposal.candidate
    targeted: dict[str, set[int]] = {}
    actors: set[str] = set()
    sections: set[str] = set()
    for verdict, edit in zip(proposal.verdicts, batch.edits, strict=False):
        if verdict.status != "applied":
            continue
        key = {
            "timeline_entry": "timeline",
            "tension": "tensions",
            "open_question": "open_questions",
            "narrative_paragraph": "narrative",
        }
        for suffix, name in key.items():
            if edit.op.endswith(suffix) and hasattr(edit, "index"):
                targeted.setdefault(name, set()).add(edit.index)
        if edit.op == "update_perspective":
            actors.add(edit.actor.casefold())
        if edit.op == "revise_section":
            sections.add(edit.section)
    for name in ("timeline", "tensions", "open_questions", "narrative"):
        kept = [x for i, x in enumerate(getattr(base, name), 1) if i not in targeted.get(name, set())]
        remaining = iter(getattr(candidate, name))
        # The untouched elements appear in the candidate unchanged and in their order.
        assert all(any(x == y for y in remaining) for x in kept), name
    for perspective in base.perspectives:
        if perspective.actor.casefold() not in actors:
            assert perspective in candidate.perspectives
    for section in ("what", "why_it_matters", "status"):
        if section not in sections:
            assert getattr(candidate, section) == getattr(base, section)
    assert (candidate.title, candidate.site, candidate.history_link) == (
        base.title,
        base.site,
        base.history_link,
    )
