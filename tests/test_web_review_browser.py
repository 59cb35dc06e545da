"""The editor's desk in Debian's Chromium (issue 18): the demo night reviewed with the keyboard only,
every page at 1280 and 390 px wide, and axe-core on every page.

The demo night is made by the real `briefbot demo` (the recorded night v6 -> v7, 16 edits, offline);
the app runs under uvicorn on a free loopback port as `briefbot serve` runs it, and playwright drives
/usr/bin/chromium (no browser download). Screenshots go to artifacts/screenshots/ for CI to keep.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from _browser import chromium, new_page, require_playwright, shot
from _web_data import serving
from briefbot import review
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.web import create_app

BRIEFBOT = Path(sys.executable).parent / "briefbot"
SLUG = "open-model-capability-gap"
NOW = dt.datetime(2026, 5, 24, 9, 0, tzinfo=dt.UTC)
# Edit 2 (why it matters), amended: the same claims and citations, plainer words.
AMEND_FROM = "is no longer a single data point"
AMEND_TO = "is no longer one lone data point"

playwright_sync = require_playwright()


def _demo(root: Path) -> Project:
    """The demo night, made by the real binary, fully offline (no server answers at 127.0.0.1:9)."""
    env = {
        **os.environ,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "BRIEFBOT_TRIAGE_MODEL": "other",
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [str(BRIEFBOT), "demo", "--root", str(root)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Project(root)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "night"
    _demo(root)
    return root


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path) -> Iterator[tuple[str, Project]]:
    """A fresh copy of the demo night per test, served."""
    root = tmp_path / "night"
    subprocess.run(["cp", "-a", str(demo_template), str(root)], check=True)
    project = Project(root)
    app = create_app(project, clock=lambda: NOW, approver="keyboard-editor")
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}", project


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium(playwright_sync) as launched:
        yield launched


def _focused_card(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def _key(page, key: str, *, navigates: bool = True) -> None:
    if navigates:
        with page.expect_navigation():
            page.keyboard.press(key)
        page.wait_for_load_state()
    else:
        page.keyboard.press(key)


def test_the_demo_night_reviewed_with_the_keyboard_only(demo, browser) -> None:
    base, project = demo
    page = new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/b/{SLUG}/proposal")
    assert page.locator("article.card").count() == 16

    # ? shows the keys; Esc closes them.
    _key(page, "?", navigates=False)
    assert page.locator("dialog#keys").is_visible()
    _key(page, "Escape", navigates=False)
    assert not page.locator("dialog#keys").is_visible()

    # j focuses the first card (visibly), r rejects it; the page comes back on the next card.
    _key(page, "j", navigates=False)
    assert _focused_card(page) == "edit-1"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    _key(page, "r")
    assert "Edit 1 rejected" in page.locator("#notice").inner_text()
    assert _focused_card(page) == "edit-2"

    # e opens the amend form of edit 2 in place, with the text field focused; Ctrl+Enter saves.
    _key(page, "e", navigates=False)
    field = page.locator("#amend-2-text")
    assert page.evaluate("() => document.activeElement.id") == "amend-2-text"
    original = field.input_value()
    assert AMEND_FROM in original
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(original.replace(AMEND_FROM, AMEND_TO))
    _key(page, "Control+Enter")
    assert "Edit 2 amended" in page.locator("#notice").inner_text(), page.locator("main").inner_text()[:500]
    assert _focused_card(page) == "edit-2"
    assert "amended" in page.locator("#edit-2 .tags").inner_text()
    assert AMEND_TO in page.locator("#preview").inner_text()

    # k/j move; a accepts and moves on; u undoes the last decision.
    _key(page, "j", navigates=False)
    assert _focused_card(page) == "edit-3"
    _key(page, "a")
    assert _focused_card(page) == "edit-4"
    _key(page, "u")
    assert "Edit 3 back to undecided" in page.locator("#notice").inner_text()
    assert "undecided" in page.locator("#edit-3 .verdict").inner_text()
    _key(page, "k", navigates=False)
    assert _focused_card(page) == "edit-3"
    for number in range(3, 17):
        assert _focused_card(page) == f"edit-{number}"
        _key(page, "a")
        assert f"Edit {number} accepted" in page.locator("#notice").inner_text()

    counts = page.locator(".actionbar .counts").inner_text()
    assert "15 of 16 applied" in counts and "0 undecided" in counts and "1 rejected" in counts
    assert "1 amended" in counts
    shot(page, "keyboard-proposal-reviewed")

    # p asks to publish: the dialog names the version and the counts; Enter confirms.
    _key(page, "p", navigates=False)
    dialog = page.locator("dialog#confirm-approve")
    assert dialog.is_visible()
    text = dialog.inner_text()
    assert "v7" in text and "15 of 16 edits applied" in text and "1 amended" in text
    _key(page, "Enter")
    assert page.url.startswith(f"{base}/b/{SLUG}/v/7")
    assert "Published v7" in page.locator("#notice").inner_text()
    assert errors == []

    published = project.load(SLUG, 7)
    assert any(AMEND_TO in p for p in published.why_it_matters)
    archived = ProposalStore(project, SLUG).last_closed()
    assert archived is not None and archived.closed_by == "keyboard-editor"
    (amendment,) = archived.amendments
    assert amendment.number == 2 and AMEND_FROM in amendment.original.text
    assert [v.decision for v in archived.verdicts].count("accepted") == 15


PAGES = {
    "index": "/",
    "brief": f"/b/{SLUG}",
    "proposal": f"/b/{SLUG}/proposal",
    "history": f"/b/{SLUG}/history",
    "feeds": "/feeds",
}
DIFF = f"/b/{SLUG}/diff?a=6&b=7"  # once the demo's v7 is published


def _publish(project: Project) -> None:
    review.approve(project, SLUG, by="keyboard-editor", now=NOW)


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_its_viewport(demo, browser, width: int, scheme: str) -> None:
    base, project = demo
    page = new_page(browser, width=width, height=844 if width == 390 else 900, color_scheme=scheme)
    visits = [*PAGES.items(), ("published", "publish"), ("diff", DIFF), ("history-v7", PAGES["history"])]
    for name, path in visits:
        if path == "publish":
            _publish(project)
            continue
        response = page.goto(base + path)
        assert response is not None and response.ok, path
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide at {width}"
        shot(page, f"{name}-{width}-{scheme}")
        if name == "proposal":
            bar = page.locator(".actionbar")
            height = page.viewport_size["height"]
            for scroll in (0, 40_000):  # top of the page, then past the last card
                page.mouse.wheel(0, scroll)
                page.wait_for_timeout(50)
                box = bar.bounding_box()
                assert box is not None and height / 2 < box["y"] and box["y"] + box["height"] <= height + 1
                assert page.get_by_role("button", name="Approve and publish v7").is_visible()
            assert page.evaluate("() => window.scrollY") > 1000  # it did scroll


def test_axe_finds_no_serious_violation_on_any_page(demo, browser) -> None:
    axe = Axe()
    base, project = demo
    pages = [*PAGES.items(), ("not-found", "/b/nope")]
    for scheme in ("light", "dark"):
        for width in (1280, 390):
            page = new_page(browser, width=width, color_scheme=scheme)
            for name, path in pages:
                page.goto(base + path)
                assert_no_serious(axe, page, f"{name} at {width} px, {scheme}")
            # The dialogs too, open.
            page.goto(base + PAGES["proposal"])
            page.keyboard.press("p")
            assert page.locator("dialog#confirm-approve").is_visible()
            assert_no_serious(axe, page, f"approve dialog at {width} px, {scheme}")
            page.keyboard.press("Escape")
            page.keyboard.press("?")
            assert_no_serious(axe, page, f"keys dialog at {width} px, {scheme}")
            page.context.close()
    _publish(project)
    for scheme in ("light", "dark"):
        page = new_page(browser, color_scheme=scheme)
        for name, path in [("diff", DIFF), ("brief-with-notice", f"/b/{SLUG}/v/7?notice=published")]:
            page.goto(base + path)
            assert_no_serious(axe, page, f"{name}, {scheme}")
        page.context.close()


def assert_no_serious(axe, page, where: str) -> None:
    results = axe.run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{where}: {serious}"
