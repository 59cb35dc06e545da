"""Chaos, small: `briefbot run` (a real subprocess) SIGKILLed five times under LLM faults, under failing
feeds, on a read-only and on a full disk. The harness is bench/chaos.py; the world is bench/_world.py
(SYNTHETIC, served on loopback). The full-size run is `python bench/chaos.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from chaos import LLM_FAULTS, ChaosLab, Outcome


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosLab]:
    # One clean reference run for the module; 21 items keep each run about a second or two.
    with ChaosLab(items=21, workdir=tmp_path_factory.mktemp("chaos"), seed=3) as chaos_lab:
        yield chaos_lab


def _explain(out: Outcome) -> str:
    return "\n".join(["problems:", *out.problems, "notes:", *out.notes, "runs:", *map(str, out.runs)])


def test_five_sigkills_under_llm_faults_leave_the_clean_proposal(lab: ChaosLab) -> None:
    out = Outcome()
    lab.scenario("kills", out, feed_faults=0.0, kills=5)
    assert out.problems == [], _explain(out)
    assert sum(1 for r in out.runs if r.get("killed")) == 5
    # The proposals were compared (not vacuously equal): every brief the clean run proposed for.
    assert sum("equals the clean run's byte for byte" in n for n in out.notes) == len(lab.reference)


def test_failing_feeds_are_named_and_the_healed_night_gives_the_clean_proposal(lab: ChaosLab) -> None:
    out = Outcome()
    # Byte for byte like the clean run, once the world heals: the items of every run of the
    # night are weighed together, and a better copy (a feed's over a search find's, an earlier
    # feed's over a syndicated copy) replaces the one a failed fetch let in first.
    lab.scenario("feeds", out, feed_faults=0.3, kills=5)
    assert out.problems == [], _explain(out)
    assert lab.faults.log, "no feed fault was injected: the scenario proved nothing"
    assert sum("equals the clean run's byte for byte" in n for n in out.notes) == len(lab.reference)


def test_bad_llm_answers_are_retried_and_the_night_finishes(lab: ChaosLab) -> None:
    # One run; its first calls (concurrent triage batches) get 429, 500, a non-JSON 200, a wrong shape.
    out = Outcome()
    lab.bad_answers(LLM_FAULTS, out)
    assert out.problems == [], _explain(out)
    assert sum("equals the clean run's byte for byte" in n for n in out.notes) == len(lab.reference)


def _disk(out: Outcome) -> None:
    """An `error:` line naming the cause (no traceback, not success), and nothing corrupted."""
    skipped = [n for n in out.notes if "skipped" in n]
    if skipped and os.geteuid() != 0:
        pytest.skip(f"needs root: the disk is a tmpfs mounted for the test (CI runs as root): {skipped[0]}")
    if skipped:  # a container without CAP_SYS_ADMIN: the machine cannot make the disk
        pytest.skip(f"root cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {skipped[0]}")
    assert out.problems == [], _explain(out)


def test_read_only_root_gives_a_clear_error_and_changes_nothing(lab: ChaosLab) -> None:
    out = Outcome()
    lab.read_only(out)
    _disk(out)


def test_full_disk_gives_a_clear_error_and_corrupts_nothing(lab: ChaosLab) -> None:
    out = Outcome()
    lab.full_disk(out)
    _disk(out)
