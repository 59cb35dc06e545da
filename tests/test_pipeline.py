"""The nightly run end to end over real local servers: a small world (pytest-httpserver) and a
scripted OpenAI-compatible server (tests/_openai_server.py); the world and helpers are
tests/_pipeline_world.py, and a run SIGKILLed mid-way is tests/test_pipeline_resume.py.

Covers: a full run leaves a proposal; the same night again is idle (only conditional GETs, no
page, no LLM call); a failing feed gives exit 1 and is named; the lock refuses a second run; an
undated item never gets the fetch time as its date; a same-night rerun replaces the undecided
proposal and leaves a decided one alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from _openai_server import OpenAIServer
from _pipeline_world import (  # noqa: F401  # world is a fixture
    ETAG,
    SLUG,
    STORIES,
    V6,
    World,
    make_root,
    responder,
    run_night,
    world,
)
from briefbot.cli import main
from briefbot.project import Project
from briefbot.store.lock import RunLock


def test_full_run_then_idle_night(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        code, report, output = run_night(project, llm)
        assert code == 0, output
        assert (report["status"], report["collected"], report["pages_fetched"]) == (
            "done",
            3,
            3,
        )
        (brief,) = report["briefs"]
        assert (brief["candidates"], brief["relevant"], brief["edits_applied"]) == (
            3,
            3,
            1,
        )
        proposal = json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))
        new = proposal["candidate"]["sources"][-1]
        assert new["title"] == "Model B tops a coding leaderboard" and new["date"] == "2026-05-21"
        assert [i["ref"] for i in proposal["batch"]["items"]] == [
            "new:1",
            "new:2",
            "new:3",
        ]
        assert report["llm"]["calls"] == 2 and report["llm"]["prompt_tokens"] == 2000
        assert {s["stage"] for s in report["stages"]} == {
            "collect",
            "extract",
            "triage",
            "propose",
            "merge",
        }
        calls_before = len(llm.requests)
        world.clear_log()

        code, report, output = run_night(project, llm)
        assert code == 0, output
        assert (
            report["status"] == "idle"
            and "idle night" in " ".join(report["notes"])
            and "idle night" in output
        )
        assert len(llm.requests) == calls_before  # no LLM call
        assert [(r.path, r.headers.get("If-None-Match"), resp.status_code) for r, resp in world.log] == [
            ("/feed.xml", ETAG, 304)
        ]
        # The same night's proposal is left as it was.
        assert (
            json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))["revision"]
            == 1
        )

        listing = CliRunner().invoke(main, ["--root", str(project.root), "runs", "--json"])
        runs = json.loads(listing.output)
        assert [(r["id"], r["status"], r["exit_code"]) for r in runs] == [
            (2, "idle", 0),
            (1, "done", 0),
        ]


def test_a_failing_feed_is_named_and_exits_1(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world, broken=True)
        code, report, output = run_night(project, llm)
    assert code == 1, output
    assert report["status"] == "partial"
    assert any(f.startswith("feed broken:") and "500" in f for f in report["failures"]), report["failures"]
    assert "failed: feed broken" in output
    assert (project.proposals_dir(SLUG) / "pending.json").exists()  # the other feed's items went on


def test_nothing_possible_exits_2(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        feeds = project.feeds_file.read_text(encoding="utf-8").replace("/feed.xml", "/bad.xml")
        project.feeds_file.write_text(feeds, encoding="utf-8")
        code, report, output = run_night(project, llm)
    assert code == 2, output
    assert report["status"] == "failed" and len(llm.requests) == 0


def test_a_held_lock_refuses_the_run(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        with RunLock(project.state_dir / "run.lock"):
            code, _, output = run_night(project, llm)
        assert code == 2 and "another briefbot run" in output
        assert world.log == [] and llm.requests == []


def test_an_undated_item_never_gets_the_fetch_time_as_its_date(tmp_path: Path, world: World) -> None:
    world.stories.append(("Model E ships without a date", None))
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        code, _, output = run_night(project, llm)
    assert code == 0, output
    dates = {i["title"]: i["published"] for i in _pending(project)["batch"]["items"]}
    assert dates == {**dict(STORIES), "Model E ships without a date": None}


def _pending(project: Project) -> dict:
    return json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))


def test_same_night_rerun_replaces_the_undecided_proposal_keeping_its_items(
    tmp_path: Path, world: World
) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        assert run_night(project, llm)[0] == 0
        v6 = json.loads(V6.read_text(encoding="utf-8"))
        # A new story, and one whose title already is a source of the brief (excluded by title).
        world.stories += [
            ("Model D ships", "2026-05-23"),
            (v6["sources"][0]["title"], "2026-05-23"),
        ]
        code, report, output = run_night(project, llm)
    assert code == 0, output
    (brief,) = report["briefs"]
    assert brief["replaced"] and brief["excluded"] == 1 and brief["candidates"] == 4
    proposal = _pending(project)
    assert proposal["revision"] == 2
    assert [i["title"] for i in proposal["batch"]["items"]] == [t for t, _ in STORIES] + ["Model D ships"]
    assert "proposal replaced" in output


def test_an_editors_decided_proposal_is_not_clobbered(tmp_path: Path, world: World) -> None:
    from briefbot.review import decide

    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        assert run_night(project, llm)[0] == 0
        decide(
            project,
            SLUG,
            accept=[1],
            now=dt.datetime(2026, 5, 24, 7, tzinfo=dt.UTC),
            by="editor",
        )
        before = (project.proposals_dir(SLUG) / "pending.json").read_bytes()
        world.stories.append(("Model D ships", "2026-05-23"))
        calls = len(llm.requests)
        code, report, output = run_night(project, llm)
        assert len(llm.requests) == calls
    assert code == 0, output
    assert (project.proposals_dir(SLUG) / "pending.json").read_bytes() == before
    (brief,) = report["briefs"]
    assert brief["proposal"] is None and "under review" in brief["note"]
    assert "held back 1 item(s)" in output


def test_after_tonights_proposal_is_approved_a_rerun_weighs_only_the_new_items(
    tmp_path: Path, world: World
) -> None:
    from briefbot.review import approve

    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        assert run_night(project, llm)[0] == 0
        approve(project, SLUG, by="editor", now=dt.datetime(2026, 5, 24, 7, tzinfo=dt.UTC))
        world.stories.append(("Model D ships", "2026-05-23"))
        code, report, output = run_night(project, llm)
    assert code == 0, output
    (brief,) = report["briefs"]
    # The approved items had their turn: only the late one is weighed (one triage call, one item).
    assert brief["candidates"] == 1 and brief["relevant"] == 1
    assert "1 new, 3 duplicates" in output
