"""The eval's metrics (issue 16, item 2), pure: gold nights and hand-made answers in, counts out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from _eval_models import NIGHTS
from briefbot.eval.gold import GoldNight, load_night
from briefbot.eval.metrics import reason_kind, score_night, similarity
from briefbot.eval.score import Score
from briefbot.merge import merge
from briefbot.models import EditBatch, EditList


def night(name: str) -> GoldNight:
    return load_night(NIGHTS / name)


def reference(name: str) -> dict[str, Any]:
    return json.loads((NIGHTS / name / "reference.json").read_text(encoding="utf-8"))


def score(gold: GoldNight, answer: dict[str, Any], labels: dict[str, str] | None = None) -> Score:
    labels = labels if labels is not None else dict(gold.labels())
    shown = [i for i in gold.batch_items() if labels.get(i.ref, "irrelevant") != "irrelevant"]
    edits = EditList.model_validate(answer)
    batch = EditBatch(items=shown, edits=edits.edits, whats_new=edits.whats_new)
    proposal = merge(gold.brief, batch, run_date=gold.spec.run_date) if edits.edits else None
    return score_night(gold, labels, batch, proposal)


def test_scores_are_deterministic_and_survive_a_round_trip() -> None:
    gold = night("demo")
    first, second = score(gold, reference("demo")), score(gold, reference("demo"))
    assert first == second
    assert Score.model_validate_json(first.model_dump_json()).figures() == first.figures()


def test_timeline_needs_the_exact_date_and_enough_of_the_words() -> None:
    gold = night("injection")
    answer = reference("injection")
    answer["edits"] = answer["edits"][:1]
    wrong_date = copy.deepcopy(answer)
    wrong_date["edits"][0]["date"] = "2026-05"
    assert score(gold, wrong_date).must_missed[0].startswith("timeline 2026-05-26")
    vague = copy.deepcopy(answer)
    vague["edits"][0]["text"] = "A lab publishes a model [new:1]"
    assert (
        "timeline 2026-05-26: Mistral AI releases Mistral Medium 4 open weights"
        in score(gold, vague).must_missed
    )
    assert score(gold, answer).must_met == 1  # the perspective is the one still missing


def test_similarity_is_token_set_on_bare_words() -> None:
    assert similarity("Epoch AI 7 months", "Epoch AI now says about 7 months [new:1]") == 100
    assert similarity("Epoch AI 7 months", "CAISI publishes an evaluation") < 50


def test_a_silent_overwrite_is_a_violation_and_a_tension_carrying_it_is_not() -> None:
    gold = night("contradiction")
    overwrite = {
        "edits": [
            {
                "op": "update_perspective",
                "actor": "Epoch AI",
                "stance": "The ECI metric shows open-weight models trail the state of the art by about 7 months [new:1]",
                "evolution": "Widened [new:1]",
                "summary": "Epoch AI's new figure [new:1]",
                "significance": "major",
            },
            {
                "op": "revise_tension",
                "index": 6,
                "text": "Epoch AI's ECI metric places the lag at about 7 months [new:1]; CAISI agrees the gap widens [1]",
                "summary": "Epoch AI and CAISI agree [new:1]",
                "significance": "major",
            },
            {
                "op": "revise_section",
                "section": "what",
                "text": "Open-weight models trail closed ones by about 7 months, Epoch AI now says [new:1].",
                "summary": "What now says 7 months [new:1]",
                "significance": "major",
            },
        ],
        "whats_new": None,
    }
    silent = score(gold, overwrite)
    assert silent.must_not["removes"] == 1, silent.must_not_detail
    assert score(gold, reference("contradiction")).must_not["removes"] == 0


def test_generic_must_not_irrelevant_citation_invented_figure_and_duplicate_entry() -> None:
    gold = night("syndication")
    answer = reference("syndication")
    entry = answer["edits"][0]
    answer["edits"] += [copy.deepcopy(entry), {**copy.deepcopy(entry), "text": entry["text"] + ", up 12%"}]
    answer["edits"].append(
        {
            "op": "add_open_question",
            "text": "Do tomatoes matter [new:4]?",
            "summary": "[new:4]",
            "significance": "minor",
        }
    )
    labels = dict.fromkeys(gold.labels(), "relevant")
    got = score(gold, answer, labels)
    assert got.must_not["duplicate_timeline"] == 2, got.must_not_detail
    assert got.must_not["unsupported"] == 1, got.must_not_detail
    assert got.must_not["cites_irrelevant"] == 1, got.must_not_detail
    # The merger rejected the exact duplicate: counted by kind, without its particulars.
    assert any(kind.startswith("duplicates timeline") for kind in got.rejections), got.rejections


def test_one_source_counts_each_extra_copy() -> None:
    gold = night("syndication")
    answer = reference("syndication")
    answer["edits"][0]["text"] += "[new:2][new:3]"
    got = score(gold, answer)
    assert got.must_not["one_source"] == 2 and got.must_met == 1


def test_retired_question_by_index_or_text_and_only_when_applied() -> None:
    gold = night("new-actor")
    assert score(gold, reference("new-actor")).must_met == 4
    answer = reference("new-actor")
    answer["edits"][3]["index"] = 3  # the wrong question
    assert "retired_question: #2" in score(gold, answer).must_missed
    by_text = gold.model_copy(deep=True)
    must = by_text.spec.must[3].model_copy(
        update={"index": None, "text": "Nemotron Coalition durable financial commitments"}
    )
    by_text.spec.must[3] = must
    assert score(by_text, reference("new-actor")).must_met == 4


def test_a_quiet_night_counts_no_recall_and_every_edit_as_a_violation() -> None:
    gold = night("quiet")
    nothing = score(gold, reference("quiet"))
    assert nothing.figures()["must.recall"] is None and nothing.must_not["any_edit"] == 0
    busy = {
        "edits": [
            {
                "op": "add_open_question",
                "text": "Is SWE-Bench Pro fair [new:1]?",
                "summary": "[new:1]",
                "significance": "minor",
            }
        ],
        "whats_new": None,
    }
    assert score(gold, busy).must_not["any_edit"] == 1


def test_unlabelled_items_count_as_misses_and_empty_counts_are_na() -> None:
    gold = night("injection")
    got = score_night(gold, {}, None, None, errors=["triage failed"])
    figures = got.figures()
    assert figures["triage.relevant.recall"] == 0.0 and figures["triage.relevant.precision"] is None
    assert figures["must.recall"] == 0.0 and figures["edits.applied_share"] is None
    assert got.failed == 1


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (
            "cites [new:9], which is not an item of this batch (items: new:1, new:2)",
            "cites […], which is not an item of this batch",
        ),
        ("timeline entry 31 does not exist (v6 has 9)", "timeline entry N does not exist"),
        ("unknown actor 'Stanford'", "unknown actor '…'"),
    ],
)
def test_rejection_reasons_are_counted_by_kind(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind
