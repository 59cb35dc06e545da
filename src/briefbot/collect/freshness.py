"""What decides whether a found item is weighed: each brief's sources (a found item among them is
not its candidate) and its freshness cutoff (an item published before it is stored as `stale`).

The cutoff counts back from the latest version's date by the brief's `fresh_days`; before a first
version, from the run date by `draft_fresh_days`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from briefbot.collect.dedupe import canonical_url
from briefbot.config import Config
from briefbot.errors import NotFoundError
from briefbot.models import StrictModel
from briefbot.project import Project


class Sourced(StrictModel):
    """What a brief's latest published version holds that collect needs: its sources' canonical
    URLs (a found item among them is not the brief's candidate) and its date (the freshness
    cutoff counts back from it). An empty one for a brief with no version yet."""

    urls: frozenset[str] = frozenset()
    version_date: dt.date | None = None


def source_urls(project: Project, slugs: list[str]) -> dict[str, Sourced]:
    """Each brief's sources' canonical URLs and its version date (latest published version)."""
    found: dict[str, Sourced] = {}
    for slug in slugs:
        try:
            brief = project.load(slug)
        except NotFoundError:
            found[slug] = Sourced()
            continue
        urls = set()
        for source in brief.sources:
            if source.url:
                try:
                    urls.add(canonical_url(source.url))
                except ValueError:
                    pass  # a source URL that is not http(s) cannot collide with a found item
        found[slug] = Sourced(urls=frozenset(urls), version_date=brief.date)
    return found


def fresh_since(
    config: Config, sourced: Mapping[str, Sourced], *, night: dt.date | None
) -> dict[str, dt.datetime]:
    """Each brief's freshness cutoff (midnight UTC): items published before it are `stale`.

    The latest version's date minus the brief's `fresh_days`; for a brief with no version yet,
    the run date minus `draft_fresh_days`, so a first draft weighs only the last weeks' news.
    Without a run date (`briefbot collect`) such a brief has no cutoff yet: its items wait at
    `new` and the night's collection sweeps the old ones (`mark_stale`) before anything is weighed.
    A brief absent from `sourced` has no cutoff.
    """
    cutoffs: dict[str, dt.datetime] = {}
    for slug, held in sourced.items():
        brief = config.briefs.get(slug)
        if brief is None:
            continue
        if held.version_date is not None:
            day = held.version_date - dt.timedelta(days=brief.fresh_days)
        elif night is not None:
            day = night - dt.timedelta(days=brief.draft_fresh_days)
        else:
            continue
        cutoffs[slug] = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return cutoffs
