"""The package as setuptools builds it: the top-level prompts/ installs as briefbot/prompts/.

`build_py` is the step of a wheel build that lays out the package; running it on a copy of the
tree needs no network and no `wheel`, and shows what an installed briefbot would hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as build_py lays it out, from a copy of the tree (the build writes egg-info)."""
    tmp_path = tmp_path_factory.mktemp("build")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    shutil.copytree(REPO / "prompts", tree / "prompts")
    shutil.copytree(
        REPO / "src" / "briefbot", tree / "src" / "briefbot", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path / "lib"
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "-d", str(out)],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "briefbot"


def test_the_built_package_holds_the_top_level_prompts_and_every_data_file(built: Path) -> None:
    templates = sorted(p.name for p in (REPO / "prompts").glob("*.j2"))
    assert templates and sorted(p.name for p in (built / "prompts").iterdir()) == templates
    for name in templates:
        assert (built / "prompts" / name).read_bytes() == (REPO / "prompts" / name).read_bytes()
    # Nothing the source package ships (code, page templates, migrations) is lost on the way.
    source = REPO / "src" / "briefbot"
    shipped = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped <= {p.relative_to(built) for p in built.rglob("*") if p.is_file()}


def test_an_installed_package_reads_its_own_packaged_templates(built: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(built.parent)}
    result = subprocess.run(
        [sys.executable, "-c", "from briefbot.llm.prompts import builtin_dir; print(builtin_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == built / "prompts"
