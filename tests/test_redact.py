"""Secrets never land in what a run writes or prints (issue 17.9): an LLM error body echoing the
key, and a base URL with a password in its userinfo. The real CLI runs a night against a real
local OpenAI-compatible server that echoes the Authorization header in its error bodies; then every
file under the project root (state db, call log, report.json, recording) and the output are grepped
for the sentinels."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _openai_server import OpenAIServer, Reply, Request
from _pipeline_world import DATE, World, make_root, world  # noqa: F401  # the fixture
from briefbot.http.redact import MASK, redact, redact_secrets, redact_url, url_secrets

BRIEFBOT = Path(sys.executable).parent / "briefbot"
SK_KEY = "sk-SENTINEL-5f3a9c1e7b2d4a60"
PLAIN_KEY = "KEYSENTINEL5f3a9c1e7b2d"  # no known shape: only the configured value can catch it
PASSWORD = "PASSWORD-SENTINEL-77c1"


# -- the pure function ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HTTP 401: Incorrect key: Bearer sk-abcdefghijklmnop1234", "HTTP 401: Incorrect key: Bearer ***"),
        ("Incorrect API key provided: sk-proj-abcdefghijklmnopqrstu.", "Incorrect API key provided: sk-***."),
        ("to http://bob:hunter22@10.0.0.5:8080/v1 failed", "to http://bob:***@10.0.0.5:8080/v1 failed"),
        (
            "GET https://s.example/search?q=ai&api_key=abc123&x=1",
            "GET https://s.example/search?q=ai&api_key=***&x=1",
        ),
        ("authorization: Basic " + base64.b64encode(b"u:pw").decode(), "authorization: Basic ***"),
        # Prose that only looks like the shapes stays as it is.
        (
            "Basic information about sk-learn and Bearer bonds",
            "Basic information about sk-learn and Bearer bonds",
        ),
        ("http://example.org/a:b@c is not userinfo", "http://example.org/a:b@c is not userinfo"),
    ],
)
def test_redact_masks_secret_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_masks_known_secrets_of_any_shape_but_not_short_ones() -> None:
    assert (
        redact("echo: abcDEF123456 and abcDEF123456", [PLAIN_KEY, "abcDEF123456"])
        == f"echo: {MASK} and {MASK}"
    )
    assert redact_secrets("unused is a word", ["unused"]) == "unused is a word"
    basic = base64.b64encode(b"u:p@ss-word-long").decode()
    assert url_secrets("http://u:p%40ss-word-long@h/?api_key=k1&q=x") == [
        "p%40ss-word-long",
        "p@ss-word-long",
        basic,
        "k1",
    ]
    assert redact_url("http://u:p%40ss@h:1/v1") == f"http://u:{MASK}@h:1/v1"


# -- the whole night through the CLI ------------------------------------------------------------------
def echoing(status: int):
    def respond(request: Request, index: int) -> Reply:
        auth = request.headers.get("authorization", "")
        token = auth.split(" ", 1)[-1]
        return Reply.error(status, f"Incorrect API key provided: {token}. You sent: Authorization: {auth}")

    return respond


def hits(data: bytes, needles: list[bytes]) -> list[bytes]:
    return [n for n in needles if n in data]


CASES = {
    # name: (status, key, password in the base URL or None)
    "sk-key-401": (401, SK_KEY, None),
    "plain-key-500": (500, PLAIN_KEY, None),
    "userinfo-500": (500, SK_KEY, PASSWORD),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_sentinel_in_any_file_or_output(tmp_path: Path, world: World, case: str) -> None:
    status, key, password = CASES[case]
    project = make_root(tmp_path, world)
    feeds = project.root / "feeds.yaml"
    feeds.write_text(
        feeds.read_text(encoding="utf-8")
        + "llm:\n  retry_attempts: 2\n  retry_wait_initial: 0.01\n  retry_wait_max: 0.05\n  timeout: 5\n",
        encoding="utf-8",
    )
    needles = [key.encode()]
    if password:
        needles += [password.encode(), base64.b64encode(f"user:{password}".encode())]
    with OpenAIServer(echoing(status)) as llm:
        base = llm.base_url
        if password:
            base = base.replace("http://", f"http://user:{password}@")
        env = {
            **os.environ,
            "OPENAI_BASE_URL": base,
            "OPENAI_API_KEY": key,
            "BRIEFBOT_TRIAGE_MODEL": "",
            "BRIEFBOT_PROPOSE_MODEL": "",
            "NO_COLOR": "1",
        }
        outputs = []
        for args in (
            ["run", "--date", DATE, "--record", str(project.root / "recording")],
            ["calls", "--json"],
            ["doctor"],
        ):
            done = subprocess.run(
                [str(BRIEFBOT), "--root", str(project.root), *args],
                env=env,
                capture_output=True,
                timeout=120,
            )
            outputs.append((args[0], done))
        requests = list(llm.requests)
    run = outputs[0][1]
    assert run.returncode in (1, 2), run.stderr.decode()
    assert requests, "the night must have reached the LLM server"
    if password:
        # As before the fix: httpx turns the userinfo into Basic auth, which replaces the Bearer key.
        assert requests[0].headers["authorization"] == "Basic " + needles[2].decode()
    else:
        assert requests[0].headers["authorization"] == f"Bearer {key}"
    # The failure is still told, with its status and the masked echo.
    reports = list((project.root / ".briefbot" / "runs").glob("*/report.json"))
    assert reports, (run.stdout + run.stderr).decode()
    report = reports[0].read_text(encoding="utf-8")
    assert f"HTTP {status}" in report and MASK in report
    if password:
        assert f"user:{MASK}@127.0.0.1" in report

    leaks = []
    for command, done in outputs:
        for stream, data in (("stdout", done.stdout), ("stderr", done.stderr)):
            found = hits(data, needles)
            if found:
                leaks.append(f"briefbot {command} {stream}: {found}")
    files = [p for p in project.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".body" for p in files), "the recording must hold the exchanges"
    for path in files:
        found = hits(path.read_bytes(), needles)
        if found:
            leaks.append(f"{path.relative_to(project.root)}: {found}")
    assert not leaks, "\n".join(leaks)


def test_report_masks_failures_from_any_stage() -> None:
    """report.json, the runs ledger and the printed report mask what a stage put in its failures
    (a search URL with its api_key, an error body that echoed a token)."""
    import datetime as dt

    from rich.console import Console

    from briefbot.pipeline.report import BriefReport, RunReport, report_renderable

    leak = f"search brave: HTTP 401 for https://s.example/q?api_key={PLAIN_KEY}: Bearer {SK_KEY}"
    report = RunReport(
        run_id=1,
        run_date=dt.date(2026, 5, 24),
        mode="live",
        started_at=dt.datetime(2026, 5, 24, tzinfo=dt.UTC),
        failures=[leak],
        notes=[leak],
        briefs=[BriefReport(slug="gap", failures=[leak], warnings=[leak], note=leak)],
    )
    console = Console(record=True, width=300)
    console.print(report_renderable(report))
    for shown in (report.model_dump_json(), str(report.model_dump(mode="json")), console.export_text()):
        assert PLAIN_KEY not in shown and SK_KEY not in shown
        assert "api_key=***" in shown


def test_recording_masks_echoed_credentials_in_encoded_bodies_and_replays_them(tmp_path: Path) -> None:
    """A gzip'd 401 echoing the Bearer key and a 200 echoing the query's api_key: the body files hold
    neither, and the replay gives back the masked bodies (decoded, so they still read)."""
    import asyncio
    import gzip

    from werkzeug import Request as WRequest
    from werkzeug import Response

    from _http_servers import local_server, local_settings
    from briefbot.http import make_client

    folder = tmp_path / "rec"

    def echo_auth(request: WRequest) -> Response:
        body = f'{{"error": {{"message": "bad key {request.headers["Authorization"]}"}}}}'
        return Response(gzip.compress(body.encode()), status=401, headers={"Content-Encoding": "gzip"})

    def echo_query(request: WRequest) -> Response:
        return Response(f"results for key {request.args['api_key']}", content_type="text/plain")

    async def session(settings) -> list[tuple[int, bytes]]:
        async with make_client(settings, trusted=True) as client:
            a = await client.post(f"{base}/v1/x", headers={"Authorization": f"Bearer {PLAIN_KEY}"}, json={})
            b = await client.get(f"{base}/search", params={"q": "ai", "api_key": PLAIN_KEY})
            return [(a.status_code, a.content), (b.status_code, b.content)]

    with local_server() as server:
        server.expect_request("/v1/x").respond_with_handler(echo_auth)
        server.expect_request("/search").respond_with_handler(echo_query)
        base = f"http://127.0.0.1:{server.port}"
        live = asyncio.run(session(local_settings(record_dir=folder)))
    assert PLAIN_KEY.encode() in live[0][1] and PLAIN_KEY.encode() in live[1][1]  # the servers did echo
    for path in folder.iterdir():
        assert PLAIN_KEY.encode() not in path.read_bytes(), path.name
    replayed = asyncio.run(session(local_settings(replay_dir=folder)))
    assert replayed == [(401, b'{"error": {"message": "bad key Bearer ***"}}'), (200, b"results for key ***")]
