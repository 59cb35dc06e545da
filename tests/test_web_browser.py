"""End to end in headless Chromium: an editor reviews a proposal and publishes it.

playwright drives Debian's /usr/bin/chromium (it never downloads a browser); the app runs under
uvicorn in a thread on a free loopback port, exactly as `briefbot serve` runs it. Screenshots of
every page go to artifacts/screenshots/ for CI to keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from _browser import chromium, new_page, require_playwright, shot
from _web_data import NOW, SLUG, XSS_TITLE, make_project, serving
from briefbot.web import create_app

playwright_sync = require_playwright()


@pytest.fixture
def server(tmp_path: Path, seed_text: str) -> Iterator[tuple[str, object]]:
    project = make_project(tmp_path / "root", seed_text)
    app = create_app(project, clock=lambda: NOW, approver="browser-editor")
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}", project


@pytest.fixture
def browser_page() -> Iterator[object]:
    with chromium(playwright_sync) as browser:
        yield new_page(browser)


def test_editor_reviews_and_publishes_in_a_browser(server, browser_page) -> None:
    base, _project = server
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(base + "/")
    shot(page, "01-index")
    page.get_by_role("link", name="v8 proposed: 3 of 4 edits applied").click()
    page.wait_for_url(f"{base}/b/{SLUG}/proposal")
    shot(page, "02-proposal")

    # The hostile title is shown as text, and nothing ran.
    title = page.locator("#edit-1 .item-title")
    assert title.inner_text() == XSS_TITLE
    assert page.locator("img").count() == 0
    preview = page.locator("#preview")
    assert "Epoch AI revises its ECI estimate" in preview.inner_text()

    # Reject edit 1: the preview is re-merged without it.
    page.get_by_role("button", name="Reject edit 1").click()
    page.wait_for_load_state()
    assert "rejected by editor" in page.locator("#edit-1 .verdict").inner_text()
    assert "Epoch AI revises its ECI estimate" not in page.locator("#preview").inner_text()
    assert page.locator(".applied-count").inner_text() == "2 of 4"
    shot(page, "03-proposal-after-reject")

    # Amend What's new.
    page.get_by_role("textbox", name="What's new", exact=True).fill(
        "CAISI now says its harnesses were agentic, and the point is disputed [43][1]."
    )
    page.get_by_role("button", name="Save What's new").click()
    page.wait_for_load_state()
    assert "(edited)" in page.locator("#whats-new h2").inner_text()
    assert "harnesses were agentic, and the point is disputed" in page.locator("#preview").inner_text()
    shot(page, "04-proposal-whats-new")

    # Approve, through the confirmation dialog: the new version is the brief's page, with a notice.
    page.get_by_role("button", name="Approve and publish v8").click()
    confirm = page.get_by_role("dialog", name="Publish v8?")
    assert "2 of 4 edits applied" in confirm.inner_text()
    confirm.get_by_role("button", name="Publish v8").click()
    page.wait_for_url(f"{base}/b/{SLUG}/v/8?notice=published")
    assert "Published v8" in page.locator("#notice").inner_text()
    assert page.locator(".whats-new h2").text_content() == "What's new in v8"
    assert "the point is disputed" in page.locator(".whats-new").inner_text()
    shot(page, "05-brief-v8")
    page.goto(f"{base}/b/{SLUG}")
    assert "v8" in page.locator(".meta").inner_text()
    page.locator("a.cite", has_text="[43]").first.click()
    assert page.url.endswith("#source-43")
    assert "CAISI answers its critics" in page.locator("#source-43").inner_text()

    feed_response = page.request.get(f"{base}/b/{SLUG}/feed.atom")
    assert feed_response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(feed_response.body())
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries[0].title.startswith("v8 ·")
    assert "the point is disputed [43][1]" in feed.entries[0].content[0].value

    page.goto(f"{base}/b/{SLUG}/history")
    shot(page, "06-history")
    page.get_by_role("link", name="v7 → v8").click()
    assert page.locator("ins").count() > 0
    shot(page, "07-diff-v7-v8")
    assert dialogs == [] and errors == []


def test_hostile_title_opens_no_dialog_and_post_without_csrf_is_refused(server, browser_page) -> None:
    base, _project = server
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/b/{SLUG}/proposal")
    assert page.get_by_text(XSS_TITLE).count() >= 2  # the card and the preview's new source
    page.wait_for_timeout(200)
    assert dialogs == []

    # The browser's own cookies, but no form token: refused, and nothing changes.
    response = page.request.post(
        f"{base}/b/{SLUG}/proposal/decide",
        form={"edit": "1", "decision": "reject", "revision": "1"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "form token" in response.text()
    page.goto(f"{base}/b/{SLUG}/proposal")
    assert page.locator(".applied-count").inner_text() == "3 of 4"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
