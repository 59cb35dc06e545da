"""Hostile input through the real CLI: broken files in a project (stored versions, proposals,
brief.yaml, feeds.yaml, prompt templates) and odd arguments. Each must end in a clear error naming
the file (and the field), the right exit code, and never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from _merge_briefs import RUN_DATE, batch, edit, small_brief
from briefbot import review
from briefbot.errors import LLMError, StoreError
from briefbot.llm.prompts import Prompts
from briefbot.project import Project

BRIEFBOT = Path(sys.executable).parent / "briefbot"
SLUG = "gap"


def cli(root: Path, *args: str, code: int | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BRIEFBOT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root), "NO_COLOR": "1"},
    )
    assert "Traceback" not in result.stderr, result.stderr
    if code is not None:
        assert result.returncode == code, result.stdout + result.stderr
    return result


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project made by `briefbot init` and `briefbot new`, with v7 published."""
    project_root = tmp_path / "proj"
    cli(project_root, "init", code=0)
    cli(project_root, "new", SLUG, "--title", "Gap", "--scope", "The open-closed gap.", code=0)
    Project(project_root).publish(SLUG, small_brief())
    return project_root


def with_proposal(root: Path) -> Path:
    edits = [edit("add_open_question", text="Will it last [new:1]?", summary="A question [new:1].")]
    review.make_proposal(Project(root), SLUG, batch(edits), run_date=RUN_DATE, now=dt.datetime.now(dt.UTC))
    return root / "briefs" / SLUG / "proposals" / "pending.json"


def version_file(root: Path) -> Path:
    return root / "briefs" / SLUG / "versions" / "v0007.json"


def problems(root: Path) -> list[str]:
    result = cli(root, "status", "--json", code=1)
    (row,) = json.loads(result.stdout)["briefs"]
    return row["problems"]


# -- stored versions and proposals ----------------------------------------------------------------
def test_a_version_file_that_is_not_utf8_is_a_problem_and_an_error_naming_it(root: Path) -> None:
    version_file(root).write_bytes(b"\xff\xfe{}")
    (problem,) = problems(root)
    assert problem.startswith(f"{version_file(root)}: not a valid brief: not UTF-8 text")
    for command in (["render", SLUG], ["history", SLUG]):
        result = cli(root, *command, code=2)
        assert f"error: {version_file(root)}: not a valid brief: not UTF-8" in result.stderr


def test_a_truncated_version_file_is_named_in_one_line_without_pydantics_report(root: Path) -> None:
    text = version_file(root).read_text(encoding="utf-8")
    version_file(root).write_text(text[: len(text) // 2], encoding="utf-8")
    (problem,) = problems(root)
    assert problem.startswith(f"{version_file(root)}: not a valid brief: not JSON (")
    assert "cut short or damaged" in problem
    assert "\n" not in problem and "errors.pydantic.dev" not in problem and "input_value" not in problem
    result = cli(root, "render", SLUG, code=2)
    assert result.stderr.count("\n") == 1, result.stderr


def test_a_version_file_missing_fields_names_each_field(root: Path) -> None:
    version_file(root).write_text("{}", encoding="utf-8")
    (problem,) = problems(root)
    assert problem.startswith(f"{version_file(root)}: not a valid brief: title: Field required; ")
    assert problem.endswith("; item_count: Field required")
    assert "\n" not in problem


def test_a_version_file_holding_another_version_number_is_refused(root: Path) -> None:
    data = json.loads(version_file(root).read_text(encoding="utf-8"))
    data["version"] = 9
    version_file(root).write_text(json.dumps(data), encoding="utf-8")
    (problem,) = problems(root)
    assert problem == (
        f"{version_file(root)}: version: the file holds version 9, but its name says 7; "
        "rename it or correct its `version`"
    )
    result = cli(root, "history", SLUG, code=2)
    assert "holds version 9, but its name says 7" in result.stderr


def test_a_pending_proposal_that_is_a_folder_is_a_problem_not_a_crash(root: Path) -> None:
    pending = with_proposal(root)
    pending.unlink()
    pending.mkdir()
    (problem,) = problems(root)
    assert problem == f"{pending}: cannot read: Is a directory"
    result = cli(root, "review", SLUG, code=2)
    assert result.stderr == f"error: {pending}: cannot read: Is a directory\n"


def test_a_pending_proposal_with_wrong_fields_names_them_in_one_line(root: Path) -> None:
    pending = with_proposal(root)
    pending.write_text('{"x": 1}', encoding="utf-8")
    (problem,) = problems(root)
    assert problem.startswith(f"{pending}: not a valid proposal: ")
    assert "base_version: Field required" in problem and "\n" not in problem
    cli(root, "review", SLUG, code=2)


def test_a_corrupt_skeleton_is_named(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    cli(root, "init", code=0)
    cli(root, "new", SLUG, "--title", "Gap", "--scope", "The open-closed gap.", code=0)
    skeleton = root / "briefs" / SLUG / "skeleton.json"
    skeleton.write_bytes(b"\x80")
    with pytest.raises(StoreError) as caught:
        Project(root).skeleton(SLUG)
    assert (
        str(caught.value)
        == f"{skeleton}: not a valid brief skeleton: not UTF-8 text (invalid start byte at byte 0)"
    )


# -- a project's own prompt templates -------------------------------------------------------------
def override(root: Path, name: str, content: bytes) -> Path:
    path = root / "prompts" / name
    path.write_bytes(content)
    return path


def render_error(root: Path, name: str = "triage.system.j2") -> str:
    with pytest.raises(LLMError) as caught:
        Prompts(root / "prompts").render_text(name)
    return str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"ok\n{% if x %}never closed\n", ":2: Unexpected end of template."),
        (b"ok\n{{ not_a_variable }}\n", ":2: 'not_a_variable' is undefined"),
        (
            b"ok\nok\n{% include 'missing.j2' %}\n",
            ":3: includes 'missing.j2', which none of ",
        ),
        (b"{% include '../../feeds.yaml' %}\n", ":1: includes '../../feeds.yaml', which none of "),
    ],
)
def test_a_broken_project_template_names_its_file_and_line(root: Path, content: bytes, expected: str) -> None:
    path = override(root, "triage.system.j2", content)
    message = render_error(root)
    assert message.startswith(f"prompt template {path}{expected}"), message


def test_a_template_that_is_not_utf8_is_named_by_list_show_and_render(root: Path) -> None:
    path = override(root, "triage.system.j2", b"\xff\xfe\x00not text")
    expected = f"prompt template {path}: not UTF-8 text (invalid start byte at byte 0); save it as UTF-8"
    assert render_error(root) == expected
    listed = cli(root, "prompts", "list", code=0)  # where each comes from needs no reading
    assert "prompts/triage.system.j2  (overrides the builtin)" in listed.stdout
    shown = cli(root, "prompts", "show", "triage.system", code=2)
    assert shown.stderr == f"error: {expected}\n"
    # an include that is not UTF-8 is named too, not the template that includes it
    override(root, "triage.system.j2", b"{% include '_fence.j2' %}\n")
    fence = override(root, "_fence.j2", b"\x80")
    assert render_error(root).startswith(f"prompt template {fence}: not UTF-8 text")


def test_a_folder_or_a_symlink_named_like_a_template(root: Path) -> None:
    (root / "prompts" / "triage.system.j2").mkdir()  # not a file: the packaged one is used
    listed = cli(root, "prompts", "list", code=0)
    assert "builtin:triage.system.j2" in listed.stdout
    (root / "prompts" / "triage.system.j2").rmdir()
    outside = root.parent / "outside.txt"
    outside.write_text("A house rule kept outside the project.\n", encoding="utf-8")
    (root / "prompts" / "triage.system.j2").symlink_to(outside)  # the user's own link: read it
    assert cli(root, "prompts", "show", "triage.system", code=0).stdout == outside.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["nope", "../../etc/passwd", "../feeds.yaml", "/etc/passwd", ""])
def test_prompts_show_of_an_unknown_or_escaping_name_is_an_error(root: Path, name: str) -> None:
    result = cli(root, "prompts", "show", name, code=2)
    assert result.stderr.startswith(f"error: no prompt template {name!r} in {root / 'prompts'}")
    assert result.stdout == ""


# -- odd arguments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["new", "draft", "review", "history"])
def test_a_slug_too_long_for_a_file_name_is_refused_cleanly(root: Path, command: str) -> None:
    slug = "a" * 300
    extra = ["--title", "T", "--scope", "S"] if command == "new" else []
    result = cli(root, command, slug, *extra, code=2)
    assert result.stderr == (
        "error: invalid brief slug 'aaaaaaaaaaaaaaaaaaaa'... (300 characters): at most 120, lowercase "
        "letters, digits and '-'\n"
    )
    assert not (root / "briefs" / slug[:120]).exists()


@pytest.mark.parametrize("slug", ["../x", "CON", "ünï", "a/b", "..", "a b"])
def test_new_refuses_slugs_that_are_not_plain_names(root: Path, slug: str) -> None:
    result = cli(root, "new", slug, "--title", "T", "--scope", "S", code=2)
    assert result.stderr.startswith(f"error: invalid brief slug {slug!r}: use lowercase letters")
    assert sorted(p.name for p in (root / "briefs").iterdir()) == [SLUG]


# -- feeds.yaml and brief.yaml ----------------------------------------------------------------------
def test_a_key_given_twice_in_feeds_yaml_is_an_error_naming_the_line(root: Path) -> None:
    feeds = root / "feeds.yaml"
    feeds.write_text(
        "feeds:\n  - name: first\n    url: https://example.org/a.xml\nsearch: []\nfeeds: []\n",
        encoding="utf-8",
    )
    expected = f"{feeds}:5: duplicate key 'feeds' (first on line 1): the later one would silently win"
    doctor = cli(root, "doctor", "--json", code=1)
    config = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "config")
    assert config == {"check": "config", "ok": False, "detail": expected}
    assert cli(root, "feeds", "check", code=2).stderr == f"error: {expected}\n"


def test_a_key_given_twice_in_brief_yaml_is_a_problem_of_its_brief(root: Path) -> None:
    brief_yaml = root / "briefs" / SLUG / "brief.yaml"
    brief_yaml.write_text("scope: The gap.\nfeeds: {tags: [a], tags: [b]}\n", encoding="utf-8")
    (problem,) = problems(root)
    assert (
        problem == f"{brief_yaml}:2: duplicate key 'tags' (first on line 2): the later one would silently win"
    )


def test_a_merge_key_may_still_be_overridden(root: Path) -> None:
    brief_yaml = root / "briefs" / SLUG / "brief.yaml"
    brief_yaml.write_text(
        "scope: The gap.\nfeeds:\n  <<: {tags: [a], names: []}\n  tags: [b]\n", encoding="utf-8"
    )
    result = cli(root, "status", "--json", code=0)
    assert json.loads(result.stdout)["briefs"][0]["problems"] == []


def test_doctor_names_every_broken_project_template(root: Path) -> None:
    def prompts_check() -> dict[str, object]:
        checks = json.loads(cli(root, "doctor", "--json").stdout)["checks"]
        return next(c for c in checks if c["check"] == "prompts")

    assert prompts_check() == {
        "check": "prompts",
        "ok": True,
        "detail": "the packaged templates (the project overrides none)",
    }
    syntax = override(root, "triage.system.j2", b"ok\n{% if x %}never closed\n")
    include = override(root, "propose.user.j2", b"{% include '_fence.j2' %}\n{% include 'gone.j2' %}\n")
    fence = override(root, "_fence.j2", b"\xff")
    check = prompts_check()
    assert check["ok"] is False
    detail = str(check["detail"])
    assert f"prompt template {fence}: not UTF-8 text" in detail
    assert f"prompt template {include}: includes 'gone.j2', which none of " in detail
    assert f"prompt template {syntax}:2: Unexpected end of template." in detail
    for path in (syntax, include, fence):
        path.unlink()
    override(root, "triage.system.j2", b"A house rule.\n{% include '_data_rule.j2' %}\n")
    check = prompts_check()
    assert check == {
        "check": "prompts",
        "ok": True,
        "detail": f"1 project template(s) in {root / 'prompts'} parse",
    }


# -- files where folders belong, and folders where files belong ------------------------------------
def test_a_file_where_the_state_folder_belongs_is_named(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    cli(root, "init", code=0)
    cli(root, "new", SLUG, "--title", "Gap", "--scope", "The gap.", code=0)
    state = root / ".briefbot"
    state.write_text("not a folder\n", encoding="utf-8")
    result = cli(root, "draft", SLUG, code=2)
    assert (
        result.stderr
        == f"error: {state}: exists but is not a folder; move it away so briefbot can make the folder\n"
    )


def test_new_when_briefs_is_a_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    cli(root, "init", code=0)
    (root / "briefs").rmdir()
    (root / "briefs").write_text("", encoding="utf-8")
    result = cli(root, "new", SLUG, "--title", "Gap", "--scope", "The gap.", code=2)
    assert (
        result.stderr
        == f"error: {root / 'briefs' / SLUG}: a part of this path is a file where briefbot needs a folder\n"
    )


def test_a_brief_yaml_that_is_a_folder_is_named_by_status(root: Path) -> None:
    brief_yaml = root / "briefs" / SLUG / "brief.yaml"
    brief_yaml.unlink()
    brief_yaml.mkdir()
    assert problems(root) == [f"{brief_yaml}: cannot read: Is a directory"]


def test_status_reports_a_state_database_that_is_a_folder_or_garbage(root: Path) -> None:
    state_db = root / ".briefbot" / "state.db"
    state_db.parent.mkdir(exist_ok=True)
    state_db.mkdir()
    result = cli(root, "status", "--json", code=1)
    assert (
        json.loads(result.stdout)["ledger_problem"] == f"cannot read the run ledger in {state_db}: not a file"
    )
    state_db.rmdir()
    state_db.write_text("garbage\n", encoding="utf-8")
    result = cli(root, "status", code=1)
    assert f"problem: cannot read the run ledger in {state_db}: file is not a database" in result.stderr
    assert cli(root, "runs", code=2).stderr == (
        f"error: cannot prepare state database {state_db}: file is not a database\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        [b"decide", SLUG.encode(), b"--reject", b"1", b"--reason", b"ok \xff"],
        [b"new", b"x\xff", b"--title", b"T", b"--scope", b"S"],
        [b"new", b"other", b"--title", b"T\xfe", b"--scope", b"S"],
    ],
)
def test_an_argument_that_is_not_utf8_is_refused_before_anything_is_written(
    root: Path, args: list[bytes]
) -> None:
    pending = with_proposal(root)
    before = pending.read_bytes()
    result = subprocess.run(
        [str(BRIEFBOT).encode(), b"--root", str(root).encode(), *args],
        capture_output=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
    )
    assert b"Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    bad = next(arg for arg in args if b"\xff" in arg or b"\xfe" in arg)
    shown = bad.decode("utf-8", "backslashreplace")
    assert result.stderr.decode() == f"error: the argument '{shown}' is not UTF-8 text; nothing was done\n"
    assert pending.read_bytes() == before
    assert sorted(p.name for p in (root / "briefs").iterdir()) == [SLUG]


def test_a_prompts_file_where_the_folder_belongs_is_named(root: Path) -> None:
    prompts = root / "prompts"
    for path in prompts.iterdir():
        path.unlink()
    prompts.rmdir()
    prompts.write_text("not a folder\n", encoding="utf-8")
    assert cli(root, "prompts", "path", code=0).stdout.splitlines()[0] == (
        f"{prompts}  project (not a folder: no template is read from it; move it away)"
    )
    checks = json.loads(cli(root, "doctor", "--json").stdout)["checks"]
    check = next(c for c in checks if c["check"] == "prompts")
    assert check == {
        "check": "prompts",
        "ok": False,
        "detail": f"{prompts}: not a folder, so no template is read from it; move it away",
    }
