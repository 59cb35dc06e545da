"""The Atom feed of a brief's published versions, with each version's What's new as the entry content.

Built with ElementTree so every string from a feed or an LLM is escaped by the XML library itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET

from markupsafe import escape

from briefbot.merge.proposal import Proposal
from briefbot.models import Brief

ATOM_NS = "http://www.w3.org/2005/Atom"
# Stable ids: the same brief version always has the same entry id, wherever the feed is served.
_ID_NAMESPACE = uuid.UUID("6f1c3c52-8c1e-4a53-9f55-5c0d2c1b7a10")


def entry_id(slug: str, version: int | None = None) -> str:
    name = slug if version is None else f"{slug}/v{version}"
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, name)}"


def _timestamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """An Atom element under `parent`; ElementTree escapes `text` and the attributes."""
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def whats_new_html(brief: Brief) -> str:
    """What's new as escaped HTML paragraphs (the XML layer escapes it once more, as Atom `type="html"` wants)."""
    if brief.whats_new is None:
        return "<p>First published version.</p>"
    return "".join(f"<p>{escape(p)}</p>" for p in brief.whats_new.paragraphs)


def atom_feed(slug: str, briefs: list[Brief], *, feed_url: str, version_url: dict[int, str]) -> bytes:
    """Atom XML for the versions in `briefs` (any order; newest first in the feed).

    `feed_url` and `version_url` should be absolute when the feed is served; relative ones are
    resolved by readers against the feed's own address.
    """
    if not briefs:
        raise ValueError(f"brief {slug!r} has no published version to put in a feed")
    ordered = sorted(briefs, key=lambda b: b.version, reverse=True)
    latest = ordered[0]
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    sub(feed, "id", entry_id(slug))
    sub(feed, "title", latest.title)
    sub(feed, "subtitle", f"Published versions of the living brief “{latest.title}”")
    sub(feed, "updated", _timestamp(latest.date))
    sub(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    sub(
        feed,
        "link",
        rel="alternate",
        href=version_url[latest.version],
        type="text/html",
    )
    author = sub(feed, "author")
    sub(author, "name", latest.site)
    sub(feed, "generator", "briefbot")
    for brief in ordered:
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(slug, brief.version))
        sub(
            entry,
            "title",
            f"v{brief.version} · {brief.date.isoformat()} · {brief.title}",
        )
        sub(entry, "updated", _timestamp(brief.date))
        sub(entry, "published", _timestamp(brief.date))
        sub(
            entry,
            "link",
            rel="alternate",
            href=version_url[brief.version],
            type="text/html",
        )
        sub(entry, "content", whats_new_html(brief), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def pending_feed(
    proposals: list[Proposal], *, feed_url: str, proposal_url: dict[str, str], updated: dt.datetime
) -> bytes:
    """Atom XML of the proposals waiting for an editor, one entry per brief, newest first: what an
    editor subscribes to in a feed reader instead of (or beside) mail."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def stamp(proposal: Proposal) -> str:
        when = proposal.updated_at or proposal.created_at
        return (
            when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else _timestamp(proposal.run_date)
        )

    sub(feed, "id", entry_id("pending-proposals"))
    sub(feed, "title", "Proposals waiting for review")
    sub(feed, "updated", updated.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    sub(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    author = sub(feed, "author")
    sub(author, "name", "briefbot")
    sub(feed, "generator", "briefbot")
    for proposal in sorted(proposals, key=stamp, reverse=True):
        slug = proposal.slug or ""
        entry = sub(feed, "entry")
        # A new entry per revision, so a feed reader shows a remade or decided proposal again.
        sub(entry, "id", entry_id(f"{slug}/proposal/v{proposal.candidate.version}/r{proposal.revision}"))
        applied = len(proposal.applied())
        sub(
            entry,
            "title",
            f"{proposal.candidate.title}: v{proposal.candidate.version} proposed, "
            f"{applied} of {len(proposal.verdicts)} edits applied",
        )
        sub(entry, "updated", stamp(proposal))
        sub(entry, "link", rel="alternate", href=proposal_url[slug], type="text/html")
        sub(entry, "content", whats_new_html(proposal.final_brief()), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
