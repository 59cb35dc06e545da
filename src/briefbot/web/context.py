"""What every request handler shares: the app's `WebContext` and rendering a page for this browser.

Kept out of `app` (the published pages' routes and the app itself) because the editor's pages
(`review_pages`) need it too and `app` imports them: the request context lies upstream of both, so
neither has to import the other lazily.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from briefbot.errors import NotFoundError
from briefbot.project import Project
from briefbot.web import pages
from briefbot.web.security import Csrf
from briefbot.web.templating import ServerLinks


class PageNotFound(NotFoundError):
    """A 404 worded for a browser user: the core's NotFoundError speaks to the CLI user (it names
    files under the project folder and commands to run), which a web page must not show."""

    def __init__(
        self, text: str, *, link: tuple[str, str] | None = None, retry: dict[str, Any] | None = None
    ) -> None:
        super().__init__(text)
        self.link = link  # (href, label): where to go instead
        self.retry = retry  # a form to offer (see message.html.j2), e.g. restoring a discarded proposal


@dataclass
class WebContext:
    """Everything a request handler needs; one per app, nothing global."""

    project: Project
    env: jinja2.Environment
    csrf: Csrf
    clock: Callable[[], dt.datetime]
    approver: str
    links: ServerLinks = field(default_factory=ServerLinks)


def context(request: Request) -> WebContext:
    return request.app.state.web


def render_html(request: Request, build: Callable[[str], str], *, status_code: int = 200) -> HTMLResponse:
    """`build(csrf_token)`'s page, with the CSRF token of this browser, issuing the browser an id
    (its cookie) if it has none, so any form on the page can be posted."""
    web = context(request)
    browser_id = web.csrf.browser_id(request)
    fresh = browser_id is None
    if browser_id is None:
        browser_id = web.csrf.new_browser_id()
    response = HTMLResponse(build(web.csrf.token_for(browser_id)), status_code=status_code)
    if fresh:
        web.csrf.set_cookie(response, browser_id)
    return response


def render(request: Request, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with the CSRF token of this browser (see `render_html`)."""
    web = context(request)
    values.setdefault("notice", None)
    return render_html(
        request,
        lambda token: web.env.get_template(template).render(
            links=web.links, site_name=pages.SITE_NAME, csrf_token=token, **values
        ),
        status_code=status_code,
    )


def message(request: Request, title: str, text: str, *, status_code: int, **values: Any) -> HTMLResponse:
    values.setdefault("retry", None)
    values.setdefault("back", None)
    values.setdefault("link", None)
    return render(
        request,
        "message.html.j2",
        status_code=status_code,
        title=title,
        text=text,
        **values,
    )


def brief_or_404(project: Project, slug: str) -> None:
    """Refuse a slug that names no brief, in a browser's words (the core's error names the folder)."""
    if slug not in project.slugs():
        raise PageNotFound(f"There is no brief called “{slug}”.", link=("/", "All briefs"))


def published_or_404(project: Project, slug: str, version: int | None = None) -> int:
    """The version asked for (the latest when None), checked to exist; a 404 for a browser if not."""
    brief_or_404(project, slug)
    versions = project.versions(slug)
    if not versions:
        raise PageNotFound(f"The brief “{slug}” has no published version yet.", link=("/", "All briefs"))
    if version is None:
        return versions[-1]
    if version not in versions:
        known = ", ".join(f"v{v}" for v in versions)
        raise PageNotFound(
            f"The brief “{slug}” has no version {version}; its published versions are {known}.",
            link=(f"/b/{slug}", "The latest version"),
        )
    return version
