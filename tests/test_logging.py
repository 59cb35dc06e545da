"""What a scheduler and a pipe read (issue 15, item 8): `--log-format json` puts JSON lines on
stderr and no table on stdout; `run --json` prints one JSON document; piped output never folds a
word; a night of many failed pages prints counts per kind and host and a few examples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from _openai_server import OpenAIServer
from _pipeline_world import (  # noqa: F401  # world is a fixture
    DATE,
    World,
    llm_env,
    make_root,
    responder,
    world,
)
from briefbot.cli import main
from briefbot.pipeline.report import FailureSummary
from briefbot.store.lock import RunLock

BOX = set("┏┓┗┛┃━┡┩│─└┘┌┐├┤┼╇╈")


def _partial(tmp_path: Path, world: World, *, long_name: bool = False):
    world.gone = {3}
    project = make_root(tmp_path, world, broken=True)
    if long_name:
        # At rich's default of 80 columns the failure line of this feed would fold.
        feeds = project.feeds_file.read_text(encoding="utf-8").replace(
            "name: broken", "name: broken-feed-with-a-name-long-enough-to-cross-eighty-columns"
        )
        project.feeds_file.write_text(feeds, encoding="utf-8")
    return project


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no log line"
    return [json.loads(line) for line in lines]  # every line parses, or the test fails here


def test_json_logs_leave_stdout_empty_and_close_with_a_summary_line(tmp_path: Path, world: World) -> None:
    project = _partial(tmp_path, world)
    with OpenAIServer(responder()) as llm:
        result = CliRunner().invoke(
            main,
            ["--root", str(project.root), "--log-format", "json", "run", "--date", DATE],
            env=llm_env(llm),
        )
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and not BOX & set(result.output)
    lines = _json_lines(result.stderr)
    closing = lines[-1]
    assert (closing["event"], closing["status"], closing["exit_code"], closing["level"]) == (
        "run_finished",
        "partial",
        1,
        "warning",
    )
    assert closing["failures"]["total"] == 2 and closing["failures"]["kinds"] == {"feed": 1, "page": 1}
    assert closing["proposals"] and Path(closing["report"]).exists()
    # docs/scheduling.md shows this line: the same fields, so the page stays true.
    docs = (Path(__file__).resolve().parents[1] / "docs" / "scheduling.md").read_text(encoding="utf-8")
    (shown,) = [json.loads(line) for line in docs.splitlines() if line.startswith('{"time"')]
    assert shown.keys() == closing.keys() and shown["failures"].keys() == closing["failures"].keys()
    assert shown["event"] == "run_finished" and shown["level"] == "warning" and shown["exit_code"] == 1


def test_json_logs_for_collect_and_extract_too(tmp_path: Path, world: World) -> None:
    project = _partial(tmp_path, world)
    runner = CliRunner()
    collected = runner.invoke(main, ["--root", str(project.root), "--log-format", "json", "collect"])
    assert collected.exit_code == 1 and collected.stdout == ""
    assert _json_lines(collected.stderr)[-1]["event"] == "collect_finished"
    extracted = runner.invoke(
        main, ["--root", str(project.root), "--log-format", "json", "extract", "--workers", "1"]
    )
    assert extracted.exit_code == 1 and extracted.stdout == ""
    (line,) = [entry for entry in _json_lines(extracted.stderr) if entry.get("event") == "extract_finished"]
    assert line["failed"] == 1 and line["failures"]["groups"] == [
        {"kind": "page", "host": "127.0.0.1", "count": 1}
    ]


def test_an_error_that_stops_the_run_is_a_json_line_too(tmp_path: Path, world: World) -> None:
    project = _partial(tmp_path, world)
    with RunLock(project.state_dir / "run.lock"):
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "--log-format", "json", "run", "--date", DATE]
        )
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = _json_lines(result.stderr)
    assert (line["event"], line["command"], line["level"], line["exit_code"]) == ("error", "run", "error", 2)
    assert "lock" in line["message"]


def test_run_json_prints_one_json_document(tmp_path: Path, world: World) -> None:
    project = _partial(tmp_path, world)
    with OpenAIServer(responder()) as llm:
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "run", "--date", DATE, "--json"], env=llm_env(llm)
        )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    stored = json.loads((project.state_dir / "runs" / "1" / "report.json").read_text(encoding="utf-8"))
    assert report == stored and report["status"] == "partial"


def _assert_unfolded(output: str, failures: list[str]) -> None:
    lines = [line.rstrip() for line in output.splitlines()]  # a table's title is padded to its width
    assert f"briefbot run 1 — {DATE} (live): partial" in lines, output
    for failure in failures:  # long lines with URLs, each whole on one line
        assert any(line == f"failed: {failure}" for line in lines), (failure, output)


def test_piped_output_never_folds_a_word(tmp_path: Path, world: World, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    project = _partial(tmp_path, world, long_name=True)
    with OpenAIServer(responder()) as llm:
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "run", "--date", DATE], env=llm_env(llm)
        )
    assert result.exit_code == 1, result.output
    report = json.loads((project.state_dir / "runs" / "1" / "report.json").read_text(encoding="utf-8"))
    assert max(len(f) for f in report["failures"]) > 80
    _assert_unfolded(result.stdout, report["failures"])


def test_piped_output_of_a_real_process(tmp_path: Path, world: World) -> None:
    project = _partial(tmp_path, world, long_name=True)
    script = shutil.which("briefbot", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    with OpenAIServer(responder()) as llm:
        done = subprocess.run(
            [script, "--root", str(project.root), "run", "--date", DATE],
            env={**env, **llm_env(llm)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((project.state_dir / "runs" / "1" / "report.json").read_text(encoding="utf-8"))
    _assert_unfolded(done.stdout, report["failures"])
    assert "partia\n" not in done.stdout


def test_forty_failed_pages_are_summarised(tmp_path: Path, world: World, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    world.stories = [(f"Story number {n} about open models", "2026-05-22") for n in range(1, 41)]
    world.gone = set(range(1, 41))
    project = make_root(tmp_path, world)
    with OpenAIServer(responder()) as llm:
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "run", "--date", DATE], env=llm_env(llm)
        )
    assert result.exit_code == 1, result.output
    report = json.loads((project.state_dir / "runs" / "1" / "report.json").read_text(encoding="utf-8"))
    assert len(report["failures"]) == 40  # report.json keeps every failure
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    examples = [line for line in lines if line.startswith("failed: page")]
    assert len(examples) == 3, result.stdout
    assert "failures: 40 (40 page)" in result.stdout
    assert any(line.split() == ["│", "page", "│", "127.0.0.1", "│", "40", "│"] for line in lines), (
        result.stdout
    )
    assert "... and 37 more (every failure is listed in report.json)" in result.stdout


def test_failure_summary_groups_by_kind_and_host() -> None:
    failures = [
        "feed a: HTTP 500 for https://one.example/feed.xml",
        *(f"page: HTTP 404 for https://two.example/p/{n}" for n in range(5)),
        "page: timed out fetching http://one.example:8080/x",
        "triage gap: triage of new:1 failed: invalid answer",
    ]
    summary = FailureSummary.of(failures, per_kind=2)
    assert summary.kinds == {"page": 6, "feed": 1, "triage": 1}
    assert [(g.kind, g.host, g.count) for g in summary.groups] == [
        ("page", "two.example", 5),
        ("feed", "one.example", 1),
        ("page", "one.example", 1),
        ("triage", "-", 1),
    ]
    assert summary.examples == [failures[0], failures[1], failures[2], failures[-1]]
    assert (summary.total, summary.more) == (8, 4)


def _piped(project, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real `briefbot` process with stdout a pipe and no COLUMNS: what `| cat` and cron see."""
    script = shutil.which("briefbot", path=str(Path(sys.executable).parent))
    assert script is not None
    clean = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [script, "--root", str(project.root), *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_piped_titles_of_a_failing_night_are_never_broken(tmp_path: Path, world: World) -> None:
    """30 page and 5 feed failures: the summary table (kind, host, failed) is narrower than its
    title, which rich used to wrap to the table's width even piped: "failures: 35 (30 page, 5" and
    "feed)" on two lines. Every title and summary line is whole, and so are the ledger's and the
    item list's."""
    world.stories = [(f"Story number {n} about open models", "2026-05-22") for n in range(1, 31)]
    world.gone = set(range(1, 31))
    project = make_root(tmp_path, world)
    broken = "".join(f"  - name: broken{n}\n    url: {world.url_for('/bad.xml')}\n" for n in range(5))
    feeds = project.feeds_file.read_text(encoding="utf-8").replace("http:\n", broken + "http:\n")
    project.feeds_file.write_text(feeds, encoding="utf-8")
    with OpenAIServer(responder()) as llm:
        done = _piped(project, "run", "--date", DATE, env=llm_env(llm))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    for whole in (
        "failures: 35 (30 page, 5 feed)",
        f"briefbot run 1 — {DATE} (live): partial",
        "... and 29 more (every failure is listed in report.json)",
    ):
        assert whole in lines, (whole, done.stdout)
    # No line is the tail of a wrapped one: each starts with a box character, a title, or a word
    # the report writes at the start of its lines.
    starts = ("failures:", "failed:", "briefbot run", "briefs", "... and", "gap:", "warning:", "report:")
    for line in lines:
        assert not line or line[0] in BOX or line.startswith(starts), (line, done.stdout)
    runs = _piped(project, "runs")
    assert runs.returncode == 0 and "runs" in [line.rstrip() for line in runs.stdout.splitlines()]


@pytest.mark.parametrize("command", [["doctor"], ["status"], ["runs"], ["items"], ["calls"]])
def test_an_error_of_any_command_is_a_json_line_with_json_logs(tmp_path: Path, command: list[str]) -> None:
    """A folder that is not a project: every command refuses it (exit 2), and with
    `--log-format json` the refusal is a JSON line on stderr, stdout empty, as for run and collect."""
    script = shutil.which("briefbot", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "BRIEFBOT_ROOT")}
    done = subprocess.run(
        [script, "--root", str(tmp_path), "--log-format", "json", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    (line,) = _json_lines(done.stderr)
    assert (line["event"], line["command"], line["level"], line["exit_code"]) == (
        "error",
        command[0],
        "error",
        2,
    )
    assert "briefbot init" in line["message"], line
