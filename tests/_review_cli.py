"""A project with the demo night's pending proposal (v6 and fixtures/demo/edits.json: 16 edits, all
applied), made through the public functions, and a runner of the real installed `briefbot` binary
for the review commands' CLI tests. A test module imports the `template` and `root` fixtures to get
a fresh copy of that project per test (the proposal is made once per module)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from briefbot import review
from briefbot.brief.textformat import parse_text
from briefbot.merge.proposal import Proposal
from briefbot.models import EditBatch
from briefbot.project import Project
from conftest import REPO, as_project

BIN = Path(sys.executable).parent / "briefbot"
SLUG = "open-model-capability-gap"
DEMO = REPO / "fixtures" / "demo"
RUN_DATE = dt.date(2026, 5, 24)
NOW = dt.datetime(2026, 5, 24, 9, 0, tzinfo=dt.UTC)


def demo_project(root: Path) -> Path:
    """`root` as a project holding v6 and the demo night's proposal for v7 (revision 1)."""
    project = Project(as_project(root))
    project.publish(SLUG, parse_text((DEMO / "v6.txt").read_text(encoding="utf-8")))
    batch = EditBatch.model_validate_json((DEMO / "edits.json").read_text(encoding="utf-8"))
    review.make_proposal(project, SLUG, batch, run_date=RUN_DATE, now=NOW)
    return root


def copy_of(template: Path, root: Path) -> Path:
    shutil.copytree(template, root)
    return root


def pending_path(root: Path) -> Path:
    return Project(root).proposals_dir(SLUG) / "pending.json"


def pending(root: Path) -> Proposal:
    return Proposal.model_validate_json(pending_path(root).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_project(tmp_path_factory.mktemp("template") / "root")


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    return copy_of(template, tmp_path / "root")


def cli(
    root: Path,
    *args: str,
    code: int = 0,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed binary (not the one on PATH) and check its exit status."""
    base = {k: v for k, v in os.environ.items() if k not in ("EDITOR", "VISUAL", "COLUMNS")}
    result = subprocess.run(
        [str(BIN), "--root", str(root), *args],
        capture_output=True,
        text=True,
        input=input if input is not None else "",
        env={**base, **(env or {})},
        timeout=60,
        check=False,
    )
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def editor_script(path: Path, body: str) -> dict[str, str]:
    """A real program for $EDITOR: a Python script (this interpreter) whose `body` gets the file's
    path as `path` and its text as `text`, and may rewrite it, as an editor would. Returns the
    environment that makes `click.edit` run it."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from pathlib import Path\n"
        "path = Path(sys.argv[1])\n"
        "text = path.read_text(encoding='utf-8')\n" + body,
        encoding="utf-8",
    )
    path.chmod(0o755)
    return {"EDITOR": str(path), "VISUAL": str(path)}
