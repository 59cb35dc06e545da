"""`briefbot status` on real project folders, and "did you mean" for an unknown slug anywhere."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from _merge_briefs import RUN_DATE, batch, edit, small_brief
from briefbot import review
from briefbot.cli import main
from briefbot.project import Project
from briefbot.store import connect, transaction
from briefbot.store.runs import finish_run, start_run
from conftest import as_project

NOW = dt.datetime.now(dt.UTC)
SCOPE = "scope: How far open-weight models trail closed ones.\n"


def _edits() -> list[dict]:
    return [
        edit("add_tension", text="Mistral AI doubts NVIDIA's terms [new:2]", summary="A fault line [new:2]."),
        edit(
            "add_open_question",
            text="Will NVIDIA's terms last [new:1]?",
            summary="Question on durability [new:1].",
        ),
    ]


def run(root: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(main, ["--root", str(as_project(root)), *args])
    assert result.exit_code == code, result.output + result.stderr
    return result


def status(root: Path, code: int = 0) -> dict:
    document = json.loads(run(root, "status", "--json", code=code).stdout)
    return document


def _rows(document: dict) -> dict[str, dict]:
    return {row["slug"]: row for row in document["briefs"]}


def _proposal(project: Project, slug: str, *, days_old: int = 2) -> None:
    project.publish(slug, small_brief())
    review.make_proposal(
        project, slug, batch(_edits()), run_date=RUN_DATE, now=NOW - dt.timedelta(days=days_old)
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Four briefs, one in each state: published and idle, drafted, under review, decided."""
    project = Project(as_project(tmp_path))
    project.publish("idle", small_brief())
    (tmp_path / "briefs" / "harbour").mkdir(parents=True)
    project.brief_config_file("harbour").write_text(SCOPE, encoding="utf-8")
    _proposal(project, "review-me")
    _proposal(project, "decided")
    review.decide(project, "decided", accept=[1, 2], now=NOW, by="ed")
    return tmp_path


def test_each_brief_with_version_proposal_and_next_action(root: Path):
    document = status(root)
    rows = _rows(document)
    assert list(rows) == ["decided", "harbour", "idle", "review-me"]
    assert {slug: row["next"] for slug, row in rows.items()} == {
        "decided": "approve",
        "harbour": "draft",
        "idle": "",
        "review-me": "review",
    }
    idle = rows["idle"]
    assert (idle["version"], idle["date"], idle["proposal"]) == (7, "2026-05-24", None)
    assert rows["harbour"]["version"] is None
    pending = rows["review-me"]["proposal"]
    assert pending["version"] == 8 and pending["base_version"] == 7
    assert (pending["applied"], pending["rejected"], pending["undecided"], pending["revision"]) == (
        2,
        0,
        2,
        1,
    )
    assert pending["age"] == "2d"
    decided = rows["decided"]["proposal"]
    assert (decided["accepted_by_editor"], decided["undecided"], decided["revision"]) == (2, 0, 2)
    assert document["last_run"] is None and all(row["last_run"] is None for row in rows.values())
    assert all(row["problems"] == [] for row in rows.values())


def test_status_reads_without_creating_the_state_database(root: Path):
    out = run(root, "status").stdout
    assert not (root / ".briefbot").exists()
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["harbour"].split()[-1] == "draft"
    assert "never run" in lines["idle"] and lines["idle"].split()[-1] == "-"
    assert "v8 rev 1, 2 applied, 0 rejected, 2 undecided, 2d old" in lines["review-me"]
    assert lines["review-me"].rstrip().endswith("review")


def test_piped_table_keeps_each_brief_on_one_line(tmp_path: Path):
    slug = "a-very-long-brief-slug-that-goes-on-and-on-about-open-weight-models-and-their-gap"
    _proposal(Project(tmp_path), slug)
    out = run(tmp_path, "status").stdout
    rows = [line for line in out.splitlines() if line.strip()]
    assert len(rows) == 2, out  # the header and one row, however wide
    assert rows[1].startswith(slug) and rows[1].rstrip().endswith("review")


def test_discard_when_nothing_applies_or_the_brief_moved_on(tmp_path: Path):
    project = Project(tmp_path)
    _proposal(project, "refused")
    review.decide(project, "refused", reject=[1, 2], now=NOW, by="ed")
    _proposal(project, "moved")
    project.publish("moved", small_brief().model_copy(update={"version": 8}))
    rows = _rows(status(tmp_path))
    assert rows["refused"]["next"] == "discard" and rows["refused"]["proposal"]["applied"] == 0
    assert rows["moved"]["next"] == "discard" and rows["moved"]["proposal"]["stale"] is True
    assert "stale: made from v7" in run(tmp_path, "status").stdout


def _ledger(root: Path, *runs: tuple[str, str, list[dict]]) -> None:
    conn = connect(Project(root).state_db)
    with transaction(conn):
        for run_date, state, briefs in runs:
            run_id = start_run(conn, run_date=run_date, mode="live")
            finish_run(
                conn,
                run_id,
                status=state,
                exit_code=1 if state == "partial" else 0,
                report={"briefs": briefs},
            )
    conn.close()


def test_last_run_is_the_newest_run_that_included_the_brief(root: Path):
    _ledger(
        root,
        (
            "2026-05-30",
            "done",
            [{"slug": "idle", "edits_applied": 0, "edits_rejected": 0, "note": "nothing new"}],
        ),
        (
            "2026-05-31",
            "partial",
            [{"slug": "review-me", "edits_applied": 2, "edits_rejected": 1, "failures": ["page x: 404"]}],
        ),
    )
    document = status(root)
    assert document["last_run"]["status"] == "partial" and document["last_run"]["id"] == 2
    rows = _rows(document)
    assert rows["review-me"]["last_run"] == {
        "run_id": 2,
        "run_date": "2026-05-31",
        "status": "partial",
        "edits_applied": 2,
        "edits_rejected": 1,
        "failures": 1,
        "note": None,
    }
    assert rows["idle"]["last_run"]["run_date"] == "2026-05-30"
    assert rows["harbour"]["last_run"] is None
    result = run(root, "status")
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "#2 2026-05-31 partial: 2 applied, 1 rejected, 1 failed" in lines["review-me"]
    assert "#1 2026-05-30 done: 0 applied, 0 rejected (nothing new)" in lines["idle"]
    assert "not run yet" in lines["harbour"]
    assert "last run: #2 2026-05-31 (live) partial, exit 1" in result.stderr


def test_no_briefs(tmp_path: Path):
    result = run(tmp_path, "status")
    assert result.stdout == "" and f"no briefs under {tmp_path / 'briefs'}" in result.stderr
    assert status(tmp_path)["briefs"] == []


# -- every failure status reports: the row says why, the others are still shown, exit 1 --------


def test_unreadable_proposal_is_a_problem_of_its_brief(root: Path):
    (root / "briefs" / "review-me" / "proposals" / "pending.json").write_text("{not json", encoding="utf-8")
    rows = _rows(status(root, code=1))
    assert rows["review-me"]["proposal"] is None and rows["review-me"]["next"] == ""
    assert "pending.json: not a valid proposal" in rows["review-me"]["problems"][0]
    assert rows["decided"]["next"] == "approve"
    result = run(root, "status", code=1)
    assert "problem: review-me: " in result.stderr and "decided" in result.stdout


def test_unreadable_version_is_a_problem_of_its_brief(root: Path):
    (root / "briefs" / "idle" / "versions" / "v0007.json").write_text("[]", encoding="utf-8")
    row = _rows(status(root, code=1))["idle"]
    assert row["version"] == 7 and row["date"] is None
    assert "v0007.json: not a valid brief" in row["problems"][0]


def test_invalid_brief_yaml_is_a_problem_of_its_brief(root: Path):
    Project(root).brief_config_file("harbour").write_text(SCOPE + "colour: blue\n", encoding="utf-8")
    row = _rows(status(root, code=1))["harbour"]
    assert "brief.yaml: colour" in row["problems"][0]


def test_a_brief_folder_with_nothing_in_it(root: Path):
    (root / "briefs" / "empty").mkdir()
    row = _rows(status(root, code=1))["empty"]
    assert row["problems"] == [f"neither a brief.yaml nor a published version in {root / 'briefs' / 'empty'}"]


def test_unreadable_ledger_is_reported_and_briefs_still_listed(root: Path):
    Project(root).state_dir.mkdir()
    Project(root).state_db.write_bytes(b"this is not a database" * 100)
    document = status(root, code=1)
    assert "cannot read the run ledger" in document["ledger_problem"]
    assert len(document["briefs"]) == 4
    result = run(root, "status", code=1)
    assert "unreadable" in result.stdout and "problem: cannot read the run ledger" in result.stderr


def test_json_logs_keep_stderr_to_json_lines(root: Path):
    """`--log-format json status`: the table stays on stdout (it is what was asked for), and the
    lines beside it on stderr (problems, the last run) are JSON log lines, nothing else."""
    Project(root).state_dir.mkdir()
    Project(root).state_db.write_bytes(b"this is not a database" * 100)
    result = CliRunner().invoke(main, ["--root", str(as_project(root)), "--log-format", "json", "status"])
    assert result.exit_code == 1, result.output
    (line,) = [json.loads(text) for text in result.stderr.splitlines()]
    assert (line["event"], line["level"]) == ("problem", "warning")
    assert line["message"].startswith("problem: cannot read the run ledger")
    assert "review-me" in result.stdout


# -- "did you mean": one error for an unknown slug, whichever command is given it ---------------


@pytest.mark.parametrize(
    "command",
    [
        ["render", "harbor"],
        ["review", "harbor"],
        ["history", "harbor"],
        ["approve", "harbor"],
        ["diff", "harbor", "1", "2"],
    ],
)
def test_unknown_slug_suggests_the_nearest_and_lists_the_briefs(root: Path, command: list[str]):
    result = run(root, *command, code=2)
    assert result.stderr == (
        "error: no brief 'harbor' — did you mean 'harbour'? briefs: decided, harbour, idle, review-me\n"
    )
    assert not (root / "briefs" / "harbor").exists()  # no lock file made a phantom brief


@pytest.mark.parametrize(
    "command",
    [
        ["collect", "--brief", "harbor"],
        ["extract", "--brief", "harbor"],
        ["items", "--brief", "harbor"],
        ["calls", "--brief", "harbor"],
    ],
)
def test_unknown_brief_option_suggests_the_nearest_and_lists_the_briefs(root: Path, command: list[str]):
    """`--brief SLUG` is refused as a slug argument is: the same error, exit 2, never an empty
    table, "nothing to extract" or "no LLM calls logged" for a typo."""
    result = run(root, *command, code=2)
    assert result.stderr == (
        "error: no brief 'harbor' — did you mean 'harbour'? briefs: decided, harbour, idle, review-me\n"
    )
    assert result.stdout == ""
    assert not (root / "briefs" / "harbor").exists()


def test_unknown_slug_with_nothing_close_lists_the_briefs(root: Path):
    result = run(root, "render", "zzz", code=2)
    assert result.stderr == "error: no brief 'zzz'; briefs: decided, harbour, idle, review-me\n"


def test_invalid_slug_suggests_the_brief_it_resembles(root: Path):
    result = run(root, "render", "Harbour", code=2)
    assert "invalid brief slug 'Harbour'" in result.stderr
    assert "did you mean 'harbour'?" in result.stderr


def test_unknown_slug_in_a_project_without_briefs(tmp_path: Path):
    result = run(tmp_path, "review", "harbour", code=2)
    assert f"no brief 'harbour': there are no briefs under {tmp_path / 'briefs'} yet" in result.stderr


@pytest.mark.parametrize("command", ["render", "propose"])
def test_a_known_brief_without_a_version_says_so(root: Path, command: str):
    """And what to do about it: draft v1 (not where on disk the versions would be)."""
    (root / "items.json").write_text("[]", encoding="utf-8")
    extra = ["--items", str(root / "items.json")] if command == "propose" else []
    result = run(root, command, "harbour", *extra, code=2)
    assert "brief 'harbour' has no published version yet" in result.stderr
    assert "`briefbot draft harbour`" in result.stderr and "versions" not in result.stderr
