"""The scheduling examples in docs/scheduling/ are syntactically valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scheduling"

_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _cron_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _check_cron(line: str) -> None:
    fields = line.split(None, 5)
    assert len(fields) == 6, f"cron line needs 5 time fields and a command: {line!r}"
    for field, (low, high) in zip(fields[:5], _CRON_RANGES, strict=False):
        assert _CRON_FIELD.match(field), f"bad cron field {field!r}"
        for number in re.findall(r"\d+", field.split("/")[0]):
            assert low <= int(number) <= high, f"cron field {field!r} out of range {low}-{high}"
    assert "briefbot" in fields[5] and "run" in fields[5]


def test_cron_line_is_valid() -> None:
    lines = _cron_lines((DOCS / "briefbot.cron").read_text())
    assert len(lines) == 1
    _check_cron(lines[0])


def test_cron_checker_rejects_bad_lines() -> None:
    with pytest.raises(AssertionError):
        _check_cron("61 2 * * * briefbot run")
    with pytest.raises(AssertionError):
        _check_cron("30 2 * * briefbot run")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    for name in ("briefbot.service", "briefbot.timer"):
        shutil.copy(DOCS / name, tmp_path / name)
    result = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "briefbot.timer"),
            str(tmp_path / "briefbot.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # A bad key or a timer with nothing to trigger makes verify fail (seen: exit 1, "Unknown key").
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "bad unit file" not in result.stderr, result.stderr


def test_workflow_is_valid_yaml_with_schedule() -> None:
    workflow = yaml.safe_load((DOCS / "nightly.yml").read_text())
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons
    for cron in crons:
        _check_cron(cron + " briefbot run")
    steps = workflow["jobs"]["run"]["steps"]
    assert any("briefbot" in step.get("run", "") and " run" in step.get("run", "") for step in steps)
