"""The architecture contract (import-linter, configured in pyproject.toml) holds, and can fail.

CI runs `lint-imports` itself; these tests show the contract bites: a copy of the package whose
merger imports the store breaks it, and the tree as it is keeps it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports is not installed at {LINT_IMPORTS}: install the project with [test]")
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _copy(tmp_path: Path) -> Path:
    """The package and the contract, copied where a test may break them."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "briefbot", src / "briefbot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return src


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("merge/checks.py", "from briefbot.store import connect", "Pure cores"),
        ("merge/merger.py", "import sqlite3", "Pure cores"),
        ("brief/render.py", "import httpx2", "Pure cores"),
        # Layers allow these (project, _fs and config sit below merge or brief); the pure cores do not.
        ("merge/merger.py", "from briefbot.project import Project", "Pure cores"),
        ("brief/diff.py", "from briefbot._fs import atomic_write", "Pure cores"),
        ("merge/checks.py", "from briefbot.config import Config", "Pure cores"),
        ("untrusted.py", "import fcntl", "Pure cores"),
        ("store/items.py", "from briefbot.pipeline import night", "Layers"),
        ("web/pages.py", "from briefbot.cli import main", "Layers"),
        ("brief/textformat.py", "from briefbot.brief import diff", "No import cycles"),
    ],
)
def test_an_import_against_the_design_breaks_the_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    src = _copy(tmp_path)
    target = src / "briefbot" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = _lint(src, tmp_path)
    assert result.returncode != 0, result.stdout
    broken_lines = [ln for ln in result.stdout.splitlines() if ln.endswith(" BROKEN")]
    assert any(ln.startswith(broken) for ln in broken_lines), result.stdout
