"""Debian's headless Chromium for the browser tests, driven by playwright (which never downloads a
browser here). `require_playwright()` fails the calling module when the browser is missing (CI
installs it; `.ci/run`); screenshots go to artifacts/screenshots/ for CI to keep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import playwright.sync_api
import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_playwright() -> ModuleType:
    """playwright's sync API; called at a test module's top, it fails the module without a browser."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)", pytrace=False
        )
    return playwright.sync_api


@contextmanager
def chromium(playwright_sync: ModuleType) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, *, width: int = 1280, height: int = 900, **options: Any) -> Any:
    """A page in a context of its own (cookies, storage) `width` x `height` px, waiting 10 s at most."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
