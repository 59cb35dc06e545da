"""The editor's proposal page (GET): the edit cards under a filter, the preview against the base
version, What's new and its state, and the questions approve and discard ask.

The forms on it post to `review_pages`, which draws this page again, with the editor's text and the
reason beside it, when a What's new or an amendment is refused.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from briefbot import review
from briefbot.merge.proposal import Proposal
from briefbot.store.proposals import ProposalStore
from briefbot.web._diff import diff_briefs
from briefbot.web.cards import Card, edit_cards
from briefbot.web.context import PageNotFound, WebContext, brief_or_404, context, render
from briefbot.web.notices import Notice, proposal_notice

FILTERS = {
    "all": "All",
    "pending": "Undecided",
    "applied": "Applied",
    "rejected": "Rejected",
    "warnings": "Warnings",
}


def card_shown(card: Card, show: str) -> bool:
    if show == "pending":
        return card.pending
    if show in ("applied", "rejected"):
        return card.status == show
    if show == "warnings":
        return bool(card.warnings)
    return True


def show_filter(value: str | None) -> str:
    return value if value in FILTERS else "all"


def _whats_new_text(proposal: Proposal) -> str:
    brief = proposal.final_brief()
    return "\n\n".join(brief.whats_new.paragraphs) if brief.whats_new else ""


def _whats_new_state(proposal: Proposal) -> str:
    if proposal.whats_new_override is not None:
        return "edited by the editor"
    if proposal.whats_new_origin == "draft":
        return "the proposer's draft"
    if proposal.whats_new_origin == "assembled":
        return "assembled by the merger"
    return "none yet"


def confirmation(proposal: Proposal, title: str, action: str) -> str:
    """The question a confirmation asks: it names the version and the counts."""
    applied = len(proposal.applied())
    total = len(proposal.verdicts)
    undecided = sum(1 for v in proposal.verdicts if v.status == "applied" and v.decision is None)
    amended = len({a.number for a in proposal.amendments})
    version = proposal.candidate.version
    if action == "approve":
        return (
            f"Publish v{version} of “{title}” with {applied} of {total} edits applied "
            f"({total - applied} rejected, {amended} amended, {undecided} applied without a decision)? "
            "A published version cannot be changed."
        )
    return (
        f"Discard the proposal for v{version} of “{title}” ({total} edits, {applied} applied, "
        f"{amended} amended)? It is kept in the archive and can be restored."
    )


def no_pending(web: WebContext, slug: str) -> PageNotFound:
    """The 404 of a proposal page with nothing pending, saying what became of the last proposal:
    the browser user is sent to the version it published, or to the brief, never to a command."""
    last = ProposalStore(web.project, slug).last_closed()
    if last is not None and last.state == "approved" and last.published_version is not None:
        version = last.published_version
        return PageNotFound(
            f"This proposal was approved by {last.closed_by or 'an editor'} and published as "
            f"v{version}; no newer proposal is waiting for review.",
            link=(web.links.version(slug, version), f"Read v{version}"),
        )
    if last is not None and last.state == "discarded":
        versions = web.project.versions(slug)
        return PageNotFound(
            f"The last proposal (v{last.candidate.version}) was discarded by "
            f"{last.closed_by or 'an editor'}; no proposal is waiting for review.",
            link=(web.links.brief(slug), "The published brief")
            if versions
            else (web.links.index(), "All briefs"),
            retry={
                "action": f"{web.links.proposal(slug)}/restore",
                "fields": [],
                "question": "It is kept in the archive, with its decisions.",
                "label": f"Restore the proposal for v{last.candidate.version}",
            },
        )
    return PageNotFound(
        f"The brief “{slug}” has no proposal waiting for review.", link=(web.links.index(), "All briefs")
    )


def pending_or_404(web: WebContext, slug: str) -> Proposal:
    brief_or_404(web.project, slug)
    proposal = ProposalStore(web.project, slug).load()
    if proposal is None:
        raise no_pending(web, slug)
    return proposal


def page(
    request: Request,
    slug: str,
    proposal: Proposal,
    *,
    show: str = "all",
    status_code: int = 200,
    notice: Notice | None = None,
    whats_new_text: str | None = None,
    whats_new_error: str | None = None,
    amend: dict[str, Any] | None = None,
) -> Response:
    """The proposal page; after a refused form, with the editor's text back in it and the reason."""
    web = context(request)
    base = web.project.load(slug, proposal.base_version)
    cards = edit_cards(proposal, base)
    counts = {name: sum(1 for c in cards if card_shown(c, name)) for name in FILTERS}
    action = web.links.proposal(slug)
    return render(
        request,
        "proposal.html.j2",
        status_code=status_code,
        slug=slug,
        proposal=proposal,
        base=base,
        cards=[c for c in cards if card_shown(c, show)],
        total=len(cards),
        counts=counts,
        filters=FILTERS,
        show=show,
        applied=counts["applied"],
        amended=len({a.number for a in proposal.amendments}),
        whats_new_text=_whats_new_text(proposal) if whats_new_text is None else whats_new_text,
        whats_new_error=whats_new_error,
        whats_new_edited=proposal.whats_new_override is not None,
        whats_new_state=_whats_new_state(proposal),
        whats_new_warnings=review.whats_new_warnings(proposal),
        amend=amend,
        reason_max=review.MAX_REASON_CHARS,
        confirm_approve=confirmation(proposal, base.title, "approve"),
        confirm_discard=confirmation(proposal, base.title, "discard"),
        notice=notice,
        preview=diff_briefs(base, proposal.final_brief()),
        latest=(web.project.versions(slug) or [0])[-1],  # 0: a first draft, nothing published yet
        action=action,
    )


def proposal_page(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    proposal = pending_or_404(web, slug)
    show = show_filter(request.query_params.get("show"))
    notice = proposal_notice(
        request.query_params, proposal, decide_action=f"{web.links.proposal(slug)}/decide", show=show
    )
    return page(request, slug, proposal, show=show, notice=notice)
