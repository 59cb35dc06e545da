"""The ASGI app behind `briefbot serve`: published briefs for readers, the proposal page for editors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from briefbot.errors import BriefbotError, NotFoundError, StoreError
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.web import health, pages, review_pages
from briefbot.web.context import (
    PageNotFound,
    WebContext,
    context,
    message,
    published_or_404,
    render_html,
)
from briefbot.web.feed import pending_feed as atom_pending_feed
from briefbot.web.notices import Notice, NoticeForm, closed_notice
from briefbot.web.security import (
    AccessTokenMiddleware,
    Csrf,
    HostCheckMiddleware,
    SecurityHeadersMiddleware,
)
from briefbot.web.templating import STATIC_DIR, environment


def _version_number(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise PageNotFound(f"“{raw}” is not a version number.") from None


# -- published pages ---------------------------------------------------------------------------


async def index(request: Request) -> Response:
    web = context(request)
    html = pages.index_page(
        web.env, web.links, web.project, proposal_link=web.links.proposal, feeds_link="/feeds"
    )
    return HTMLResponse(html)


def feeds_health(request: Request) -> Response:
    web = context(request)
    return HTMLResponse(health.feeds_page(web.env, web.links, web.project, now=web.clock()))


def _proposal_link(web: WebContext, slug: str) -> str | None:
    return web.links.proposal(slug) if ProposalStore(web.project, slug).load() is not None else None


def _closed_notice(request: Request, web: WebContext, slug: str, version: int) -> Notice | None:
    if "notice" not in request.query_params:
        return None
    notice = closed_notice(
        request.query_params, ProposalStore(web.project, slug).last_closed(), version=version
    )
    if notice is not None and notice.text.startswith("The proposal") and _proposal_link(web, slug) is None:
        notice.form = NoticeForm(f"{web.links.proposal(slug)}/restore", "Restore it", id="restore")
    return notice


def brief_latest(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    latest = published_or_404(web.project, slug)
    notice = _closed_notice(request, web, slug, latest)
    return render_html(
        request,
        lambda token: pages.version_page(
            web.env,
            web.links,
            web.project,
            slug,
            proposal_link=_proposal_link(web, slug),
            notice=notice,
            csrf_token=token,
        ),
    )


def brief_version(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    version = published_or_404(web.project, slug, _version_number(request.path_params["version"]))
    notice = _closed_notice(request, web, slug, version)
    return render_html(
        request,
        lambda token: pages.version_page(
            web.env, web.links, web.project, slug, version, notice=notice, csrf_token=token
        ),
    )


def history(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    published_or_404(web.project, slug)
    return HTMLResponse(
        pages.history_page(web.env, web.links, web.project, slug, compare_form=f"/b/{slug}/diff")
    )


def diff(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    a = published_or_404(web.project, slug, _version_number(request.query_params.get("a", "")))
    b = published_or_404(web.project, slug, _version_number(request.query_params.get("b", "")))
    return HTMLResponse(pages.diff_page(web.env, web.links, web.project, slug, a, b))


def feed(request: Request) -> Response:
    web = context(request)
    slug = request.path_params["slug"]
    published_or_404(web.project, slug)
    base = str(request.base_url).rstrip("/")
    return Response(
        pages.feed_xml(web.project, slug, web.links, base_url=base),
        media_type="application/atom+xml",
    )


def pending_feed(request: Request) -> Response:
    """The Atom feed of proposals waiting for review (editors only: it sits with the proposal pages)."""
    web = context(request)
    base = str(request.base_url).rstrip("/")
    pending = [
        p if p.slug else p.model_copy(update={"slug": slug})
        for slug in web.project.slugs()
        if (p := ProposalStore(web.project, slug).load()) is not None
    ]
    return Response(
        atom_pending_feed(
            pending,
            feed_url=f"{base}/proposals.atom",
            proposal_url={p.slug or "": base + web.links.proposal(p.slug or "") for p in pending},
            updated=web.clock(),
        ),
        media_type="application/atom+xml",
    )


# -- errors ------------------------------------------------------------------------------------


async def _not_found(request: Request, exc: Exception) -> Response:
    # The core's NotFoundError is worded for the CLI (files, commands); only a PageNotFound,
    # worded for a browser, is shown as it is.
    if isinstance(exc, PageNotFound):
        return message(
            request, "Not found", str(exc), status_code=404, link=exc.link, retry=exc.retry, back=None
        )
    return message(request, "Not found", "There is no page at this address.", status_code=404, back="/")


_log = logging.getLogger(__name__)


async def _store_error(request: Request, exc: Exception) -> Response:
    # The project's files are the server's business: their paths go to the log, not to the page.
    _log.error("%s %s: %s", request.method, request.url.path, exc)
    return message(
        request,
        "The server could not read or write its files",
        "It stopped at the problem; the server's log names the file. Reload the page to see where things stand.",
        status_code=500,
        back="/",
    )


async def _briefbot_error(request: Request, exc: Exception) -> Response:
    return message(request, "That did not work", str(exc), status_code=400, back="/")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return message(request, "Not found", "There is no page at this address.", status_code=404, back="/")
    return message(
        request,
        f"{exc.status_code}",
        str(exc.detail),
        status_code=exc.status_code,
        back="/",
    )


def create_app(
    project: Project,
    *,
    token: str | None = None,
    csrf_secret: bytes | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    approver: str = "editor",
    allowed_hosts: Collection[str] | None = None,
) -> Starlette:
    """The web app over `project`. `token`, when set, is required on every request; `approver` names
    who decides and approves in the archived proposal; `clock` is the only source of time.
    `allowed_hosts` are the names a request's Host may carry (see `security.allowed_hosts`); None
    accepts any, which only an app called in-process may do: `briefbot serve` always passes them."""
    routes = [
        Route("/", index),
        Route("/feeds", feeds_health),
        Route("/proposals.atom", pending_feed),
        Route("/b/{slug}", brief_latest),
        Route("/b/{slug}/v/{version}", brief_version),
        Route("/b/{slug}/history", history),
        Route("/b/{slug}/diff", diff),
        Route("/b/{slug}/feed.atom", feed),
        *review_pages.ROUTES,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(HostCheckMiddleware, allowed=allowed_hosts),
            Middleware(AccessTokenMiddleware, token=token),
        ],
        exception_handlers={
            NotFoundError: _not_found,
            StoreError: _store_error,
            BriefbotError: _briefbot_error,
            HTTPException: _http_error,
        },
    )
    app.state.web = WebContext(
        project=project,
        env=environment(),
        csrf=Csrf(csrf_secret),
        clock=clock,
        approver=approver,
    )
    return app
