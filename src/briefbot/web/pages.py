"""Pages of published briefs, built as HTML strings; the server and the static site both use these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jinja2

from briefbot.errors import NotFoundError
from briefbot.models import Brief
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.web._diff import diff_briefs
from briefbot.web.feed import atom_feed
from briefbot.web.templating import Links

SITE_NAME = "The Information Machine"


def _first_line(brief: Brief) -> str:
    if not brief.whats_new or not brief.whats_new.paragraphs:
        return "(first version)"
    text = brief.whats_new.paragraphs[0]
    return text if len(text) <= 160 else text[:157].rstrip() + "…"


def index_page(
    env: jinja2.Environment,
    links: Links,
    project: Project,
    *,
    proposal_link: Callable[[str], str] | None = None,
    feeds_link: str | None = None,
) -> str:
    """Every brief with its latest version; with `proposal_link(slug)`, its pending proposal too;
    with `feeds_link`, a link to the feed-health page (the server has one, the static site not)."""
    rows = []
    for slug in project.slugs():
        versions = project.versions(slug)
        # A brief with no version yet is listed only where its first draft can be reviewed.
        if not versions and (proposal_link is None or ProposalStore(project, slug).load() is None):
            continue
        brief = project.load(slug, versions[-1]) if versions else project.skeleton(slug)
        row: dict[str, Any] = {
            "slug": slug,
            "title": brief.title,
            "version": brief.version if versions else None,
            "date": brief.date.isoformat() if versions else None,
            "item_count": brief.item_count if versions else None,
            "proposal": None,
        }
        if proposal_link is not None:
            proposal = ProposalStore(project, slug).load()
            if proposal is not None:
                row["proposal"] = {
                    "link": proposal_link(slug),
                    "version": proposal.candidate.version,
                    "applied": len(proposal.applied()),
                    "total": len(proposal.verdicts),
                }
        rows.append(row)
    return env.get_template("index.html.j2").render(
        links=links,
        site_name=SITE_NAME,
        rows=rows,
        show_proposals=proposal_link is not None,
        feeds_link=feeds_link,
    )


def version_page(
    env: jinja2.Environment,
    links: Links,
    project: Project,
    slug: str,
    version: int | None = None,
    *,
    proposal_link: str | None = None,
    notice: Any = None,
    csrf_token: str | None = None,
) -> str:
    """A version's page; the server adds a `notice` (see `notices`) and the token its form needs."""
    versions = project.versions(slug)
    brief = project.load(slug, version)
    earlier = [v for v in versions if v < brief.version]
    return env.get_template("brief.html.j2").render(
        links=links,
        site_name=brief.site,
        slug=slug,
        brief=brief,
        latest=versions[-1],
        previous=earlier[-1] if earlier else None,
        proposal_link=proposal_link,
        notice=notice,
        csrf_token=csrf_token,
    )


def history_page(
    env: jinja2.Environment,
    links: Links,
    project: Project,
    slug: str,
    *,
    compare_form: str | None = None,
) -> str:
    versions = project.versions(slug)
    if not versions:
        raise NotFoundError(f"brief {slug!r} has no published version")
    rows = []
    title = ""
    site = SITE_NAME
    for position, number in enumerate(reversed(versions)):
        brief = project.load(slug, number)
        title = title or brief.title
        site = brief.site
        older = versions[len(versions) - position - 2] if position < len(versions) - 1 else None
        rows.append(
            {
                "version": number,
                "date": brief.date.isoformat(),
                "state": brief.state,
                "item_count": brief.item_count,
                "first_line": _first_line(brief),
                "previous": older,
            }
        )
    return env.get_template("history.html.j2").render(
        links=links,
        site_name=site,
        slug=slug,
        title=title,
        rows=rows,
        compare_form=compare_form,
    )


def diff_page(env: jinja2.Environment, links: Links, project: Project, slug: str, a: int, b: int) -> str:
    old, new = project.load(slug, a), project.load(slug, b)
    return env.get_template("diff.html.j2").render(
        links=links,
        site_name=new.site,
        slug=slug,
        title=new.title,
        a=a,
        b=b,
        sections=diff_briefs(old, new),
    )


def feed_xml(project: Project, slug: str, links: Links, *, base_url: str = "") -> bytes:
    """The Atom feed; `base_url` (the server's origin) makes its links absolute."""
    briefs = [project.load(slug, v) for v in project.versions(slug)]
    if not briefs:
        raise NotFoundError(f"brief {slug!r} has no published version")
    return atom_feed(
        slug,
        briefs,
        feed_url=base_url + links.feed(slug),
        version_url={b.version: base_url + links.version(slug, b.version) for b in briefs},
    )
