"""`briefbot init` and `briefbot new`: a project scaffolded from nothing, a brief started in it,
every refusal (an existing project, an existing brief, an unknown feed, a root that is no project)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from briefbot.cli import main
from briefbot.config import load_config
from briefbot.errors import StoreError
from briefbot.project import SKELETON_FILE, Project


def _cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--root", str(root), *args])


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "news"
    result = _cli(tmp_path, "init", str(root))
    assert result.exit_code == 0, result.output
    return Project(root)


def test_init_scaffolds_a_valid_empty_project(project: Project) -> None:
    root = project.root
    assert project.is_project() and project.briefs_dir.is_dir()
    ignored = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".briefbot/" in ignored and "briefs/*/proposals/.lock" in ignored
    assert "overrides" in (root / "prompts" / "README").read_text(encoding="utf-8")
    feeds = project.feeds_file.read_text(encoding="utf-8")
    assert "# feeds:" in feeds and "#   - name: example" in feeds  # a commented example
    config = load_config(project)  # valid as written
    assert config.feeds.feeds == [] and config.briefs == {}
    assert not project.state_dir.exists()  # state comes with the first night, not with init


def test_init_defaults_to_the_root_and_creates_it(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    result = _cli(root, "init")
    assert result.exit_code == 0, result.output
    assert Project(root).is_project()
    # The next steps are commands, each of which exists: a feed (or an OPML file), then a brief.
    (next_line,) = [line for line in result.output.splitlines() if line.startswith("next:")]
    for command in ("briefbot feeds add NAME URL", "briefbot feeds import FILE.opml", "briefbot new SLUG"):
        assert f"`{command}" in next_line, next_line
    for command in (["feeds", "add"], ["feeds", "import"], ["new"]):
        assert _cli(root, *command, "--help").exit_code == 0


def test_init_refuses_a_project_and_never_overwrites(tmp_path: Path, project: Project) -> None:
    project.feeds_file.write_text("feeds: []  # mine\n", encoding="utf-8")
    result = _cli(tmp_path, "init", str(project.root))
    assert result.exit_code == 2 and "already is a briefbot project" in result.output
    assert project.feeds_file.read_text(encoding="utf-8") == "feeds: []  # mine\n"


def test_init_adds_briefbot_to_a_gitignore_of_the_users_own(tmp_path: Path) -> None:
    """A folder with a .gitignore but no feeds.yaml becomes a project: the user's lines stay as
    they were (a last line without its newline too), `.briefbot/` and the lock file are appended
    with their comments, and the output says so."""
    other = tmp_path / "repo"
    other.mkdir()
    (other / ".gitignore").write_text("node_modules/\n*.pyc", encoding="utf-8")
    result = _cli(tmp_path, "init", str(other))
    assert result.exit_code == 0, result.output
    text = (other / ".gitignore").read_text(encoding="utf-8")
    assert text.startswith("node_modules/\n*.pyc\n# briefbot's state")
    assert text.splitlines()[2:] == [
        "# briefbot's state: the database, fetched pages, run reports, LLM call cache.",
        ".briefbot/",
        "# the proposal store's lock file",
        "briefs/*/proposals/.lock",
    ]
    assert ".gitignore (added .briefbot/, briefs/*/proposals/.lock)" in result.output
    assert "feeds.yaml" in result.output


def test_init_leaves_a_gitignore_that_already_ignores_the_state_alone(tmp_path: Path) -> None:
    other = tmp_path / "repo"
    other.mkdir()
    mine = "# mine\n/.briefbot\nbriefs/*/proposals/.lock\n"
    (other / ".gitignore").write_text(mine, encoding="utf-8")
    result = _cli(tmp_path, "init", str(other))
    assert result.exit_code == 0, result.output
    assert (other / ".gitignore").read_text(encoding="utf-8") == mine
    assert ".gitignore" not in result.output and "feeds.yaml" in result.output

    # A commented-out line ignores nothing: only the missing entry is appended. A negated one is
    # the user's choice and stays the last word.
    third = tmp_path / "third"
    third.mkdir()
    (third / ".gitignore").write_text("# .briefbot/\n!briefs/*/proposals/.lock\n", encoding="utf-8")
    result = _cli(tmp_path, "init", str(third))
    assert result.exit_code == 0, result.output
    lines = (third / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# .briefbot/", "!briefs/*/proposals/.lock"] and lines[-1] == ".briefbot/"
    assert "briefs/*/proposals/.lock" not in lines
    assert ".gitignore (added .briefbot/)" in result.output


def test_new_writes_brief_yaml_and_a_v0_skeleton(project: Project) -> None:
    project.feeds_file.write_text(
        "feeds:\n  - name: wire\n    url: https://example.org/feed.xml\n", encoding="utf-8"
    )
    result = _cli(
        project.root,
        "new",
        "harbour",
        "--title",
        "The  harbour\tdispute",
        "--scope",
        "  The harbour dispute and who pays.  ",
        "--query",
        "harbour strike",
        "--query",
        "port levy",
        "--feed",
        "wire",
    )
    assert result.exit_code == 0, result.output
    assert "briefbot draft harbour" in result.output
    data = yaml.safe_load(project.brief_config_file("harbour").read_text(encoding="utf-8"))
    assert data == {
        "scope": "The harbour dispute and who pays.",
        "queries": ["harbour strike", "port levy"],
        "feeds": {"names": ["wire"]},
    }
    config = load_config(project)
    assert config.active_briefs() == ["harbour"] and [f.name for f in config.feeds_for("harbour")] == ["wire"]
    skeleton = project.skeleton("harbour")
    assert (skeleton.version, skeleton.title, skeleton.what, skeleton.sources) == (
        0,
        "The harbour dispute",
        [],
        [],
    )
    assert (
        json.loads((project.brief_dir("harbour") / SKELETON_FILE).read_text(encoding="utf-8"))["version"] == 0
    )
    assert project.versions("harbour") == [] and project.current("harbour") == skeleton


def test_new_minimal_reads_every_feed(project: Project) -> None:
    result = _cli(project.root, "new", "h", "--title", "H", "--scope", "S.")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(project.brief_config_file("h").read_text(encoding="utf-8")) == {"scope": "S."}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "Bad_Slug", "--title", "T", "--scope", "S"], "invalid brief slug"),
        (
            ["new", "h", "--title", "T", "--scope", "S", "--feed", "nope"],
            "--feed 'nope': no feed of that name",
        ),
        (["new", "h", "--title", " ", "--scope", "S"], "must not be blank"),
        (["new", "h", "--title", "T", "--scope", "  "], "must not be blank"),
        (["new", "h", "--scope", "S"], "Missing option '--title'"),
    ],
)
def test_new_refuses_bad_input_and_writes_nothing(project: Project, args: list[str], message: str) -> None:
    result = _cli(project.root, *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert project.slugs() == []


def test_new_refuses_an_existing_brief(project: Project) -> None:
    assert _cli(project.root, "new", "h", "--title", "T", "--scope", "S.").exit_code == 0
    result = _cli(project.root, "new", "h", "--title", "Other", "--scope", "Other.")
    assert result.exit_code == 2 and "brief 'h' already exists" in result.output
    assert project.skeleton("h").title == "T"


def test_new_and_draft_refuse_a_root_that_is_not_a_project(tmp_path: Path) -> None:
    for args in (["new", "h", "--title", "T", "--scope", "S."], ["draft", "h"]):
        result = _cli(tmp_path, *args)
        assert result.exit_code == 2 and "not a briefbot project" in result.output
        assert f"briefbot init {tmp_path}" in result.output
    result = _cli(tmp_path / "missing", "new", "h", "--title", "T", "--scope", "S.")
    assert result.exit_code == 2 and "no such folder" in result.output
    assert not (tmp_path / "missing").exists() and not (tmp_path / "briefs").exists()


def test_a_hand_written_brief_yaml_gets_a_skeleton_titled_after_its_slug(project: Project) -> None:
    (project.briefs_dir / "harbour-dispute").mkdir()
    (project.brief_config_file("harbour-dispute")).write_text("scope: S.\n", encoding="utf-8")
    skeleton = project.current("harbour-dispute")
    assert (skeleton.version, skeleton.title, skeleton.state) == (0, "Harbour dispute", "draft")
    assert project.load("harbour-dispute", 0) == skeleton
    (project.brief_dir("harbour-dispute") / SKELETON_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(StoreError, match="not a valid brief skeleton"):
        project.skeleton("harbour-dispute")


def test_commands_refuse_a_root_that_is_not_a_project_and_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    for args in (["run"], ["collect"], ["status"], ["render", "x"], ["feeds", "list"], ["review", "x"]):
        result = CliRunner().invoke(main, ["--root", str(missing), *args])
        assert result.exit_code == 2, (args, result.output)
        assert "briefbot init" in result.output, (args, result.output)
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["--root", str(empty), "run"])
    assert result.exit_code == 2 and "not a briefbot project (no feeds.yaml)" in result.output
    assert list(empty.iterdir()) == []
