"""Two hands on one proposal: the nightly run, the CLI and the web app each read, check and write
the pending proposal under one lock (an flock on `proposals/.lock`), and a write based on a
revision that is no longer current is refused rather than applied over someone's work.

The cross-process case runs the real `briefbot decide` as a subprocess while this test holds the lock.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _merge_briefs import RUN_DATE, batch, funding_entry, small_brief, terms_tension
from briefbot import review
from briefbot.merge.proposal import StaleProposalError
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from conftest import as_project

SLUG = "gap"
NOW = dt.datetime(2026, 5, 31, 12, 0, tzinfo=dt.UTC)


def _batch():
    return batch([funding_entry(), terms_tension()])


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project(as_project(tmp_path))
    proj.publish(SLUG, small_brief())
    review.make_proposal(proj, SLUG, _batch(), run_date=RUN_DATE, now=NOW)
    return proj


def test_a_stale_revision_changes_nothing(project: Project) -> None:
    store = ProposalStore(project, SLUG)
    before = store.pending_path.read_bytes()
    for act in (
        lambda: review.decide(project, SLUG, reject=[1], now=NOW, expected_revision=7),
        lambda: review.set_whats_new(project, SLUG, "New text.", now=NOW, expected_revision=7),
        lambda: review.approve(project, SLUG, by="ed", now=NOW, expected_revision=7),
        lambda: review.discard(project, SLUG, by="ed", now=NOW, expected_revision=7),
    ):
        with pytest.raises(
            StaleProposalError, match=r"changed meanwhile \(now revision 1, expected revision 7\)"
        ) as err:
            act()
        assert err.value.current is not None and err.value.current.revision == 1
    assert store.pending_path.read_bytes() == before
    assert project.latest_version(SLUG) == 7 and store.archived() == []
    # At the right revision it applies.
    assert review.decide(project, SLUG, reject=[1], now=NOW, expected_revision=1).revision == 2


def test_the_nightly_remake_yields_to_an_editor_who_acted_meanwhile(project: Project) -> None:
    # The run saw revision 1 (untouched) and worked on; meanwhile an editor rejected edit 2.
    decided = review.decide(project, SLUG, reject=[2], now=NOW, by="ed")
    with pytest.raises(StaleProposalError, match="changed meanwhile"):
        review.make_proposal(
            project, SLUG, _batch(), run_date=RUN_DATE, now=NOW, replace=True, expected_revision=1
        )
    kept = ProposalStore(project, SLUG).require()
    assert kept.revision == decided.revision and kept.verdicts[1].decision == "rejected"
    # A run that saw no proposal does not overwrite one made meanwhile either.
    with pytest.raises(StaleProposalError, match="expected none"):
        review.make_proposal(
            project, SLUG, _batch(), run_date=RUN_DATE, now=NOW, replace=True, expected_revision=0
        )


def _holds_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def test_another_process_waits_for_the_lock(project: Project) -> None:
    store = ProposalStore(project, SLUG)
    lock = store.directory / ".lock"
    with store.guard():
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "briefbot"),  # this venv's, not PATH's
                "--root",
                str(project.root),
                "decide",
                SLUG,
                "--reject",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not _holds_open(proc.pid, lock) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # at the lock: it must now be waiting, not writing
        assert proc.poll() is None, proc.communicate()[0].decode()
        assert _holds_open(proc.pid, lock)
        assert store.require().revision == 1
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    assert store.require().revision == 2 and store.require().verdicts[0].decision == "rejected"
