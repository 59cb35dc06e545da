"""`briefbot doctor` against real local servers: the scripted OpenAI server (tests/_openai_server.py)
and a search world on pytest-httpserver. One test per failure the doctor reports, each checking the
exit status and the FAIL line that names it; all-ok is the control every failure differs from.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from _openai_server import OpenAIServer, Reply, Request, free_port_url
from briefbot.cli import main

SECRET = "sk-doctor-secret-4711"
RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>News search</title>'
    "<item><title>A result</title><link>https://example.org/a</link></item></channel></rss>"
)
SEARX = {"results": [{"url": "https://example.org/b", "title": "B"}, {"url": "https://example.org/c"}]}


def pong(request: Request, index: int) -> Reply:
    return Reply.json({"ok": True})


@pytest.fixture
def search(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/search").respond_with_json(SEARX)
    httpserver.expect_request("/rss").respond_with_data(RSS, content_type="application/rss+xml")
    return httpserver


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(pong) as server:
        yield server


def make_project(
    tmp_path: Path,
    search: HTTPServer,
    *,
    llm: str = "",
    private: bool = True,
    searx_url: str | None = None,
) -> Path:
    root = tmp_path / "proj"
    (root / "briefs" / "gap").mkdir(parents=True)
    (root / "briefs" / "gap" / "brief.yaml").write_text(
        "scope: How far open models trail.\n", encoding="utf-8"
    )
    (root / "feeds.yaml").write_text(
        "feeds: []\n"
        "search:\n"
        f"  - {{type: searxng, name: searx, base_url: '{searx_url or search.url_for('/')}'}}\n"
        f"  - {{type: rss_search, name: news, url_template: '{search.url_for('/rss')}?q={{query}}'}}\n"
        f"http: {{allow_private_networks: {str(private).lower()}}}\n"
        f"llm: {{triage_model: cheap-1, propose_model: strong-1{llm}}}\n",
        encoding="utf-8",
    )
    return root


def doctor(root: Path, server: OpenAIServer | None, *args: str, key: str | None = SECRET) -> Result:
    env = {
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": server.base_url if server else None,
        "BRIEFBOT_TRIAGE_MODEL": None,
        "BRIEFBOT_PROPOSE_MODEL": None,
        "BRIEFBOT_ALLOW_PRIVATE_NETWORKS": None,
        "BRIEFBOT_ROOT": None,
    }
    result = CliRunner().invoke(main, ["--root", str(root), "doctor", *args], env=env)
    assert "Traceback" not in result.output and SECRET not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def lines(result: Result) -> dict[str, tuple[str, str]]:
    """`check -> (ok|FAIL, detail)` from the text output (the last line is the summary)."""
    found = {}
    for line in result.output.splitlines()[:-1]:
        status, check, detail = _split(line)
        found[check] = (status, detail)
    return found


def _split(line: str) -> tuple[str, str, str]:
    status, rest = line.split(None, 1)
    # A check's name may hold one space ("llm triage", "search searx"); the columns are aligned.
    head, _, detail = rest.partition("  ")
    return status, head.strip(), detail.strip()


def failed(result: Result) -> dict[str, str]:
    return {check: detail for check, (status, detail) in lines(result).items() if status == "FAIL"}


def test_all_ok(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    root = make_project(tmp_path, search)
    result = doctor(root, llm)
    assert result.exit_code == 0, result.output
    checks = lines(result)
    assert set(checks) == {
        "state",
        "config",
        "prompts",
        "key",
        "llm triage",
        "llm propose",
        "search searx",
        "search news",
    }
    assert all(status == "ok" for status, _ in checks.values()), result.output
    assert checks["key"][1] == "OPENAI_API_KEY set"
    assert "cheap-1" in checks["llm triage"][1] and "strong-1" in checks["llm propose"][1]
    assert "2 result(s)" in checks["search searx"][1] and "1 result(s)" in checks["search news"][1]
    assert result.output.endswith("8 checks, all ok\n")
    # One tiny structured call per model, with the key, each a new request (never the call cache).
    assert doctor(root, llm, "--json").exit_code == 0
    assert [r.body["model"] for r in llm.requests] == ["cheap-1", "strong-1"] * 2
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in llm.requests)
    assert llm.requests[0].body["response_format"]["json_schema"]["name"] == "Pong"
    assert llm.requests[0].user != llm.requests[2].user
    with sqlite3.connect(root / ".briefbot" / "state.db") as conn:
        rows = conn.execute("SELECT stage, model, outcome FROM llm_calls ORDER BY id").fetchall()
    assert rows == [("doctor", "cheap-1", "ok"), ("doctor", "strong-1", "ok")] * 2
    assert [p.name for p in (root / ".briefbot").iterdir() if p.name.startswith(".doctor")] == []
    assert len([entry for entry in search.log if entry[0].path == "/search"]) == 2


def test_json_output(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    result = doctor(make_project(tmp_path, search), llm, "--json", key=None)
    assert result.exit_code == 0, result.output  # a local endpoint needs no key by default
    document = json.loads(result.output)
    assert document["ok"] is True
    key = next(c for c in document["checks"] if c["check"] == "key")
    assert key["ok"] and key["detail"].startswith("OPENAI_API_KEY missing, not needed")


def test_bad_brief_config_is_named_and_the_rest_still_checked(
    tmp_path: Path, search: HTTPServer, llm: OpenAIServer
) -> None:
    root = make_project(tmp_path, search)
    (root / "briefs" / "other").mkdir()
    (root / "briefs" / "other" / "brief.yaml").write_text("scope: x\nqueris: [typo]\n", encoding="utf-8")
    (root / "briefs" / "third").mkdir()
    (root / "briefs" / "third" / "brief.yaml").write_text(
        "scope: y\nfeeds: {names: [nope]}\n", encoding="utf-8"
    )
    result = doctor(root, llm)
    assert result.exit_code == 1, result.output
    bad = [line for line in result.output.splitlines() if line.startswith("FAIL  config")]
    assert len(bad) == 2, result.output
    assert "briefs/other/brief.yaml: queris" in bad[0] and "briefs/third/brief.yaml: feeds.names[0]" in bad[1]
    assert set(failed(result)) == {"config"}  # feeds.yaml loads: the endpoint and searches were checked
    assert len(llm.requests) == 2


def test_unreadable_feeds_yaml(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    root = make_project(tmp_path, search)
    (root / "feeds.yaml").write_text("feeds:\n  - name: [unclosed\n", encoding="utf-8")
    result = doctor(root, llm)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert "proj/feeds.yaml:3: YAML syntax error" in problems["config"]
    assert problems["llm"] == problems["search"] == "not tried: the config does not load"
    assert llm.requests == [] and search.log == []


def test_missing_key(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    root = make_project(tmp_path, search, llm=", api_key_required: true")
    result = doctor(root, llm, key=None)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert problems["key"].startswith("OPENAI_API_KEY missing: the endpoint http://127.0.0.1:")
    assert problems["llm triage"] == problems["llm propose"] == "not tried: OPENAI_API_KEY missing"
    assert set(problems) == {"key", "llm triage", "llm propose"}
    assert llm.requests == []


def test_missing_key_for_the_default_endpoint(tmp_path: Path, search: HTTPServer) -> None:
    result = doctor(make_project(tmp_path, search), None, key=None)
    assert result.exit_code == 1, result.output
    assert "https://api.openai.com/v1 needs it (it is api.openai.com)" in failed(result)["key"]


def test_failing_endpoint(tmp_path: Path, search: HTTPServer) -> None:
    with OpenAIServer(lambda request, index: Reply.error(500, "overloaded")) as server:
        result = doctor(make_project(tmp_path, search), server)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"llm triage", "llm propose"}
    assert "cheap-1 at http://127.0.0.1:" in problems["llm triage"] and "HTTP 500" in problems["llm triage"]
    assert len(server.requests) == 2  # one attempt each: the doctor reports, it does not wait out retries
    # A call for no brief is named as such, never "doctor call for ''".
    assert "doctor call (cheap-1) to http://127.0.0.1:" in problems["llm triage"], problems
    assert "''" not in result.output


def test_endpoint_answering_nonsense_twice(tmp_path: Path, search: HTTPServer) -> None:
    with OpenAIServer(lambda request, index: Reply.json({"nothing": "like a pong"})) as server:
        result = doctor(make_project(tmp_path, search), server)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert "doctor call (cheap-1 at http://127.0.0.1:" in problems["llm triage"], problems
    assert "failed after a re-ask" in problems["llm triage"] and "''" not in result.output


def test_endpoint_refusing_a_model(tmp_path: Path, search: HTTPServer) -> None:
    def respond(request: Request, index: int) -> Reply:
        if request.body["model"] == "strong-1":
            return Reply.error(404, "The model `strong-1` does not exist")
        return pong(request, index)

    with OpenAIServer(respond) as server:
        root = make_project(tmp_path, search)
        result = doctor(root, server)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"llm propose"}
    assert "strong-1" in problems["llm propose"] and "HTTP 404" in problems["llm propose"]
    with sqlite3.connect(root / ".briefbot" / "state.db") as conn:
        outcomes = conn.execute("SELECT model, outcome FROM llm_calls ORDER BY id").fetchall()
    assert outcomes == [("cheap-1", "ok"), ("strong-1", "http_error")]


def test_search_provider_down(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    search.clear()
    search.expect_request("/search").respond_with_data("down", status=500)
    search.expect_request("/rss").respond_with_data(RSS, content_type="application/rss+xml")
    result = doctor(make_project(tmp_path, search), llm)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"search searx"}
    assert "/search?q=briefbot&format=json: HTTP 500" in problems["search searx"]


def test_search_provider_refusing_connections(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    root = make_project(tmp_path, search, searx_url=free_port_url().removesuffix("/v1"))
    result = doctor(root, llm)
    assert result.exit_code == 1, result.output
    assert "ConnectError" in failed(result)["search searx"]


def test_search_respects_the_private_network_rule(
    tmp_path: Path, search: HTTPServer, llm: OpenAIServer
) -> None:
    result = doctor(make_project(tmp_path, search, private=False), llm)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"search searx", "search news"}
    assert "refused to connect" in problems["search news"]
    assert search.log == []
    assert len(llm.requests) == 2  # the configured LLM endpoint is trusted config, local or not


def test_state_folder_is_a_file(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    root = make_project(tmp_path, search)
    (root / ".briefbot").write_text("not a folder\n", encoding="utf-8")
    result = doctor(root, llm)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"state"}
    assert (
        problems["state"]
        == f"{root / '.briefbot'}: is a file, not a folder; move it away so briefbot can keep its state there"
    )
    assert len(llm.requests) == 2  # the endpoint is still checked, its log kept in memory


def test_state_folder_not_writable(tmp_path: Path, search: HTTPServer, llm: OpenAIServer) -> None:
    """A folder's mode stops a user, not root: as root (CI) the folder is a read-only tmpfs."""
    root = make_project(tmp_path, search)
    state = root / ".briefbot"
    state.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(state)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:  # a container without CAP_SYS_ADMIN
            pytest.skip(
                f"root cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}"
            )
        refusal = "Read-only file system"
    else:
        state.chmod(0o500)
        refusal = "Permission denied"
    try:
        result = doctor(root, llm)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(state)], check=True)
        else:
            state.chmod(0o700)
    assert result.exit_code == 1, result.output
    problems = failed(result)
    assert set(problems) == {"state"}
    assert problems["state"].startswith(f"{state}") and refusal in problems["state"]


def test_json_logs_one_line_per_check_and_a_closing_line(
    tmp_path: Path, search: HTTPServer, llm: OpenAIServer
) -> None:
    """`--log-format json doctor`: stdout stays empty, stderr is one JSON line per check and a
    closing line with the exit status, as `run` closes a night; a FAIL is a warning line."""
    root = make_project(tmp_path, search)
    env = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": llm.base_url, "BRIEFBOT_ROOT": None}
    env |= {"BRIEFBOT_TRIAGE_MODEL": None, "BRIEFBOT_PROPOSE_MODEL": None}
    search.clear()  # the searx provider now answers 500: one check fails
    search.expect_request("/search").respond_with_data("down", status=500)
    search.expect_request("/rss").respond_with_data(RSS, content_type="application/rss+xml")
    result = CliRunner().invoke(main, ["--root", str(root), "--log-format", "json", "doctor"], env=env)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    checks, closing = logged[:-1], logged[-1]
    assert [c["event"] for c in checks] == ["doctor_check"] * 8
    assert {c["check"]: c["ok"] for c in checks}["search searx"] is False
    searx = next(c for c in checks if c["check"] == "search searx")
    assert searx["level"] == "warning" and "500" in searx["detail"]
    assert all(c["level"] == "info" for c in checks if c["ok"])
    assert (closing["event"], closing["exit_code"], closing["checks"], closing["failed"]) == (
        "doctor_finished",
        1,
        8,
        1,
    )
    assert SECRET not in result.stderr
    # With --json too, the document is on stdout (as `run --json`), the log lines on stderr.
    both = CliRunner().invoke(
        main, ["--root", str(root), "--log-format", "json", "doctor", "--json"], env=env
    )
    assert both.exit_code == 1 and json.loads(both.stdout)["ok"] is False
    assert json.loads(both.stderr.splitlines()[-1])["event"] == "doctor_finished"
