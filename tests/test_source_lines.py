"""Source lines as the seed writes them: a search find shows `Title — reactive:<slug>` in the text
format, its publication date kept in JSON (and shown in HTML and the review cards)."""

from __future__ import annotations

import re

from _merge_briefs import RUN_DATE, batch, edit, item, small_brief
from briefbot.brief.textformat import render_text
from briefbot.merge import merge


def test_a_search_find_renders_like_the_seed_and_a_feed_item_keeps_its_date() -> None:
    found = item(1, origin="reactive:open-model-capability-gap", publisher=None, published="2026-05-27")
    fed = item(2, origin="feed:interconnects", publisher="Interconnects", published="2026-05-28")
    proposal = merge(
        small_brief(),
        batch([edit("add_tension", text="Story one [new:1] against story two [new:2]")], [found, fed]),
        run_date=RUN_DATE,
    )
    text = render_text(proposal.candidate)
    assert "  5. [5] Story 1 — reactive:open-model-capability-gap\n" in text
    assert text.endswith("  6. [6] Story 2 — Interconnects (2026-05-28)")
    by_number = {s.number: s for s in proposal.candidate.sources}
    assert (by_number[5].date, by_number[5].published) == (None, "2026-05-27")
    assert (by_number[6].date, by_number[6].published) == ("2026-05-28", "2026-05-28")


def test_the_html_shows_a_search_finds_publication_date() -> None:
    from briefbot.brief.render import render

    found = item(1, origin="reactive:open-model-capability-gap", publisher=None, published="2026-05-27")
    proposal = merge(
        small_brief(),
        batch([edit("add_tension", text="Story one [new:1] disagrees")], [found]),
        run_date=RUN_DATE,
    )
    html = render(proposal.candidate, "html")
    start = html.index('<li id="source-5"')
    shown = " ".join(re.sub(r"<[^>]+>", " ", html[start : html.index("</li>", start)]).split())
    assert shown.endswith("— reactive:open-model-capability-gap (2026-05-27)"), shown
