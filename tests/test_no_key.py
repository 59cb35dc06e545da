"""A missing API key stops every LLM stage at once, naming the variable, before any request.

The rule (docs/llm.md): api.openai.com, the default endpoint, always needs OPENAI_API_KEY; another
endpoint only with `llm.api_key_required: true`. The local servers count what reaches them: the
scripted OpenAI server its requests, the feed world its log, and a `--record` folder every
exchange (transport failures included) that went through the project's HTTP stack.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from _openai_server import OpenAIServer, Reply
from _pipeline_world import DATE, World, make_root, responder, world  # noqa: F401  # world is a fixture
from briefbot.cli import main
from briefbot.errors import ConfigError
from briefbot.llm import LLMClient, LLMSettings
from briefbot.llm.ping import Pong, ping
from briefbot.project import Project
from briefbot.store import connect

NO_LLM_ENV = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "BRIEFBOT_TRIAGE_MODEL": None,
    "BRIEFBOT_PROPOSE_MODEL": None,
    "BRIEFBOT_ROOT": None,
}


def test_which_endpoints_need_the_key() -> None:
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY is not set.*https://api\.openai\.com/v1"):
        LLMSettings.load({}, env={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        LLMSettings.load({"base_url": "https://api.openai.com/v1"}, env={"OPENAI_API_KEY": "   "})
    with pytest.raises(ConfigError, match="api_key_required is true"):
        LLMSettings.load({"api_key_required": True}, env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    local = LLMSettings.load({}, env={"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert local.key_needed is False and local.key_set is False
    keyed = LLMSettings.load({}, env={"OPENAI_API_KEY": "sk-present"})
    assert keyed.key_needed and keyed.key_set
    # The doctor reads the settings without the key, to report it as a check of its own.
    assert LLMSettings.load({}, env={}, require_key=False).key_set is False


def test_the_client_refuses_before_any_request(tmp_path: Path) -> None:
    async def go(base_url: str) -> None:
        settings = LLMSettings.load(
            {"base_url": base_url, "api_key_required": True}, env={}, require_key=False
        )
        conn = connect(tmp_path / "state.db")
        try:
            with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set") as raised:
                async with LLMClient(settings, conn=conn) as client:
                    await ping(client, model="cheap-1", now=dt.datetime(2026, 5, 24, tzinfo=dt.UTC))
            assert "no LLM request was made" in str(raised.value)
            assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 0
        finally:
            conn.close()

    with OpenAIServer(lambda request, index: Reply.json(Pong(ok=True).model_dump())) as server:
        asyncio.run(go(server.base_url))
    assert server.requests == []


def _run(project: Project, env: dict[str, str | None], *args: str):
    return CliRunner().invoke(main, ["--root", str(project.root), "run", "--date", DATE, *args], env=env)


def _last_report(project: Project) -> dict:
    reports = sorted((project.state_dir / "runs").glob("*/report.json"), key=lambda p: int(p.parent.name))
    return json.loads(reports[-1].read_text(encoding="utf-8"))


def test_a_night_without_the_key_stops_before_collecting(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        with project.feeds_file.open("a", encoding="utf-8") as feeds:
            feeds.write("llm:\n  api_key_required: true\n")
        result = _run(project, {**NO_LLM_ENV, "OPENAI_BASE_URL": llm.base_url})
    assert result.exit_code == 2, result.output
    assert "error: OPENAI_API_KEY is not set" in result.output
    assert "Traceback" not in result.output
    assert llm.requests == [] and world.log == []  # no feed, no page, no LLM request
    report = _last_report(project)
    assert (report["status"], report["exit_code"], report["collected"]) == ("failed", 2, 0)
    assert any("OPENAI_API_KEY" in failure for failure in report["failures"])


def test_the_default_endpoint_without_a_key_makes_no_request_at_all(tmp_path: Path, world: World) -> None:
    project = make_root(tmp_path, world)
    record = tmp_path / "recording"
    result = _run(project, NO_LLM_ENV, "--record", str(record))
    assert result.exit_code == 2, result.output
    assert "OPENAI_API_KEY is not set" in result.output and "api.openai.com" in result.output
    assert world.log == []
    # Every exchange through the project's client is recorded, a refused connection too.
    assert not record.exists() or list(record.iterdir()) == []
    with sqlite3.connect(project.state_db) as conn:
        assert conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 0


def test_the_same_night_with_the_key_does_run(tmp_path: Path, world: World) -> None:
    # The control for the two above: only the key differs, and the night then reaches the servers.
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        with project.feeds_file.open("a", encoding="utf-8") as feeds:
            feeds.write("llm:\n  api_key_required: true\n")
        result = _run(project, {**NO_LLM_ENV, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "k"})
    assert result.exit_code == 0, result.output
    assert len(llm.requests) == 2 and world.log
    assert all(r.headers["authorization"] == "Bearer k" for r in llm.requests)
