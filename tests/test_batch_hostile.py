"""Hostile edit batches through the real CLI (issue 17, items 8 and 10): each is refused with exit 2
and an `error:` line naming the file and the JSON path, never a traceback, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from _merge_briefs import edit, item, small_brief
from briefbot.batch import MAX_BATCH_BYTES, MAX_DEPTH, MAX_EDITS
from briefbot.cli import main
from briefbot.project import Project
from conftest import as_project

SLUG = "gap"


def _valid(edits: int = 1) -> dict[str, Any]:
    return {
        "items": [item(1)],
        "edits": [edit("add_tension", text=f"Tension {k} [new:1]") for k in range(edits)],
        "whats_new": None,
    }


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Project(as_project(tmp_path)).publish(SLUG, small_brief())
    return tmp_path


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
    }


def _edit(root: Path, content: str | bytes) -> Result:
    batch = root / "batch.json"
    batch.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return CliRunner().invoke(main, ["--root", str(root), "edit", SLUG, "--from", str(batch)])


def _refused(root: Path, content: str | bytes) -> str:
    """Run `edit` on `content`; assert it was refused cleanly and wrote nothing; return stderr."""
    (root / "batch.json").write_bytes(b"")  # created first: the snapshot includes folders' mtimes
    before = {k: v for k, v in _files(root).items() if k != "batch.json"}
    result = _edit(root, content)
    # Anything but SystemExit means the command crashed (CliRunner keeps the traceback in exception).
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {root / 'batch.json'}: "), result.stderr
    assert {k: v for k, v in _files(root).items() if k != "batch.json"} == before
    assert not Project(root).proposals_dir(SLUG).exists()
    return result.stderr


def _deep(depth: int) -> str:
    return '{"items": [], "edits": [], "whats_new": ' + "[" * depth + "]" * depth + "}"


def _with(data: dict[str, Any], old: str, new: str) -> str:
    """`data` as JSON with one fragment replaced: for what json.dumps cannot write."""
    text = _text(data)
    assert old in text
    return text.replace(old, new, 1)


CRASHES = {
    # Item 8: each of these crashed with a traceback.
    "nesting 100,000 deep": (_deep(100_000), f"$: nesting too deep (more than {MAX_DEPTH} levels)"),
    "5,000-digit integer": (
        _with(_valid(), '"significance": "minor"', '"significance": ' + "9" * 5000),
        "$.edits[0].significance: integer of 5000 digits (at most 100)",
    ),
    "lone surrogate escape": (
        _with(_valid(), "Tension 0", "Tension \\ud800"),
        "$.edits[0].text: string contains a lone surrogate",
    ),
}

REFUSED = {
    "nesting deeper than the limit": (
        _deep(MAX_DEPTH + 1),
        "$.whats_new" + "[0]" * MAX_DEPTH + f": nesting too deep (more than {MAX_DEPTH} levels)",
    ),
    "negative 5,000-digit integer": (
        _with(_valid(), '"whats_new": null', '"whats_new": -' + "1" * 5000),
        "$.whats_new: integer of 5000 digits",
    ),
    "lone low surrogate in a key": (
        _with(_valid(), '"summary"', '"\\udc00"'),
        "$.edits[0]: a key contains a lone surrogate",
    ),
    "surrogate encoded in the file's bytes": (
        _with(_valid(), "Tension 0", "Tension \ud800").encode("utf-8", "surrogatepass"),
        "$.edits[0].text: string contains a lone surrogate",
    ),
    "bytes that are not UTF-8": (b'{"items": "\xff"}', "not UTF-8: invalid start byte at byte 11"),
    "a key with terminal escapes": (
        _with(_valid(), '"whats_new"', '"\\u001b]0;title\\u0007"'),
        '$["\\u001b]0;title\\u0007"]: Extra inputs are not permitted',
    ),
    "an unknown op of a megabyte": (
        _with(_valid(), '"add_tension"', '"' + "x" * 1_000_000 + '"'),
        "$.edits[0].op: unknown op 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
    ),
    # Item 10: 100,000 edits took 50 s and 547 MB; refused before validation.
    "100,000 edits": (
        _text({"items": [], "edits": [{"op": "x"}] * 100_000}),
        f"$.edits: 100,000 edits; a batch may hold at most {MAX_EDITS} (split it)",
    ),
    "a file over the size limit": (
        _text(_valid()) + " " * MAX_BATCH_BYTES,
        f"bytes; an edit batch may be at most {MAX_BATCH_BYTES:,} bytes (split it)",
    ),
}


@pytest.mark.parametrize(("content", "problem"), CRASHES.values(), ids=CRASHES.keys())
def test_batches_that_crashed_are_refused_with_the_json_path(root: Path, content: str | bytes, problem: str):
    stderr = _refused(root, content)
    assert problem in stderr


@pytest.mark.parametrize(("content", "problem"), REFUSED.values(), ids=REFUSED.keys())
def test_hostile_batches_are_refused_with_the_json_path(root: Path, content: str | bytes, problem: str):
    stderr = _refused(root, content)
    assert problem in stderr
    assert "\x1b" not in stderr and len(stderr) < 1000


def test_the_limits_admit_a_batch_at_them(root: Path):
    at_limit = _text(_valid(MAX_EDITS))
    at_limit += " " * (MAX_BATCH_BYTES - len(at_limit.encode()))
    result = _edit(root, at_limit)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"{MAX_EDITS} applied, 0 rejected" in result.output
    assert Project(root).proposals_dir(SLUG).exists()


def test_one_past_the_limits_is_refused(root: Path):
    assert f"$.edits: {MAX_EDITS + 1} edits" in _refused(root, _text(_valid(MAX_EDITS + 1)))
    one_over = _text(_valid())
    one_over += " " * (MAX_BATCH_BYTES + 1 - len(one_over.encode()))
    assert f"{MAX_BATCH_BYTES + 1:,} bytes" in _refused(root, one_over)


@pytest.mark.parametrize(
    ("field", "value"),
    [("after", True), ("after", "4"), ("after", 4.0), ("index", False), ("index", "2")],
    ids=["after true", "after a string", "after a float", "index false", "index a string"],
)
def test_positions_are_whole_numbers_not_coerced(root: Path, field: str, value: Any):
    """`"after": true` read as entry 1 would place an entry where nobody asked; refused instead."""
    data = _valid()
    op = "add_timeline_entry" if field == "after" else "revise_tension"
    data["edits"] = [edit(op, date="2026-05", text="Entry [new:1]", after=value)]
    if field == "index":
        data["edits"] = [edit(op, index=value, text="Tension [new:1]")]
    stderr = _refused(root, _text(data))
    assert f"$.edits[0].{field}: " in stderr and "integer" in stderr.lower()


def test_a_whole_number_position_is_read(root: Path):
    data = _valid()
    data["edits"] = [edit("add_timeline_entry", date="2030-01", text="Entry [new:1]", after=None)]
    assert _edit(root, _text(data)).exit_code == 0
