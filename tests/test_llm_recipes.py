"""docs/llm.md's recipes for Ollama, llama.cpp server and vLLM, replayed against scripted local
servers that behave like those servers (issue 16.5), through the real `briefbot` binary.

Each scripted server wraps one scripted "model" that can only give the asked-for shape when it was
shown the schema: enforced through `response_format` (when the server honours it) or written in the
system message (json_object mode). Otherwise it answers like a chat model that was never told.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from _merge_briefs import RUN_DATE, item, small_brief
from _openai_server import OpenAIServer, Reply, Request, briefbot_model, timeline_edit
from briefbot.project import Project
from conftest import REPO, as_project

BRIEFBOT = Path(sys.executable).parent / "briefbot"
DOC = REPO / "docs" / "llm.md"
SLUG = "gap"


def recipe(name: str) -> dict[str, Any]:
    """The `llm:` mapping of the recipe under `#### <name>` in docs/llm.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n#### {name}\n", 1)[1].split("\n#### ", 1)[0].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, f"docs/llm.md: no yaml block under '#### {name}'"
    return yaml.safe_load(block.group(1))["llm"]


# -- the scripted model ------------------------------------------------------------------------------
def shown_schema(request: Request, *, enforced: bool) -> str | None:
    """The name of the output model the "model" was given the schema of, or None."""
    response_format = request.body.get("response_format") or {}
    if enforced and response_format.get("type") == "json_schema":
        return response_format["json_schema"]["name"]
    system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
    found = re.search(r"validate against this JSON schema \((\w+)\)", system)
    return found.group(1) if found else None


def answer(request: Request, n: int, schema: str | None) -> str:
    if schema is None:
        return "Happy to help! Which items would you like me to look at first?"
    if schema == "ProbeAnswer":
        return json.dumps({"briefbot_probe": "structured-output", "ok": True})
    if schema == "Pong":
        return json.dumps({"ok": True})
    # By the schema asked for, not the model's name: one model may serve both stages.
    asked = request.body["model"] if schema == "TriageAnswer" else None
    content = briefbot_model(triage_model=asked or "-", edits=timeline_edit)(request, n).content
    assert content is not None
    return content


# -- the servers -------------------------------------------------------------------------------------
Server = Callable[[], Callable[[Request, int], Reply]]


def ollama_like() -> Callable[[Request, int], Reply]:
    """Takes a JSON schema and enforces it, but refuses the `strict` flag."""

    def respond(request: Request, n: int) -> Reply:
        response_format = request.body.get("response_format") or {}
        if "strict" in response_format.get("json_schema", {}):
            return Reply.error(400, 'invalid response_format: unknown field "strict"')
        return Reply(content=answer(request, n, shown_schema(request, enforced=True)))

    return respond


def llamacpp_like() -> Callable[[Request, int], Reply]:
    """Ignores response_format; its model wraps JSON in prose and a ``` fence."""

    def respond(request: Request, n: int) -> Reply:
        text = answer(request, n, shown_schema(request, enforced=False))
        if text.startswith("{"):
            text = f"Sure! Here is the JSON:\n```json\n{text}\n```\nLet me know if you need anything else."
        return Reply(content=text)

    return respond


def vllm_like() -> Callable[[Request, int], Reply]:
    """Enforces json_schema, strict or not (guided decoding)."""

    def respond(request: Request, n: int) -> Reply:
        return Reply(content=answer(request, n, shown_schema(request, enforced=True)))

    return respond


# -- running the binary --------------------------------------------------------------------------------
def project_with(tmp_path: Path, llm: dict[str, Any], base_url: str) -> Project:
    project = Project(as_project(tmp_path / "root"))
    project.publish(SLUG, small_brief())
    llm = {**llm, "base_url": base_url, "timeout": 5, "retry_wait_initial": 0.01, "retry_wait_max": 0.05}
    project.feeds_file.write_text(yaml.safe_dump({"feeds": [], "llm": llm}), encoding="utf-8")
    return project


def briefbot(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFBOT_"))}
    return subprocess.run(
        [str(BRIEFBOT), "--root", str(project.root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def propose(project: Project, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    items = tmp_path / "items.json"
    items.write_text(json.dumps([item(1), item(2)]), encoding="utf-8")
    return briefbot(project, "propose", SLUG, "--items", str(items), "--date", RUN_DATE.isoformat())


def request_shape(request: Request) -> dict[str, Any]:
    """What a recipe promises about a request: the response_format without its schema, and
    whether the system message carries the schema."""
    response_format = dict(request.body["response_format"])
    if "json_schema" in response_format:
        response_format["json_schema"] = sorted(response_format["json_schema"])
    system = request.messages[0]["content"]
    return {"response_format": response_format, "schema_in_prompt": "JSON schema (" in system}


STRICT = {"type": "json_schema", "json_schema": ["name", "schema", "strict"]}
RECIPES: dict[str, tuple[Server, dict[str, Any]]] = {
    "Ollama": (
        ollama_like,
        {
            "response_format": {"type": "json_schema", "json_schema": ["name", "schema"]},
            "schema_in_prompt": False,
        },
    ),
    "llama.cpp server": (
        llamacpp_like,
        {"response_format": {"type": "json_object"}, "schema_in_prompt": True},
    ),
    "vLLM": (vllm_like, {"response_format": STRICT, "schema_in_prompt": False}),
}


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_request_shape_and_both_stages_succeed(tmp_path: Path, name: str) -> None:
    server_kind, shape = RECIPES[name]
    llm = recipe(name)
    with OpenAIServer(server_kind()) as server:
        project = project_with(tmp_path, llm, server.base_url)
        done = propose(project, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "edits: 1 applied, 0 rejected" in done.stdout
    assert (project.proposals_dir(SLUG) / "pending.json").is_file()
    assert [r.body["model"] for r in server.requests] == [llm["triage_model"], llm["propose_model"]]
    assert [request_shape(r) for r in server.requests] == [shape, shape]


@pytest.mark.parametrize("name", ["Ollama", "llama.cpp server"])
def test_without_the_recipe_the_default_mode_fails_on_that_server(tmp_path: Path, name: str) -> None:
    """The recipes are needed: the default strict mode gets nowhere on these two servers."""
    server_kind, _ = RECIPES[name]
    llm = {k: v for k, v in recipe(name).items() if k != "output_mode"}
    with OpenAIServer(server_kind()) as server:
        project = project_with(tmp_path, llm, server.base_url)
        done = propose(project, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "HTTP 400" in done.stderr or "failed after a re-ask: invalid" in done.stderr


@pytest.mark.parametrize("name", list(RECIPES))
def test_doctor_probe_finds_the_recipes_mode(tmp_path: Path, name: str) -> None:
    """From the default configuration, the probe names the mode the recipe sets (the first that
    works, strictest first); with the recipe, it finds the configured mode working."""
    server_kind, _ = RECIPES[name]
    llm = recipe(name)
    wanted = llm["output_mode"]
    default = {k: v for k, v in llm.items() if k != "output_mode"}
    with OpenAIServer(server_kind()) as server:
        before = briefbot(
            project_with(tmp_path / "a", default, server.base_url), "doctor", "--probe", "--json"
        )
        after = briefbot(project_with(tmp_path / "b", llm, server.base_url), "doctor", "--probe", "--json")
    probes_before = [c for c in json.loads(before.stdout)["checks"] if c["check"].startswith("probe ")]
    probes_after = [c for c in json.loads(after.stdout)["checks"] if c["check"].startswith("probe ")]
    models = {
        llm["triage_model"],
        llm["propose_model"],
        *([llm["propose_fallback_model"]] if "propose_fallback_model" in llm else []),
    }
    assert {c["check"] for c in probes_before} == {f"probe {m}" for m in models}
    for check in probes_before:
        if wanted == "json_schema_strict":
            assert check["ok"] and check["detail"].startswith("configured json_schema_strict works")
        else:
            assert not check["ok"], check
            assert f"set `output_mode: {wanted}`" in check["detail"]
    assert all(c["ok"] and c["detail"].startswith(f"configured {wanted} works") for c in probes_after)
    assert after.returncode == 0, after.stdout


def test_vllm_recipe_fallback_answers_when_the_big_model_is_down(tmp_path: Path) -> None:
    """The recipe's propose_fallback_model: the 32B model answers 503 until the retries are spent,
    the 7B one answers; the call log names both, the command's report says who answered."""
    llm = recipe("vLLM")
    inner = vllm_like()

    def respond(request: Request, n: int) -> Reply:
        if request.body["model"] == llm["propose_model"]:
            return Reply.error(503, "model is loading")
        return inner(request, n)

    with OpenAIServer(respond) as server:
        project = project_with(tmp_path, llm, server.base_url)
        done = propose(project, tmp_path)
        calls = briefbot(project, "calls", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "edits: 1 applied" in done.stdout
    rows = [(r["stage"], r["model"], r["outcome"]) for r in json.loads(calls.stdout)]
    assert rows[-1] == ("propose", llm["propose_fallback_model"], "ok")
    assert ("propose", llm["propose_model"], "http_error") in rows
    # Triage and propose were both answered by the 7B model, propose as the fallback.
    assert f"answered by: {llm['propose_fallback_model']} ×2 (1 by a fallback model)" in done.stdout
