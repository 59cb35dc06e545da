"""Honest exit codes (issue 15, item 8): 0 complete, 1 partial, 2 nothing could be done, the same
for `run` and for `collect` and `extract` run on their own, over the real local world of
tests/_pipeline_world.py (a feed answering 500, a page gone with 404)."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from _merge_briefs import item, small_brief
from _openai_server import OpenAIServer, Reply, Request, briefbot_model, timeline_edit
from _pipeline_world import (  # noqa: F401  # world is a fixture
    DATE,
    World,
    llm_env,
    make_root,
    responder,
    run_night,
    world,
)
from briefbot.cli import main
from briefbot.project import Project


def cli(project: Project, *args: str) -> Result:
    return CliRunner().invoke(main, ["--root", str(project.root), *args])


def test_a_partial_night_exits_1_and_names_each_failure(tmp_path, world: World) -> None:
    world.gone = {3}
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world, broken=True)
        code, report, output = run_night(project, llm)
    assert code == 1, output
    assert report["status"] == "partial" and report["exit_code"] == 1
    kinds = sorted(f.split(":")[0].split()[0] for f in report["failures"])
    assert kinds == ["feed", "page"], report["failures"]
    assert "failed: feed broken" in output and "failed: page" in output


def test_collect_on_its_own_exits_1_when_some_sources_failed(tmp_path, world: World) -> None:
    project = make_root(tmp_path, world, broken=True)
    result = cli(project, "collect")
    assert result.exit_code == 1, result.output
    assert "3 new, 0 duplicate, 1 of 2 sources failed" in result.output
    as_json = cli(project, "collect", "--json")  # the same exit status with --json (all 304 / 500 now)
    assert as_json.exit_code == 1 and len(json.loads(as_json.stdout)["sources"]) == 2


def test_collect_exits_2_when_every_source_failed_and_0_when_none(tmp_path, world: World) -> None:
    project = make_root(tmp_path, world)
    assert cli(project, "collect").exit_code == 0
    project.feeds_file.write_text(
        project.feeds_file.read_text(encoding="utf-8").replace("/feed.xml", "/bad.xml"), encoding="utf-8"
    )
    result = cli(project, "collect")
    assert result.exit_code == 2, result.output
    assert "1 of 1 sources failed" in result.output


def test_extract_on_its_own_exits_1_when_a_page_failed(tmp_path, world: World) -> None:
    world.gone = {2}
    project = make_root(tmp_path, world)
    assert cli(project, "collect").exit_code == 0
    result = cli(project, "extract", "--workers", "1")
    assert result.exit_code == 1, result.output
    assert "failed: page" in result.output and "/p/2" in result.output
    again = cli(project, "extract")
    assert again.exit_code == 0 and "nothing to extract" in again.output


def test_extract_exits_2_when_every_page_failed(tmp_path, world: World) -> None:
    world.gone = {1, 2, 3}
    project = make_root(tmp_path, world)
    assert cli(project, "collect").exit_code == 0
    result = cli(project, "extract", "--workers", "1", "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["failed"] == 3


def test_extract_of_given_urls_exits_1_or_2(tmp_path, world: World) -> None:
    world.gone = {2}
    project = make_root(tmp_path, world)
    good, gone = world.url_for("/p/1"), world.url_for("/p/2")
    some = cli(project, "extract", good, gone)
    assert some.exit_code == 1 and "1 of 2 page(s) failed" in some.stderr
    assert cli(project, "extract", gone).exit_code == 2
    assert cli(project, "extract", good).exit_code == 0


def test_a_night_where_every_source_fails_exits_2(tmp_path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        project.feeds_file.write_text(
            project.feeds_file.read_text(encoding="utf-8").replace("/feed.xml", "/bad.xml"),
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "run", "--date", DATE, "--json"], env=llm_env(llm)
        )
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["exit_code"]) == ("failed", 2)
    assert len(llm.requests) == 0


def _propose_root(tmp_path, base_url: str, name: str) -> Project:
    project = Project(tmp_path / name)
    project.publish("gap", small_brief())
    project.feeds_file.write_text(
        "llm:\n"
        f"  base_url: {base_url}\n"
        "  triage_model: cheap-1\n  propose_model: strong-1\n  timeout: 2\n  triage_batch_size: 1\n"
        "  retry_attempts: 2\n  retry_wait_initial: 0.01\n  retry_wait_max: 0.2\n",
        encoding="utf-8",
    )
    return project


def _propose(project: Project, tmp_path, refs: list[int]) -> Result:
    path = tmp_path / "items.json"
    path.write_text(json.dumps([item(k) for k in refs]), encoding="utf-8")
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "", "BRIEFBOT_ROOT": None}
    return CliRunner().invoke(
        main,
        ["--root", str(project.root), "propose", "gap", "--items", str(path), "--date", "2026-05-31"],
        env=env,
    )


def test_propose_exits_1_when_a_triage_batch_failed_and_2_when_all_did(tmp_path) -> None:
    model = briefbot_model(edits=timeline_edit)

    def respond(request: Request, index: int) -> Reply:
        # The batch holding new:2 is refused (a 400 is not retried); new:1's goes through.
        if request.body["model"] == "cheap-1" and "ref=new:2>" in request.user:
            return Reply.error(400, "scripted refusal")
        return model(request, index)

    with OpenAIServer(respond) as server:
        project = _propose_root(tmp_path, server.base_url, "partial")
        partial = _propose(project, tmp_path, [1, 2])
        assert partial.exit_code == 1, partial.output
        assert "failed: triage of new:2" in partial.output and "edits: 1 applied" in partial.output
        failed = _propose(_propose_root(tmp_path, server.base_url, "failed"), tmp_path, [2])
        assert failed.exit_code == 2, failed.output
        assert "failed for every batch" in failed.output
