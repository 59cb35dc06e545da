"""Golden: the seed brief plus a hand-made batch renders to exactly `tests/golden/merge_seed.txt`.

Regenerate after a deliberate change with `BRIEFBOT_UPDATE_GOLDEN=1 pytest tests/test_merge_golden.py`
and review the diff of the golden file like any other code change.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from briefbot.batch import read_batch
from briefbot.brief.textformat import parse_text, render_text
from briefbot.merge import merge

GOLDEN = Path(__file__).parent / "golden"


def test_seed_merge_renders_the_golden_text(seed_text):
    base = parse_text(seed_text)
    batch_file = GOLDEN / "merge_seed_batch.json"
    batch = read_batch(batch_file.read_bytes(), path=str(batch_file))
    proposal = merge(base, batch, run_date=dt.date(2026, 5, 31))

    assert [(v.number, v.status, v.reason) for v in proposal.verdicts if v.status == "rejected"] == [
        (6, "rejected", "unknown actor 'Nvidia'; nearest is 'NVIDIA / Nemotron Coalition'"),
        (7, "rejected", "duplicates timeline entry 5 (2026-05-19, 100% similar)"),
        (8, "rejected", "date 2026-06-02 is later than the run date 2026-05-31"),
    ]
    rendered = render_text(proposal.candidate)
    golden = GOLDEN / "merge_seed.txt"
    if os.environ.get("BRIEFBOT_UPDATE_GOLDEN"):
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")
    # The candidate's render parses back to itself (the text format carries no URLs), so the
    # editor can export it and import it again.
    assert render_text(parse_text(rendered)) == rendered
