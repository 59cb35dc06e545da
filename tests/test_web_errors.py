"""Error pages of the web app speak to a browser user: no server paths, no internals, no CLI commands
(issue 17, "Also")."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2
from starlette.testclient import TestClient

from _web_data import NOW, SLUG
from _web_data import project as project  # the fixture
from briefbot.project import Project
from briefbot.web import create_app
from conftest import as_project

PROPOSAL = f"/b/{SLUG}/proposal"


def _hidden(html: str, action: str) -> dict[str, str]:
    start = html.index(f'action="{action}"')
    body = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))


def _shows_no_internals(html: str, root: Path) -> None:
    assert str(root) not in html
    assert "/tmp" not in html and "pending.json" not in html and ".json" not in html
    assert "Traceback" not in html and "briefbot " not in html.replace("briefbot.", "")
    assert "`" not in html


def test_not_found_pages_show_no_path(project: Project) -> None:
    (project.root / "briefs" / "unpublished").mkdir()
    with TestClient(create_app(project, clock=lambda: NOW)) as client:
        for url, words in [
            ("/b/nope", "no brief called"),
            (f"/b/{SLUG}/v/99", "no version 99"),
            (f"/b/{SLUG}/diff?a=6&b=99", "no version 99"),
            (f"/b/{SLUG}/v/x", "not a version number"),
            ("/b/unpublished", "no published version"),
            ("/b/unpublished/history", "no published version"),
            ("/b/unpublished/proposal", "no proposal waiting"),
            ("/b/nope/proposal", "no brief called"),
            ("/nothing/here", "no page"),
        ]:
            response = client.get(url)
            assert response.status_code == 404, url
            assert words in response.text, (url, response.text)
            _shows_no_internals(response.text, project.root)


def test_an_empty_project_404_does_not_name_its_folder(tmp_path: Path) -> None:
    project = Project(as_project(tmp_path / "empty"))
    with TestClient(create_app(project)) as client:
        response = client.get("/b/anything")
    assert response.status_code == 404 and "no brief called" in response.text
    _shows_no_internals(response.text, project.root)


def _proposal_page_after(project: Project, action: str) -> httpx2.Response:
    """The proposal page once Ada has confirmed `action` (approve or discard) on it."""
    with TestClient(create_app(project, clock=lambda: NOW, approver="ada")) as client:
        page = client.get(PROPOSAL).text
        client.post(f"{PROPOSAL}/{action}", data={**_hidden(page, f"{PROPOSAL}/{action}"), "confirm": "yes"})
        return client.get(PROPOSAL)


def test_proposal_after_publishing_links_the_published_version(project: Project) -> None:
    response = _proposal_page_after(project, "approve")
    assert response.status_code == 404
    assert "approved by ada" in response.text and "published as v8" in response.text
    assert f'href="/b/{SLUG}/v/8"' in response.text
    _shows_no_internals(response.text, project.root)


def test_proposal_after_discarding_says_so_in_browser_terms(project: Project) -> None:
    response = _proposal_page_after(project, "discard")
    assert response.status_code == 404
    assert "discarded by ada" in response.text and f'href="/b/{SLUG}"' in response.text
    _shows_no_internals(response.text, project.root)


def test_a_broken_store_file_is_reported_without_its_path(project: Project) -> None:
    pending = project.proposals_dir(SLUG) / "pending.json"
    pending.write_text("{not json", encoding="utf-8")
    with TestClient(create_app(project, clock=lambda: NOW)) as client:
        response = client.get(PROPOSAL)
    assert response.status_code == 500
    assert "could not read or write" in response.text
    _shows_no_internals(response.text, project.root)
