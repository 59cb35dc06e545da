"""The brief commands end to end through the real `briefbot` click group, on a temporary project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefbot.cli import main
from conftest import as_project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "briefs"
SLUG = "open-model-capability-gap"


def run(root: Path, *args: str):
    result = CliRunner().invoke(main, ["--root", str(as_project(root)), *args], catch_exceptions=False)
    return result


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_import_then_render_prints_the_seed_byte_for_byte(tmp_path: Path, seed_text: str) -> None:
    seed = tmp_path / "seed.txt"
    seed.write_bytes(seed_text.encode("utf-8"))
    imported = run(tmp_path, "import", str(seed), "--slug", SLUG)
    assert imported.exit_code == 0, imported.output
    assert (tmp_path / "briefs" / SLUG / "versions" / "v0007.json").is_file()
    rendered = run(tmp_path, "render", SLUG, "--format", "text")
    assert rendered.exit_code == 0
    assert rendered.stdout_bytes == seed.read_bytes()


def test_subprocess_render_is_byte_exact(tmp_path: Path) -> None:
    """The installed console entry point, not just CliRunner: no newline added, no re-encoding."""
    fixture = FIXTURES / "stress_dates_titles.txt"
    script = Path(sys.executable).parent / "briefbot"
    if not script.exists():
        pytest.fail(
            f"briefbot console script not installed at {script}: install the project (pip install -e .)"
        )
    command = [str(script), "--root", str(tmp_path)]
    assert run(tmp_path, "import", str(fixture), "--slug", "grid").exit_code == 0
    out = subprocess.run([*command, "render", "grid"], check=True, capture_output=True).stdout
    assert out == fixture.read_bytes()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.txt")), ids=lambda p: p.name)
def test_import_render_round_trip_fixtures(tmp_path: Path, path: Path) -> None:
    assert run(tmp_path, "import", str(path), "--slug", "b").exit_code == 0
    assert run(tmp_path, "render", "b").stdout_bytes == path.read_bytes()


def test_import_refuses_existing_version(tmp_path: Path) -> None:
    fixture = str(FIXTURES / "minimal_status_only.txt")
    assert run(tmp_path, "import", fixture, "--slug", "b").exit_code == 0
    before = (tmp_path / "briefs" / "b" / "versions" / "v0001.json").read_bytes()
    again = run(tmp_path, "import", fixture, "--slug", "b")
    assert again.exit_code == 2
    assert "already published" in again.stderr
    assert (tmp_path / "briefs" / "b" / "versions" / "v0001.json").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"Site\n\nTitle\n\nnot a header", 5, "expected the header"),
        (
            b"Site\n\nTitle\n\ndraft \xc2\xb7 v1 \xc2\xb7 2026-01-01 \xc2\xb7 2 items\n\nWhat\n\n\xff",
            9,
            "not valid UTF-8",
        ),
        (b"Site\r\n\r\nTitle", 1, "carriage return"),
        (
            b"Site\n\nTitle\n\ndraft \xc2\xb7 v1 \xc2\xb7 2026-01-01 \xc2\xb7 2 items\n\n",
            7,
            "ends with a newline",
        ),
    ],
)
def test_import_of_malformed_file_names_line_and_writes_nothing(
    tmp_path: Path, content: bytes, line: int, message: str
) -> None:
    bad = tmp_path / "in" / "bad.txt"
    bad.parent.mkdir()
    bad.write_bytes(content)
    root = tmp_path / "project"
    root.mkdir()
    result = run(root, "import", str(bad), "--slug", "b")
    assert result.exit_code == 2
    assert f"{bad}:{line}: " in result.stderr and message in result.stderr
    assert _tree(root) == ["feeds.yaml"]  # the project as it was: nothing written


def test_render_formats_versions_and_output_file(tmp_path: Path) -> None:
    fixture = FIXTURES / "stress_dates_titles.txt"
    run(tmp_path, "import", str(fixture), "--slug", "grid")
    v13 = fixture.read_text(encoding="utf-8").replace("v12 · 2025-11-03", "v13 · 2025-11-10")
    (tmp_path / "v13.txt").write_text(v13, encoding="utf-8")
    assert run(tmp_path, "import", str(tmp_path / "v13.txt"), "--slug", "grid").exit_code == 0
    assert "v13 · 2025-11-10" in run(tmp_path, "render", "grid").stdout
    assert "v12 · 2025-11-03" in run(tmp_path, "render", "grid", "--version", "v12").stdout
    assert json.loads(run(tmp_path, "render", "grid", "--format", "json").stdout)["version"] == 13
    out = tmp_path / "out" / "grid.html"
    assert run(tmp_path, "render", "grid", "--format", "html", "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "## Timeline" in run(tmp_path, "render", "grid", "--format", "md").stdout
    missing = run(tmp_path, "render", "grid", "--version", "9")
    assert missing.exit_code == 2 and "no version 9" in missing.stderr


def test_history_and_diff(tmp_path: Path) -> None:
    fixture = FIXTURES / "stress_dates_titles.txt"
    run(tmp_path, "import", str(fixture), "--slug", "grid")
    changed = (
        fixture.read_text(encoding="utf-8")
        .replace("v12 · 2025-11-03 · 57 items", "v13 · 2025-11-10 · 61 items")
        .replace("What's new in v12", "What's new in v13")
        .replace("Two regulators published", "Three regulators published")
        .replace("Status: active — contested", "Status: settled")
    )
    (tmp_path / "v13.txt").write_text(changed, encoding="utf-8")
    run(tmp_path, "import", str(tmp_path / "v13.txt"), "--slug", "grid")
    history = run(tmp_path, "history", "grid").stdout.splitlines()
    assert history == [
        "version\tdate\tstate\titems\tapproved by\twhat's new",
        "v12\t2025-11-03\tactive\t57 items\t-\tTwo regulators published draft tariffs [3][4]; the Ørsted filing [5] adds a third model.",
        "v13\t2025-11-10\tactive\t61 items\t-\tThree regulators published draft tariffs [3][4]; the Ørsted filing [5] adds a third model.",
    ]
    diff = run(tmp_path, "diff", "grid", "12", "v13", "--no-color").stdout
    assert "[-Two-] {+Three+} regulators" in diff
    assert "~ status: [-active — contested-] {+settled+}" in diff
    assert "## Timeline" not in diff
    data = json.loads(run(tmp_path, "diff", "grid", "12", "13", "--json").stdout)
    assert {s["section"] for s in data["sections"]} >= {"Header", "Status"}
    coloured = run(tmp_path, "diff", "grid", "12", "13", "--color").stdout
    assert "\x1b[" in coloured


def test_schema_commands() -> None:
    brief = json.loads(CliRunner().invoke(main, ["schema", "brief"]).stdout)
    assert brief["title"] == "Brief" and "sources" in brief["properties"]
    edits = json.loads(CliRunner().invoke(main, ["schema", "edits"]).stdout)
    assert edits["title"] == "EditBatch" and "edits" in edits["properties"]


@pytest.mark.parametrize("command", ["import", "render", "history", "diff", "schema"])
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    body = result.stdout.split("Options:")[0]
    assert len(body.strip().splitlines()) >= 3, body
