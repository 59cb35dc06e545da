"""`briefbot demo`: the recorded night v6 became v7, replayed fully offline (fixtures/demo/recording).

Approving every applied edit must give the seed's v7 read through source titles (the comparison of
tests/test_demo_data.py, with its two pinned known differences); no distractor may become a source;
two replays must write byte-identical proposals.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefbot.cli import main
from briefbot.models import Brief
from briefbot.project import Project
from briefbot.review import approve, decide, pending
from conftest import REPO
from test_demo_data import _titled

DEMO = REPO / "fixtures" / "demo"
SLUG = "open-model-capability-gap"
NOW = dt.datetime(2026, 5, 24, 9, 0, tzinfo=dt.UTC)


def _demo(root: Path) -> str:
    # No OPENAI_* in the environment and no server anywhere: a request outside the recording fails.
    result = CliRunner().invoke(
        main,
        ["demo", "--root", str(root)],
        env={
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "BRIEFBOT_TRIAGE_MODEL": "other",
        },
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "work"
    output = _demo(root)
    assert "open-model-capability-gap v6 -> v7" in output
    return root


@pytest.fixture(scope="module")
def first_proposal(demo_root: Path) -> bytes:
    """The proposal as the first replay wrote it (before any test decides on it)."""
    return (Project(demo_root).proposals_dir(SLUG) / "pending.json").read_bytes()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DEMO / "world" / "manifest.json").read_text(encoding="utf-8"))


def test_demo_replays_offline_with_only_the_planned_failures(demo_root: Path, first_proposal: bytes) -> None:
    report = json.loads(
        next((demo_root / ".briefbot" / "runs").glob("*/report.json")).read_text(encoding="utf-8")
    )
    assert report["mode"] == "replay" and report["exit_code"] == 1
    # The planned page failures (the 404 and the page that times out) and nothing missing from the recording.
    assert sorted(report["failures"]) == [
        "page: http://127.0.0.1:8765/www.removed-news.example/open-models/leaderboard-shakeup: HTTP 404",
        "page: http://127.0.0.1:8765/www.slowpower.example/data-center-power-demand-report: timed out (ReadTimeout: )",
    ]
    (brief,) = report["briefs"]
    assert (brief["relevant"], brief["edits_applied"], brief["edits_rejected"]) == (
        5,
        16,
        0,
    )
    assert report["llm"]["calls"] == 3


def test_approving_every_applied_edit_gives_the_seeds_v7(demo_root: Path, seed_text: str) -> None:
    from briefbot.brief.textformat import parse_text

    v7 = parse_text(seed_text, path="seed")
    project = Project(demo_root)
    proposal = pending(project, SLUG)
    decide(project, SLUG, accept=[v.number for v in proposal.applied()], now=NOW, by="test")
    approve(project, SLUG, by="test", now=NOW)
    merged = project.load(SLUG, 7)
    assert (merged.version, merged.date, merged.item_count) == (
        v7.version,
        v7.date,
        v7.item_count,
    )
    assert sorted((s.title, s.label, s.date) for s in merged.sources) == sorted(
        (s.title, s.label, s.date) for s in v7.sources
    )
    for section in (
        "what",
        "why_it_matters",
        "open_questions",
        "narrative",
        "tensions",
        "status",
    ):
        assert _titled(merged, getattr(merged, section)) == _titled(v7, getattr(v7, section)), section
    assert _titled(merged, [p.model_dump() for p in merged.perspectives]) == _titled(
        v7, [p.model_dump() for p in v7.perspectives]
    )
    # Equal in every section, What's new included: the seed's v7 modulo source numbering.
    assert _titled(merged, [e.model_dump() for e in merged.timeline]) == _titled(
        v7, [e.model_dump() for e in v7.timeline]
    )
    assert merged.whats_new is not None and merged.whats_new.version == 7
    assert _titled(merged, merged.whats_new.paragraphs) == _titled(v7, v7.whats_new.paragraphs)
    assert proposal.whats_new_origin == "draft"


def test_distractors_never_become_sources(demo_root: Path, manifest: dict) -> None:
    project = Project(demo_root)
    v6: Brief = project.load(SLUG, 6)
    candidate = (
        pending(project, SLUG).candidate if project.latest_version(SLUG) == 6 else project.load(SLUG, 7)
    )
    new = [s for s in candidate.sources if s.number not in {x.number for x in v6.sources}]
    relevant = {i["title"] for i in manifest["items"] if i["relevant"]}
    assert sorted(s.title for s in new) == sorted(relevant)
    assert all(s.publisher is None and s.date is None and s.origin == f"reactive:{SLUG}" for s in new)
    distractor_titles = {i.get("title") for i in manifest["items"] if not i["relevant"]} - {None}
    assert not distractor_titles & {
        s.title for s in candidate.sources if s.number not in {x.number for x in v6.sources}
    }


def test_replaying_twice_writes_byte_identical_proposals(first_proposal: bytes, tmp_path: Path) -> None:
    again = tmp_path / "again"
    _demo(again)
    assert (Project(again).proposals_dir(SLUG) / "pending.json").read_bytes() == first_proposal


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--root", str(mine)])
    assert result.exit_code == 2 and "not an earlier demo" in result.output
    assert (mine / "notes.txt").read_text() == "keep me"


def test_running_the_demo_again_replaces_the_earlier_demo(tmp_path: Path, first_proposal: bytes) -> None:
    again = tmp_path / "twice"
    _demo(again)
    (again / "briefs" / SLUG / "proposals" / "pending.json").write_text("stale")
    _demo(again)
    assert (Project(again).proposals_dir(SLUG) / "pending.json").read_bytes() == first_proposal


@pytest.mark.parametrize(
    "missing",
    [
        "/feeds/tech-wire.xml",  # collect
        "/www.chipnews.example/2nm-mobile-soc",  # extract (a page)
        "/v1/chat/completions",  # an LLM exchange
    ],
)
def test_a_replay_missing_an_exchange_is_fatal(tmp_path: Path, missing: str) -> None:
    from briefbot.cli.demo import DEMO_LLM_ENV, prepare_root

    recording = tmp_path / "recording"
    recording.mkdir()
    dropped = False
    for meta in sorted((DEMO / "recording").glob("*.json")):
        url = json.loads(meta.read_text(encoding="utf-8"))["request"]["url"]
        if not dropped and url.endswith(missing):
            dropped = True  # this exchange (and its body) stays out of the copy
            continue
        for part in (meta, meta.with_suffix(".body")):
            if part.exists():
                (recording / part.name).write_bytes(part.read_bytes())
    assert dropped, f"no recorded exchange for {missing}"
    root = prepare_root(tmp_path / "root")
    result = CliRunner().invoke(
        main,
        ["--root", str(root), "run", "--replay", str(recording), "--date", "2026-05-24"],
        env=DEMO_LLM_ENV,
    )
    assert result.exit_code == 2, result.output
    report = json.loads(next((root / ".briefbot" / "runs").glob("*/report.json")).read_text(encoding="utf-8"))
    assert report["status"] == "failed"
    assert any("no recorded exchange" in f and missing in f for f in report["failures"]), report["failures"]
    if "chat/completions" not in missing:
        # A collect or page miss stops the night before any LLM call. (An LLM miss reaches the
        # pipeline as an LLMError naming it, after the other calls went on: exit 2 all the same.)
        assert not (Project(root).proposals_dir(SLUG) / "pending.json").exists()
