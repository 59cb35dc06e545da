"""A night in two runs: the first cut short by an outage (every search and half the feeds down),
the second after the world heals. The healed run must propose exactly what one uninterrupted run
proposes: tonight's items weighed together and numbered as one batch, even those the first run
found irrelevant. The harness is bench/chaos.py (ChaosLab.split_night) over bench/_world.py
(SYNTHETIC, served on loopback), with the real `briefbot run` as a subprocess.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from chaos import ChaosLab, Outcome


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosLab]:
    # Feeds of 4 items, so each brief has several and an outage of every other feed splits it.
    with ChaosLab(
        items=45, workdir=tmp_path_factory.mktemp("split"), seed=5, llm_faults=0.0, feed_size=4
    ) as chaos_lab:
        yield chaos_lab


def test_a_night_completed_after_an_outage_proposes_what_one_clean_run_does(lab: ChaosLab) -> None:
    out = Outcome()
    partial = lab.split_night(out)
    explain = "\n".join(["problems:", *out.problems, "notes:", *out.notes, "runs:", *map(str, out.runs)])
    assert out.problems == [], explain
    # Not vacuous: the first run left a proposal that differs from the clean one (it saw part of
    # the night), and every brief the clean run proposed for was compared after healing.
    assert partial and any(partial.get(slug) != text for slug, text in lab.reference.items()), explain
    assert sum("equals the clean run's byte for byte" in n for n in out.notes) == len(lab.reference)
