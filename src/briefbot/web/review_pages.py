"""The proposal page's state changes: decide, amend, What's new, approve, discard, restore (the
page itself is drawn by `proposal_page`), and the routes of both.

Every POST carries the CSRF token and the proposal revision the editor was looking at. A POST made
against an older revision is not applied: the editor gets a page saying what changed and what they
asked for, with a button to apply it to the current revision, so no decision is silently lost or
silently overwrites another editor's.

Every action ends on a page with a notice of what changed (`notices`); a refused What's new or
amendment comes back on the proposal page with the editor's text in its form and the reason beside
it. Approve and discard ask for confirmation: the page's <dialog> (review.js), or without script a
confirmation page, since a POST without `confirm=yes` only asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from briefbot import review
from briefbot.errors import ReviewError
from briefbot.merge.proposal import Proposal, StaleProposalError
from briefbot.store.proposals import ProposalStore
from briefbot.web.cards import edit_cards
from briefbot.web.context import WebContext, brief_or_404, context, message
from briefbot.web.notices import DECISIONS
from briefbot.web.proposal_page import card_shown, confirmation, no_pending, page, proposal_page, show_filter
from briefbot.web.security import CSRF_FIELD


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


def _after(web: WebContext, slug: str, *, show: str, anchor: str | None = None, **query: Any) -> str:
    """Where a POST sends the editor: the proposal page, its notice in the query, at `anchor`."""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(v)) for v in values if v is not None)
    if show != "all":
        pairs.append(("show", show))
    url = web.links.proposal(slug) + (f"?{urlencode(pairs)}" if pairs else "")
    return url + (f"#{anchor}" if anchor else "")


def _next_card(proposal: Proposal, number: int, show: str) -> str:
    """The card after `number` the editor still sees (the filter applied to the changed proposal)."""
    base_cards = edit_cards(proposal, proposal.candidate)  # targets do not matter, states do
    visible = [c.number for c in base_cards if card_shown(c, show)]
    later = [n for n in visible if n > number]
    if later:
        return f"edit-{later[0]}"
    earlier = [n for n in visible if n < number]
    return f"edit-{earlier[-1]}" if earlier else "edits"


async def _apply(
    request: Request,
    form: FormData,
    *,
    asked: str,
    act: Callable[[int], str | Response],
    retry: Callable[[Proposal], dict[str, Any]] | None = None,
    refused: Callable[[ReviewError], Response] | None = None,
) -> Response:
    """Run `act(expected_revision)` (it returns where to go next, or a page) off the event loop; a
    proposal that changed since the form was drawn gets the stale page, with a `retry` form if
    offered; a ReviewError goes to `refused` when given (the form again, with the editor's text).

    The read-check-write itself is atomic under the proposal store's lock (`review`), across
    this server's threads and any other process."""
    slug, submitted = request.path_params["slug"], _revision(form)

    def run() -> str | Response:
        try:
            return act(_expected(submitted))
        except StaleProposalError as stale:
            current = _stale_current(context(request), slug, stale)
            return _stale(request, slug, asked, submitted, current, retry=retry(current) if retry else None)
        except ReviewError as exc:
            if refused is None:
                raise
            return refused(exc)

    result = await run_in_threadpool(run)
    return result if isinstance(result, Response) else RedirectResponse(result, status_code=303)


def _numbers(form: FormData) -> list[int]:
    numbers = []
    for raw in form.getlist("edit"):
        try:
            numbers.append(int(raw) if isinstance(raw, str) else -1)
        except ValueError:
            raise ReviewError(f"the form named no edit number ({raw!r})") from None
    return numbers


def _undo_word(decision: str | None) -> str:
    return {"accepted": "accept", "rejected": "reject"}.get(decision or "", "reset")


async def decide(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    choice = _field(form, "decision")
    show = show_filter(_field(form, "show"))
    numbers = _numbers(form)
    # The reject form's optional field; an undo (reset) carries none.
    reason = _field(form, "reason") if choice != "reset" else ""
    if choice not in (*DECISIONS, "accept-remaining"):
        raise ReviewError(f"decision must be accept, reject or reset, not {choice!r}")
    if choice != "accept-remaining" and not numbers:
        raise ReviewError("the form named no edit number")

    def act(expected: int) -> str:
        before = ProposalStore(web.project, slug).require()
        chosen = numbers
        if choice == "accept-remaining":
            chosen = [v.number for v in before.verdicts if v.status == "applied" and v.decision is None]
            if not chosen:
                raise ReviewError("no edit is left undecided")
        for number in chosen:
            before.verdict(number)  # in range, or the error says which edits there are
        undo = {_undo_word(before.verdict(n).decision) for n in chosen}
        kind = "accept" if choice == "accept-remaining" else choice
        updated = review.decide(
            web.project,
            slug,
            accept=chosen if kind == "accept" else [],
            reject=chosen if kind == "reject" else [],
            reset=chosen if kind == "reset" else [],
            reason=reason or None,
            now=web.clock(),
            by=web.approver,
            expected_revision=expected,
        )
        return _after(
            web,
            slug,
            show=show,
            anchor=_next_card(updated, max(chosen), show) if len(chosen) == 1 else "edits",
            notice=kind,
            edit=chosen,
            # One undo puts every edit back as it was; mixed earlier states cannot share one button.
            undo=undo.pop() if len(undo) == 1 else None,
        )

    def retry(current: Proposal) -> dict[str, Any]:
        listed = ", ".join(str(n) for n in numbers) or "the remaining ones"
        return {
            "action": request.url.path,
            "fields": [
                *(("edit", str(n)) for n in numbers),
                ("decision", choice),
                ("show", show),
                *((("reason", reason),) if reason else ()),
                ("revision", str(current.revision)),
            ],
            "question": "; ".join(f"Edit {n} is now: {_decision_word(current, n)}." for n in numbers[:5]),
            "label": "Accept the undecided edits now"
            if choice == "accept-remaining"
            else f"{choice.capitalize()} edit {listed} now",
        }

    asked = f"{choice.replace('-', ' ')} edit {', '.join(str(n) for n in numbers)}".strip()
    return await _apply(request, form, asked=asked, act=act, retry=retry)


async def amend(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    show = show_filter(_field(form, "show"))
    try:
        number = int(_field(form, "edit"))
    except ValueError:
        raise ReviewError("the form named no edit number") from None
    typed = {name: _field(form, name) for name in review.AMENDABLE_FIELDS if name in form}
    allow = _field(form, "allow_warnings") == "yes"

    def act(expected: int) -> str | Response:
        current = ProposalStore(web.project, slug).require()
        current.verdict(number)
        edit = current.batch.edits[number - 1]
        # Only what the editor changed is an amendment; the form sends every field back.
        changes = {n: v for n, v in typed.items() if v.strip() != (getattr(edit, n, None) or "").strip()}
        review.amend(
            web.project,
            slug,
            number,
            **changes,
            now=web.clock(),
            by=web.approver,
            allow_warnings=allow,
            expected_revision=expected,
        )
        return _after(web, slug, show=show, anchor=f"edit-{number}", notice="amended", edit=number)

    def refused(exc: ReviewError) -> Response:
        current = ProposalStore(web.project, slug).require()
        state = {
            "number": number,
            "values": typed,
            "error": str(exc),
            "can_allow": isinstance(exc, review.AmendmentWarningError),
        }
        return page(request, slug, current, show=show, status_code=400, amend=state)

    def retry(current: Proposal) -> dict[str, Any]:
        return {
            "action": request.url.path,
            "fields": [
                ("edit", str(number)),
                ("show", show),
                *typed.items(),
                ("revision", str(current.revision)),
            ],
            "question": f"Edit {number} is now: {_decision_word(current, number)}. Your amendment is unchanged.",
            "label": f"Amend edit {number} now",
        }

    return await _apply(request, form, asked=f"amend edit {number}", act=act, retry=retry, refused=refused)


async def whats_new(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    text = _field(form, "whats_new")
    show = show_filter(_field(form, "show"))

    def act(expected: int) -> str:
        review.set_whats_new(web.project, slug, text, now=web.clock(), expected_revision=expected)
        return _after(web, slug, show=show, anchor="whats-new", notice="whats-new")

    def refused(exc: ReviewError) -> Response:
        current = ProposalStore(web.project, slug).require()
        return page(
            request, slug, current, show=show, status_code=400, whats_new_text=text, whats_new_error=str(exc)
        )

    def retry(current: Proposal) -> dict[str, Any]:
        return {
            "action": request.url.path,
            "fields": [("revision", str(current.revision))],
            "textarea": ("whats_new", text),
            "question": "Your text, unchanged; edit it if the proposal's changes call for it.",
            "label": "Save this What's new now",
        }

    return await _apply(
        request, form, asked="your new What's new (kept below)", act=act, retry=retry, refused=refused
    )


def _confirm_page(request: Request, slug: str, proposal: Proposal, action: str) -> Response:
    """Without script (no dialog), a POST without `confirm=yes` asks on a page of its own."""
    web = context(request)
    title = web.project.load(slug, proposal.base_version).title
    label = (
        f"Approve and publish v{proposal.candidate.version}"
        if action == "approve"
        else "Discard the proposal"
    )
    return message(
        request,
        "Publish this version?" if action == "approve" else "Discard this proposal?",
        confirmation(proposal, title, action),
        status_code=200,
        retry={
            "action": request.url.path,
            "fields": [("revision", str(proposal.revision)), ("confirm", "yes")],
            "question": "",
            "label": label,
        },
        back=web.links.proposal(slug),
    )


async def _confirmed(request: Request, action: str, act: Callable[[WebContext, str, int], str]) -> Response:
    """Run `act(web, slug, expected_revision)` for approve or discard once confirmed; a POST without
    `confirm=yes` gets the confirmation page instead (when a proposal is pending: when none is,
    `act` says so). No retry button on a stale page: confirming what the editor has not seen would
    publish, or drop, changes nobody reviewed."""
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    confirmed = _field(form, "confirm") == "yes"

    def run(expected: int) -> str | Response:
        if not confirmed:
            current = ProposalStore(web.project, slug).expect(expected)
            if current is not None:
                return _confirm_page(request, slug, current, action)
        return act(web, slug, expected)

    return await _apply(request, form, asked=action, act=run)


async def approve(request: Request) -> Response:
    def publish(web: WebContext, slug: str, expected: int) -> str:
        brief, _, _ = review.approve(
            web.project, slug, by=web.approver, now=web.clock(), expected_revision=expected
        )
        return web.links.version(slug, brief.version) + "?notice=published"

    return await _confirmed(request, "approve", publish)


async def discard(request: Request) -> Response:
    def drop(web: WebContext, slug: str, expected: int) -> str:
        review.discard(web.project, slug, by=web.approver, now=web.clock(), expected_revision=expected)
        if web.project.versions(slug):
            return web.links.brief(slug) + "?notice=discarded"
        return web.links.proposal(slug) + "?notice=discarded"

    return await _confirmed(request, "discard", drop)


async def restore(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    slug, web = request.path_params["slug"], context(request)
    brief_or_404(web.project, slug)

    def run() -> str:
        review.restore(web.project, slug, by=web.approver, now=web.clock())
        return _after(web, slug, show="all", notice="restored")

    return RedirectResponse(await run_in_threadpool(run), status_code=303)


ROUTES = [
    Route("/b/{slug}/proposal", proposal_page),
    Route("/b/{slug}/proposal/decide", decide, methods=["POST"]),
    Route("/b/{slug}/proposal/amend", amend, methods=["POST"]),
    Route("/b/{slug}/proposal/whats-new", whats_new, methods=["POST"]),
    Route("/b/{slug}/proposal/approve", approve, methods=["POST"]),
    Route("/b/{slug}/proposal/discard", discard, methods=["POST"]),
    Route("/b/{slug}/proposal/restore", restore, methods=["POST"]),
]
