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

from briefbot.project import Project
from briefbot.web import pages
from briefbot.web.security import Csrf
from briefbot.web.templating import ServerLinks


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


def render(request: Request, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with the CSRF token of this browser, issuing the browser an id if it has none."""
    web = context(request)
    browser_id = web.csrf.browser_id(request)
    fresh = browser_id is None
    if browser_id is None:
        browser_id = web.csrf.new_browser_id()
    html = web.env.get_template(template).render(
        links=web.links,
        site_name=pages.SITE_NAME,
        csrf_token=web.csrf.token_for(browser_id),
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    if fresh:
        web.csrf.set_cookie(response, browser_id)
    return response


def message(request: Request, title: str, text: str, *, status_code: int, **values: Any) -> HTMLResponse:
    values.setdefault("retry", None)
    values.setdefault("back", None)
    return render(
        request,
        "message.html.j2",
        status_code=status_code,
        title=title,
        text=text,
        **values,
    )
