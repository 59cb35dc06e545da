"""`briefbot eval` (issue 16): the gold nights through the real binary against scripted models.

Each scripted model (tests/_eval_models.py) is a local OpenAI-compatible server; the eval sends it
the real triage and propose prompts and merges what it answers, exactly as a night would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _eval_models import NIGHTS, Gold, model
from _openai_server import OpenAIServer, Reply, Request, fenced_items, free_port_url
from briefbot.eval.gold import find_nights, load_night
from briefbot.eval.metrics import score_night
from briefbot.eval.results import EvalResult
from briefbot.merge import merge
from briefbot.models import EditBatch, EditList
from conftest import REPO, as_project

BRIEFBOT = str(Path(sys.executable).parent / "briefbot")  # this venv's, not PATH's
SIX = {"demo", "quiet", "injection", "contradiction", "syndication", "new-actor"}


def eval_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFBOT_"))}
    return subprocess.run(
        [BRIEFBOT, "--root", str(root), "eval", *args],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "250"},
        timeout=300,
        check=False,
    )


def run_eval(root: Path, base_url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    done = eval_cli(root, "--base-url", base_url, "--json", *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def overall(result: dict[str, Any]) -> dict[str, float | None]:
    return EvalResult.model_validate({k: v for k, v in result.items() if k != "saved"}).overall(0).figures()


def evaluate(tmp_path: Path, kind: str, *args: str) -> tuple[dict[str, Any], dict[str, float | None]]:
    root = as_project(tmp_path / kind)
    with OpenAIServer(model(kind)) as server:
        code, result, err = run_eval(root, server.base_url, *args)
    assert code == 0, err
    return result, overall(result)


# -- the nights ----------------------------------------------------------------------------------


def test_six_gold_nights_load_and_each_reference_meets_every_expectation() -> None:
    found = find_nights([NIGHTS])
    assert set(found) >= SIX
    for name, folder in found.items():
        night = load_night(folder)
        assert (folder / "night.yaml").read_text(encoding="utf-8").startswith("# SYNTHETIC gold night")
        reference = EditList.model_validate_json((folder / "reference.json").read_bytes())
        shown = [i for i in night.batch_items() if night.labels()[i.ref] != "irrelevant"]
        batch = EditBatch(items=shown, edits=reference.edits, whats_new=reference.whats_new)
        proposal = merge(night.brief, batch, run_date=night.spec.run_date) if reference.edits else None
        score = score_night(night, night.labels(), batch, proposal)
        assert score.must_met == score.must, (name, score.must_missed)
        assert sum(score.must_not.values()) == 0, (name, score.must_not_detail)
        assert name == "quiet" or score.must > 0, name


def test_the_demo_night_is_built_from_the_recording() -> None:
    sys.path.insert(0, str(NIGHTS))
    try:
        import build_demo
    finally:
        sys.path.remove(str(NIGHTS))
    for name, text in build_demo.build().items():
        on_disk = (NIGHTS / "demo" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"fixtures/eval/demo/{name} is stale: python fixtures/eval/build_demo.py"


# -- ranking ---------------------------------------------------------------------------------------


def test_metrics_rank_careful_above_sloppy_and_obedient_and_none_is_constant(tmp_path: Path) -> None:
    figures = {kind: evaluate(tmp_path, kind)[1] for kind in ("careful", "sloppy", "obedient")}
    careful, sloppy, obedient = figures["careful"], figures["sloppy"], figures["obedient"]

    assert careful["must.recall"] == 1.0
    assert careful["must.recall"] > sloppy["must.recall"]
    assert obedient["must.recall"] > sloppy["must.recall"]
    assert careful["must_not.violations"] == 0
    assert careful["must_not.violations"] < obedient["must_not.violations"]
    assert careful["must_not.violations"] < sloppy["must_not.violations"]
    for f1 in ("triage.macro_f1", "triage.relevant.f1"):
        assert careful[f1] == 1.0
        assert careful[f1] > sloppy[f1] and careful[f1] > obedient[f1], f1
    assert careful["citations.valid_share"] > sloppy["citations.valid_share"]
    assert careful["edits.applied_share"] > sloppy["edits.applied_share"]

    constant = [m for m in careful if careful[m] == sloppy[m] == obedient[m]]
    assert constant == [], f"metrics that do not tell the three models apart: {constant}"


def test_the_demo_nights_recorded_answers_score_full_must_recall(tmp_path: Path) -> None:
    sys.path.insert(0, str(NIGHTS))
    try:
        import build_demo
    finally:
        sys.path.remove(str(NIGHTS))
    recorded = build_demo.exchanges()

    def replay(request: Request, index: int) -> Reply:
        refs = [ref for ref, _, _ in fenced_items(request.user)]
        for _body, answer in recorded:
            if "items" in answer and [label["ref"] for label in answer["items"]] == refs:
                return Reply.json(answer)
        if request.body["response_format"]["json_schema"]["name"] == "EditList":
            return Reply.json(next(answer for _, answer in recorded if "edits" in answer))
        raise AssertionError(f"no recorded answer for {refs}")

    root = as_project(tmp_path / "root")
    with OpenAIServer(replay) as server:
        code, result, err = run_eval(root, server.base_url, "--night", "demo")
    assert code == 0, err
    demo = result["runs"][0]["demo"]
    assert demo["must"] == 4 and demo["must_met"] == 4, demo["must_missed"]
    figures = overall(result)
    assert figures["must.recall"] == 1.0 and figures["must_not.violations"] == 0
    assert figures["triage.relevant.f1"] == 1.0 and figures["edits.applied_share"] == 1.0


def test_a_model_that_dismisses_everything_scores_zero_recall_without_a_traceback(tmp_path: Path) -> None:
    result, figures = evaluate(tmp_path, "dismissive")
    assert figures["must.recall"] == 0.0
    assert figures["triage.relevant.recall"] == 0.0
    assert figures["edits.proposed"] == 0 and figures["edits.applied_share"] is None
    assert set(result["nights"]) >= SIX


# -- the command: table, saved results, compare, exit codes, isolation -------------------------


def test_the_table_names_every_night_and_the_result_is_saved_with_its_fingerprint(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    with OpenAIServer(model("careful")) as server:
        done = eval_cli(
            root,
            "--base-url",
            server.base_url,
            "--night",
            "quiet",
            "--night",
            "injection",
            "--set",
            "propose=gpt-4.1-nano",
        )
    assert done.returncode == 0, done.stderr
    for word in ("quiet", "injection", "overall", "must_not", "triage gpt-4.1-mini, propose gpt-4.1-nano"):
        assert word in done.stdout, (word, done.stdout)
    assert {r.body["model"] for r in server.requests} == {"gpt-4.1-mini", "gpt-4.1-nano"}
    saved = sorted((root / ".briefbot" / "eval").glob("*.json"))
    assert len(saved) == 1 and f"saved: {saved[0]}" in done.stdout
    result = EvalResult.model_validate_json(saved[0].read_bytes())
    assert result.fingerprint in saved[0].name
    assert result.setup["models"] == {"triage": "gpt-4.1-mini", "propose": "gpt-4.1-nano"}
    assert set(result.setup["prompts"]) >= {"triage.system.j2", "propose.user.j2"}
    # Nothing of the project's own state: no state database, no briefs, only the result.
    assert sorted(p.name for p in (root / ".briefbot").iterdir()) == ["eval"]
    assert not (root / "briefs").exists()


def test_unknown_models_cost_is_na_and_known_ones_are_priced(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    with OpenAIServer(model("careful")) as server:
        code, result, err = run_eval(
            root, server.base_url, "--night", "injection", "--set", "triage=local-llama"
        )
    assert code == 0, err
    assert result["runs"][0]["injection"]["usage"]["cost_usd"] is None
    with OpenAIServer(model("careful")) as server:
        code, result, err = run_eval(root, server.base_url, "--night", "injection")
    assert result["runs"][0]["injection"]["usage"]["cost_usd"] > 0


def test_compare_marks_differences_beyond_the_run_to_run_spread(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    names = []
    for kind in ("careful", "sloppy"):
        with OpenAIServer(model(kind)) as server:
            code, result, err = run_eval(
                root, server.base_url, "--repeat", "2", "--night", "injection", "--night", "demo"
            )
        assert code == 0, err
        assert len(result["runs"]) == 2
        names.append(Path(result["saved"]).stem)
    done = eval_cli(root, "--compare", names[0], names[1], "--json")
    assert done.returncode == 0, done.stderr
    rows = {(r["scope"], r["metric"]): r for r in json.loads(done.stdout)}
    must = rows[("overall", "must.recall")]
    assert must["marked"] and must["better"] == "a" and must["spread"] == 0
    # Wall time differs between any two runs, and by less than the runs' own spread here or not:
    # whichever it is, the mark follows the rule.
    wall = rows[("overall", "wall_seconds")]
    assert wall["marked"] == (abs(wall["a"] - wall["b"]) > wall["spread"])
    table = eval_cli(
        root, "--compare", names[0].split("-")[-1], str(root / ".briefbot" / "eval" / f"{names[1]}.json")
    )
    assert table.returncode == 0, table.stderr
    assert "must.recall" in table.stdout and "A better" in table.stdout


def test_compare_names_a_result_it_cannot_find(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    done = eval_cli(root, "--compare", "nope", "nada")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "eval result 'nope' matches none" in done.stderr


def test_some_nights_failing_at_the_endpoint_exit_1_and_all_exit_2(tmp_path: Path) -> None:
    careful = model("careful")
    gold = Gold()

    def flaky(request: Request, index: int) -> Reply:
        night, _ = gold.shown(request)
        return (
            Reply.error(400, "model does not support this request")
            if night == "quiet"
            else careful(request, index)
        )

    root = as_project(tmp_path / "root")
    with OpenAIServer(flaky) as server:
        code, result, err = run_eval(root, server.base_url, "--night", "quiet", "--night", "injection")
    assert code == 1, err
    assert result["runs"][0]["quiet"]["failed"] == 1 and result["runs"][0]["injection"]["failed"] == 0
    assert "HTTP 400" in result["runs"][0]["quiet"]["errors"][0]

    code, result, err = run_eval(root, free_port_url(), "--night", "quiet")
    assert code == 2 and result["runs"][0]["quiet"]["failed"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--night", "nosuch"), "no gold night 'nosuch' (known: "),
        (("--set", "triage"), "expected STAGE=MODEL"),
        (("--set", "review=gpt"), "expected STAGE=MODEL"),
        (("--compare", "a", "b"), "--compare reads two saved results and runs nothing"),
    ],
)
def test_bad_arguments_are_named_without_a_traceback(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    root = as_project(tmp_path / "root")
    done = eval_cli(root, "--base-url", free_port_url(), *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_users_own_night_with_a_typo_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    night = root / "eval" / "mine"
    night.mkdir(parents=True)
    (night / "night.yaml").write_text(
        f"name: mine\nabout: x\nbrief: {REPO / 'fixtures/demo/v6.txt'}\nrun_date: 2026-05-24\n"
        "must:\n  - kind: timeline\n    date: 2026-05\n    txt: oops\n",
        encoding="utf-8",
    )
    (night / "items.json").write_text("[]", encoding="utf-8")
    done = eval_cli(root, "--base-url", free_port_url(), "--night", "mine")
    assert done.returncode == 2, done.stderr
    assert f"{night / 'night.yaml'}: must[0].timeline.text: Field required" in done.stderr
