"""The editor's proposal page and its state changes: decide, What's new, approve, discard.

Every POST carries the CSRF token and the proposal revision the editor was looking at. A POST made
against an older revision is not applied: the editor gets a page saying what changed and what they
asked for, with a button to apply it to the current revision, so no decision is silently lost or
silently overwrites another editor's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from briefbot import review
from briefbot.errors import ReviewError
from briefbot.merge.proposal import Proposal, StaleProposalError
from briefbot.store.proposals import ProposalStore
from briefbot.web._diff import diff_briefs
from briefbot.web.cards import edit_cards
from briefbot.web.context import PageNotFound, WebContext, brief_or_404, context, message, render
from briefbot.web.security import CSRF_FIELD


def _whats_new_text(proposal: Proposal) -> str:
    brief = proposal.final_brief()
    return "\n\n".join(brief.whats_new.paragraphs) if brief.whats_new else ""


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
        return PageNotFound(
            f"The last proposal (v{last.candidate.version}) was discarded by "
            f"{last.closed_by or 'an editor'}; no proposal is waiting for review.",
            link=(web.links.brief(slug), "The published brief"),
        )
    return PageNotFound(
        f"The brief “{slug}” has no proposal waiting for review.", link=(web.links.index(), "All briefs")
    )


def _pending(web: WebContext, slug: str) -> Proposal:
    brief_or_404(web.project, slug)
    proposal = ProposalStore(web.project, slug).load()
    if proposal is None:
        raise no_pending(web, slug)
    return proposal


def proposal_page(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    proposal = _pending(web, slug)
    base = web.project.load(slug, proposal.base_version)
    return render(
        request,
        "proposal.html.j2",
        slug=slug,
        proposal=proposal,
        base=base,
        cards=edit_cards(proposal, base),
        applied=len(proposal.applied()),
        whats_new_text=_whats_new_text(proposal),
        whats_new_edited=proposal.whats_new_override is not None,
        preview=diff_briefs(base, proposal.final_brief()),
        latest=(web.project.versions(slug) or [0])[-1],  # 0: a first draft, nothing published yet
    )


async def _checked_form(request: Request) -> FormData | Response:
    """The POSTed form, or a refusal when its CSRF token is missing or wrong."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not context(request).csrf.valid(request, token if isinstance(token, str) else None):
        return message(
            request,
            "Refused: missing or invalid form token",
            "This change did not come with this page's form token (CSRF protection), so nothing was changed. "
            "Reload the page and try again.",
            status_code=403,
            back=context(request).links.proposal(request.path_params["slug"]),
        )
    return form


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _revision(form: FormData) -> int | None:
    try:
        return int(_field(form, "revision"))
    except ValueError:
        return None


def _stale(
    request: Request,
    slug: str,
    asked: str,
    submitted: int | None,
    current: Proposal,
    *,
    retry: dict[str, Any] | None,
) -> Response:
    changed = (
        f"from revision {submitted} to {current.revision}"
        if submitted is not None
        else f"(now revision {current.revision})"
    )
    by = f" by {current.decided_by}" if current.decided_by else ""
    return message(
        request,
        "Not applied: the proposal changed meanwhile",
        f"Someone else changed this proposal{by} {changed} since you loaded it, so your request — {asked} — "
        "was not applied, to avoid overwriting their work. Review the current proposal, or apply your request to it.",
        status_code=409,
        retry=retry,
        back=context(request).links.proposal(slug),
    )


def _expected(submitted: int | None) -> int:
    """The revision a POST acted on; a form without one (-1) matches no proposal: never applied blind."""
    return -1 if submitted is None else submitted


def _stale_current(web: WebContext, slug: str, stale: StaleProposalError) -> Proposal:
    """The proposal a stale request met; none left means it was closed: say so as a 404 would."""
    if stale.current is None:
        raise no_pending(web, slug)
    return stale.current


def _decision_word(proposal: Proposal, number: int) -> str:
    verdict = proposal.verdict(number)
    decided = f", {verdict.decision} by the editor" if verdict.decision else ""
    return f"{verdict.status}{decided}"


async def _apply(
    request: Request,
    form: FormData,
    *,
    asked: str,
    act: Callable[[int], str],
    retry: Callable[[Proposal], dict[str, Any]] | None = None,
) -> Response:
    """Run `act(expected_revision)` (it returns where to go next) off the event loop; a proposal
    that changed since the form was drawn gets the stale page, with a `retry` form if offered.

    The read-check-write itself is atomic under the proposal store's lock (`review`), across
    this server's threads and any other process."""
    slug, submitted = request.path_params["slug"], _revision(form)

    def run() -> str | Response:
        try:
            return act(_expected(submitted))
        except StaleProposalError as stale:
            current = _stale_current(context(request), slug, stale)
            return _stale(request, slug, asked, submitted, current, retry=retry(current) if retry else None)

    result = await run_in_threadpool(run)
    return result if isinstance(result, Response) else RedirectResponse(result, status_code=303)


async def decide(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    choice = _field(form, "decision")
    try:
        number = int(_field(form, "edit"))
    except ValueError:
        raise ReviewError("the form named no edit number") from None
    if choice not in ("accept", "reject"):
        raise ReviewError(f"decision must be accept or reject, not {choice!r}")
    accept, reject = ([number], []) if choice == "accept" else ([], [number])

    def act(expected: int) -> str:
        review.decide(
            web.project,
            slug,
            accept=accept,
            reject=reject,
            now=web.clock(),
            by=web.approver,
            expected_revision=expected,
        )
        return f"{web.links.proposal(slug)}#edit-{number}"

    def retry(current: Proposal) -> dict[str, Any]:
        return {
            "action": request.url.path,
            "fields": [("edit", str(number)), ("decision", choice), ("revision", str(current.revision))],
            "question": f"Edit {number} is now: {_decision_word(current, number)}.",
            "label": f"{choice.capitalize()} edit {number} now",
        }

    return await _apply(request, form, asked=f"{choice} edit {number}", act=act, retry=retry)


async def whats_new(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    text = _field(form, "whats_new")

    def act(expected: int) -> str:
        review.set_whats_new(web.project, slug, text, now=web.clock(), expected_revision=expected)
        return f"{web.links.proposal(slug)}#whats-new"

    def retry(current: Proposal) -> dict[str, Any]:
        return {
            "action": request.url.path,
            "fields": [("revision", str(current.revision))],
            "textarea": ("whats_new", text),
            "question": "Your text, unchanged; edit it if the proposal's changes call for it.",
            "label": "Save this What's new now",
        }

    return await _apply(request, form, asked="your new What's new (kept below)", act=act, retry=retry)


async def approve(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)

    def act(expected: int) -> str:
        brief, _, _ = review.approve(
            web.project, slug, by=web.approver, now=web.clock(), expected_revision=expected
        )
        return web.links.version(slug, brief.version)

    # Approving what the editor has not seen would publish unreviewed changes: no retry button.
    return await _apply(request, form, asked="approve", act=act)


async def discard(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)

    def act(expected: int) -> str:
        review.discard(web.project, slug, by=web.approver, now=web.clock(), expected_revision=expected)
        return web.links.brief(slug)

    return await _apply(request, form, asked="discard", act=act)


ROUTES = [
    Route("/b/{slug}/proposal", proposal_page),
    Route("/b/{slug}/proposal/decide", decide, methods=["POST"]),
    Route("/b/{slug}/proposal/whats-new", whats_new, methods=["POST"]),
    Route("/b/{slug}/proposal/approve", approve, methods=["POST"]),
    Route("/b/{slug}/proposal/discard", discard, methods=["POST"]),
]
