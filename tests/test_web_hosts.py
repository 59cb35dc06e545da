"""DNS rebinding (issue 17): the server answers only to its own host names, and a browser's POST must
come from one of its own pages.

The attack: a page on rebind.attacker.example re-points its name at 127.0.0.1, then reads our pages
as its own. Its requests reach our socket carrying `Host: rebind.attacker.example:PORT` and a
matching Origin. A real uvicorn server on loopback is driven with those headers, as a browser would
send them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from _web_data import NOW, SLUG, serving
from _web_data import project as project  # the fixture
from briefbot.cli import main
from briefbot.errors import ConfigError
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.web import create_app
from briefbot.web.security import CSRF_COOKIE, allowed_hosts
from conftest import as_project

PROPOSAL = f"/b/{SLUG}/proposal"
EVIL = "rebind.attacker.example"


def approve_form(html: str) -> dict[str, str]:
    start = html.index(f'action="{PROPOSAL}/approve"')
    body = html[start : html.index("</form>", start)]
    # Confirmed, as the page's dialog (or the confirmation page without script) sends it.
    return {
        **dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body)),
        "confirm": "yes",
    }


@pytest.fixture
def server(project: Project) -> Iterator[tuple[str, int]]:
    """The app as `briefbot serve` builds it, under uvicorn on a free loopback port."""
    app = create_app(project, clock=lambda: NOW, allowed_hosts=allowed_hosts("127.0.0.1"))
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}", port


def test_rebound_host_gets_no_page_no_token_and_cannot_approve(
    server: tuple[str, int], project: Project
) -> None:
    base, port = server
    forged = {"host": f"{EVIL}:{port}", "origin": f"http://{EVIL}:{port}"}
    with httpx2.Client(base_url=base) as attacker:
        page = attacker.get(PROPOSAL, headers=forged)
        assert page.status_code == 400
        assert page.text.startswith("400 Bad Request: this server does not answer to that host name")
        assert "set-cookie" not in page.headers and 'name="csrf"' not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert attacker.get("/", headers=forged).status_code == 400

    # Even holding a valid cookie and form token (which it could no longer get), the POST is refused.
    with httpx2.Client(base_url=base) as editor:
        form = approve_form(editor.get(PROPOSAL).text)
        cookie = editor.cookies[CSRF_COOKIE]
    with httpx2.Client(base_url=base, cookies={CSRF_COOKIE: cookie}) as attacker:
        response = attacker.post(f"{PROPOSAL}/approve", data=form, headers=forged)
        assert response.status_code == 400
    assert project.versions(SLUG) == [6, 7]
    assert ProposalStore(project, SLUG).load() is not None

    # The real host, from its own page, approves with that same form: the refusal was the Host.
    with httpx2.Client(base_url=base, cookies={CSRF_COOKIE: cookie}) as editor:
        response = editor.post(f"{PROPOSAL}/approve", data=form, headers={"origin": base})
        assert (
            response.status_code == 303 and response.headers["location"] == f"/b/{SLUG}/v/8?notice=published"
        )
    assert project.versions(SLUG) == [6, 7, 8]


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost"])
def test_loopback_names_are_answered(server: tuple[str, int], name: str) -> None:
    base, port = server
    with httpx2.Client(base_url=base) as client:
        assert client.get(PROPOSAL, headers={"host": f"{name}:{port}"}).status_code == 200
        assert client.get("/", headers={"host": name}).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["", "localhost.", "127.0.0.1.nip.io", "localhost:notaport", "user@localhost", "localhost/x"],
)
def test_malformed_or_lookalike_hosts_are_refused(server: tuple[str, int], host: str) -> None:
    base, _port = server
    with httpx2.Client(base_url=base) as client:
        assert client.get("/", headers={"host": host}).status_code == 400


@pytest.fixture
def client(project: Project) -> Iterator[TestClient]:
    app = create_app(project, clock=lambda: NOW, allowed_hosts=allowed_hosts("127.0.0.1"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},  # a sandboxed frame or a data: URL
        {"origin": "http://127.0.0.1:9999"},  # another service on this machine
        {"origin": "http://localhost:8000"},  # the right port, a different origin
        {"referer": "http://evil.example/page"},
        {"origin": "http://evil.example", "referer": "http://127.0.0.1:8000/"},
    ],
)
def test_post_from_another_origin_is_refused(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    form = approve_form(client.get(PROPOSAL).text)
    response = client.post(f"{PROPOSAL}/approve", data=form, headers=headers, follow_redirects=False)
    assert response.status_code == 400
    assert response.text == "400 Bad Request: the form was posted from a page of another site"
    assert project.versions(SLUG) == [6, 7]


def test_post_from_our_own_page_or_from_a_program_reaches_the_csrf_check(
    client: TestClient, project: Project
) -> None:
    # No Origin and no Referer: not a browser (browsers send Origin on every POST); the form token
    # still decides.
    assert client.post(f"{PROPOSAL}/approve", data={"csrf": "0" * 64}).status_code == 403
    form = approve_form(client.get(PROPOSAL).text)
    response = client.post(
        f"{PROPOSAL}/approve",
        data=form,
        headers={"referer": f"http://127.0.0.1:8000{PROPOSAL}"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert project.versions(SLUG) == [6, 7, 8]


def serve_app(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str) -> Starlette:
    """The app `briefbot serve ARGS` would run (uvicorn.run is caught, nothing listens)."""
    started: list[Starlette] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_kw: started.append(app))
    result = CliRunner().invoke(main, ["--root", str(as_project(project.root)), "serve", *args])
    assert result.exit_code == 0, result.output
    return started[0]


def test_cli_admits_allowed_host_names_and_only_those(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = serve_app(project, monkeypatch)
    with TestClient(plain, base_url="http://briefs.lan:8000") as c:
        assert c.get("/").status_code == 400
    with TestClient(plain, base_url="http://localhost:8000") as c:
        assert c.get("/").status_code == 200

    app = serve_app(project, monkeypatch, "--allowed-host", "briefs.lan", "--allowed-host", "10.0.0.5")
    for base in ("http://briefs.lan:8000", "http://10.0.0.5:8000", "http://127.0.0.1:8000"):
        with TestClient(app, base_url=base) as c:
            assert c.get(PROPOSAL).status_code == 200, base
    with TestClient(app, base_url=f"http://{EVIL}:8000") as c:
        assert c.get(PROPOSAL).status_code == 400


def test_cli_checks_the_host_when_a_token_is_set_too(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "a-long-enough-token-123"
    app = serve_app(project, monkeypatch, "--host", "0.0.0.0", "--token", token)
    bearer = {"authorization": f"Bearer {token}"}
    with TestClient(app, base_url=f"http://{EVIL}:8000") as c:
        assert c.get("/", headers=bearer).status_code == 400
    with TestClient(app, base_url="http://0.0.0.0:8000") as c:  # the wildcard is nobody's name
        assert c.get("/", headers=bearer).status_code == 400
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/", headers=bearer).status_code == 200


def test_allowed_hosts() -> None:
    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "::1", "localhost"}
    assert allowed_hosts("0.0.0.0") == allowed_hosts("::") == {"127.0.0.1", "::1", "localhost"}
    assert allowed_hosts("192.168.1.4", ["Briefs.LAN", "[fe80::1]"]) == {
        "127.0.0.1",
        "::1",
        "localhost",
        "192.168.1.4",
        "briefs.lan",
        "fe80::1",
    }
    for bad in ("http://briefs.lan", "briefs.lan:8000", "", "u@briefs.lan"):
        with pytest.raises(ConfigError, match="--allowed-host"):
            allowed_hosts("127.0.0.1", [bad])
