"""Structured-output modes and the fallback model (issue 16, items 5 and 6), against the real local
OpenAI-compatible server of tests/_openai_server.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _llm_client import GOOD, PROMPT, Answer, calls, llm_settings
from _llm_client import ask as ask_with
from _openai_server import OpenAIServer, Reply, Request
from _pipeline_world import world  # noqa: F401  # the fixture
from briefbot.errors import LLMError
from briefbot.eval.runner import usage_of
from briefbot.llm import CallStats
from briefbot.llm.client import fingerprint, strict_response_format
from briefbot.llm.output import extract_json_object
from briefbot.pipeline.report import LLMUsage
from briefbot.store.llm_calls import CallRow

TIMING: dict[str, object] = dict(timeout=1.0, retry_attempts=2, retry_wait_initial=0.01, retry_wait_max=0.05)


def ask(base_url: str, db: Path, *, stage: str = "triage", model: str = "cheap-1", **overrides: object):
    return ask_with(llm_settings(base_url, **(TIMING | overrides)), db, stage=stage, model=model)


# -- modes -------------------------------------------------------------------------------------------
def test_default_mode_sends_the_strict_schema_and_keeps_the_fingerprint(tmp_path: Path) -> None:
    """The default is what every recording was made with: same request body, same cache key."""
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        ask(server.base_url, tmp_path / "s.db")
    [request] = server.requests
    assert request.body["response_format"] == strict_response_format(Answer)
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert request.body["messages"] == PROMPT.messages
    expected = fingerprint(
        {
            "model": "cheap-1",
            "messages": PROMPT.messages,
            "response_format": strict_response_format(Answer),
            "prompt_cache_key": "briefbot:triage:b",
            "max_completion_tokens": None,
        }
    )
    assert [c.fingerprint for c in calls(tmp_path / "s.db")] == [expected]


def test_json_schema_mode_sends_the_schema_without_the_strict_key(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        result = ask(server.base_url, tmp_path / "s.db", output_mode="json_schema")
    assert result.value == Answer(**GOOD)
    sent = server.requests[0].body["response_format"]
    assert sent["type"] == "json_schema" and "strict" not in sent["json_schema"]
    assert sent["json_schema"]["schema"] == strict_response_format(Answer)["json_schema"]["schema"]
    assert server.requests[0].body["messages"] == PROMPT.messages


def test_json_object_mode_puts_the_schema_in_the_system_message(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        ask(server.base_url, tmp_path / "s.db", output_mode="json_object")
    body = server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system" and system["content"].startswith("be brief\n\n")
    schema = strict_response_format(Answer)["json_schema"]["schema"]
    assert json.dumps(schema) in system["content"]
    assert user == PROMPT.messages[1]
    [row] = calls(tmp_path / "s.db")
    assert row.template_files is not None and row.template_files.endswith("builtin:json_object.system.j2")


def test_a_stage_may_override_the_endpoint_mode(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        ask(server.base_url, tmp_path / "s.db", stage="triage", triage_output_mode="json_object")
        ask(
            server.base_url,
            tmp_path / "s.db",
            stage="propose",
            model="strong-1",
            triage_output_mode="json_object",
        )
    assert [r.body["response_format"]["type"] for r in server.requests] == ["json_object", "json_schema"]


def test_each_mode_gives_a_different_cache_key(tmp_path: Path) -> None:
    """A cached answer asked for in one mode is not served to another: the question differs."""
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        for mode in ("json_schema_strict", "json_schema", "json_object"):
            ask(server.base_url, tmp_path / "s.db", output_mode=mode)
    assert len(server.requests) == 3
    assert len({c.fingerprint for c in calls(tmp_path / "s.db")}) == 3


@pytest.mark.parametrize(
    "content",
    [
        'Sure! Here is the JSON you asked for:\n```json\n{"word": "yes", "count": 2}\n```\nAnything else?',
        '```\n{"word": "yes", "count": 2}\n```',
        'The answer {is} below.\n{"word": "yes", "count": 2} -- done {}',
    ],
)
def test_json_in_prose_or_fences_is_found_without_a_reask(tmp_path: Path, content: str) -> None:
    with OpenAIServer(lambda req, n: Reply(content=content)) as server:
        result = ask(server.base_url, tmp_path / "s.db", output_mode="json_object")
    assert result.value == Answer(**GOOD) and len(server.requests) == 1
    [row] = calls(tmp_path / "s.db")
    assert row.outcome == "ok" and json.loads(row.result or "") == GOOD


def test_prose_without_a_valid_object_still_gets_the_reask(tmp_path: Path) -> None:
    def respond(request: Request, n: int) -> Reply:
        return Reply(content="I think the word is yes.") if n == 1 else Reply.json(GOOD)

    with OpenAIServer(respond) as server:
        result = ask(server.base_url, tmp_path / "s.db", output_mode="json_object")
    assert result.value == Answer(**GOOD) and len(server.requests) == 2
    assert [c.outcome for c in calls(tmp_path / "s.db")] == ["invalid", "ok"]


def test_a_wrong_object_in_prose_is_invalid_with_its_own_errors(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply(content='Here: {"word": "yes"}')) as server:
        with pytest.raises(LLMError, match=r"failed after a re-ask: invalid: count: Field required"):
            ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 2


def test_extract_json_object_is_bounded_and_exact() -> None:
    assert extract_json_object('x {"a": {"b": 1}} y {"c": 2}') == '{"a": {"b": 1}}'
    assert extract_json_object("no json here") is None
    assert extract_json_object("{" * 10_000) is None  # many candidates: gives up, quickly


# -- the fallback model ---------------------------------------------------------------------------------
def by_model(failing: dict[str, Reply]):
    def respond(request: Request, n: int) -> Reply:
        return failing.get(request.body["model"]) or Reply.json(GOOD)

    return respond


@pytest.mark.parametrize(
    "failure", [Reply.error(503, "overloaded"), Reply.error(500), Reply(content="{}", delay=3.0)], ids=str
)
def test_fallback_answers_after_the_retry_budget_is_spent_on_server_faults(
    tmp_path: Path, failure: Reply
) -> None:
    with OpenAIServer(by_model({"cheap-1": failure})) as server:
        result = ask(server.base_url, tmp_path / "s.db", triage_fallback_model="local-small")
    assert result.value == Answer(**GOOD)
    assert result.model == "local-small" and result.fallback
    assert [r.body["model"] for r in server.requests] == ["cheap-1", "cheap-1", "local-small"]
    rows = calls(tmp_path / "s.db")
    assert [(r.model, r.outcome) for r in rows] == [("cheap-1", "http_error"), ("local-small", "ok")]
    assert result.stats.answered_by == {"local-small": 1} and result.stats.fallbacks == 1


@pytest.mark.parametrize("status", [400, 401, 429])
def test_no_fallback_for_client_errors_or_rate_limits(tmp_path: Path, status: int) -> None:
    with OpenAIServer(by_model({"cheap-1": Reply.error(status)})) as server:
        with pytest.raises(LLMError, match=f"HTTP {status}"):
            ask(server.base_url, tmp_path / "s.db", triage_fallback_model="local-small", retry_wait_max=0.01)
    assert {r.body["model"] for r in server.requests} == {"cheap-1"}


def test_without_a_fallback_the_server_fault_is_the_error(tmp_path: Path) -> None:
    with OpenAIServer(by_model({"cheap-1": Reply.error(503)})) as server:
        with pytest.raises(LLMError, match=r"\(cheap-1\) to .* after 2 attempt\(s\): HTTP 503"):
            ask(server.base_url, tmp_path / "s.db", propose_fallback_model="local-small")  # not triage's
    assert len(server.requests) == 2


def test_when_the_fallback_fails_too_both_are_named(tmp_path: Path) -> None:
    failing = {"cheap-1": Reply.error(503), "local-small": Reply.error(502)}
    with OpenAIServer(by_model(failing)) as server:
        with pytest.raises(LLMError) as caught:
            ask(server.base_url, tmp_path / "s.db", triage_fallback_model="local-small")
    message = str(caught.value)
    assert "(cheap-1)" in message and "HTTP 503" in message
    assert "then the fallback model local-small" in message and "HTTP 502" in message
    assert len(server.requests) == 4


def test_draft_uses_the_propose_fallback(tmp_path: Path) -> None:
    with OpenAIServer(by_model({"strong-1": Reply.error(500)})) as server:
        result = ask(
            server.base_url,
            tmp_path / "s.db",
            stage="draft",
            model="strong-1",
            propose_fallback_model="big-2",
        )
    assert result.model == "big-2"


def test_usage_sums_who_answered() -> None:
    stats = CallStats()
    stats.answered("a", fallback=False)
    other = CallStats()
    other.answered("b", fallback=True)
    other.answered("a", fallback=False)
    stats.merge(other)
    usage = LLMUsage()
    usage.add(stats)
    usage.add(stats)
    assert usage.answered_by == {"a": 4, "b": 2} and usage.fallbacks == 2
    assert usage.answered_line() == "a ×4, b ×2"


def _row(outcome: str, *, tokens: int | None = None, cost: float | None = None, attempts: int = 1) -> CallRow:
    return CallRow(
        stage="triage",
        brief="gap",
        model="m",
        template="triage",
        template_hash="h",
        fingerprint="f",
        attempts=attempts,
        outcome=outcome,
        prompt_tokens=tokens,
        completion_tokens=tokens,
        cost_usd=cost,
    )


def test_one_usage_rule_for_the_live_stats_and_the_eval() -> None:
    """A failed exchange is a call with no usage: it adds no tokens and keeps the total priced; a
    cache hit is no call; an answer without a price makes the cost unknown. The live stats and
    eval's usage of the same rows agree."""
    rows = [
        _row("ok", tokens=100, cost=0.5),
        _row("http_error", attempts=3),
        _row("cached", cost=0.0, attempts=0),
        _row("invalid", tokens=10, cost=0.25),
    ]
    stats = CallStats.of(rows)
    assert (stats.calls, stats.cache_hits, stats.attempts) == (3, 1, 5)
    assert (stats.prompt_tokens, stats.completion_tokens) == (110, 110)
    assert stats.unpriced == 0 and stats.priced_cost == 0.75
    usage = usage_of(rows, wall_seconds=1.0)
    assert (usage.calls, usage.prompt_tokens, usage.cost_usd) == (3, 110, 0.75)

    unpriced = [*rows, _row("ok", tokens=5)]  # answered, but its model has no price
    assert CallStats.of(unpriced).unpriced == 1 and CallStats.of(unpriced).priced_cost is None
    assert usage_of(unpriced, wall_seconds=1.0).cost_usd is None


# -- the night's report -----------------------------------------------------------------------------------
def test_the_night_report_says_a_fallback_answered(tmp_path: Path, world) -> None:
    """`briefbot run` (the real binary): triage's model is down (503), its fallback answers; the
    call log, report.json and the printed report say which model answered."""
    import os
    import subprocess
    import sys

    from _pipeline_world import DATE, make_root, responder

    inner = responder()

    def respond(request: Request, n: int) -> Reply:
        if request.body["model"] == "tri-1":
            return Reply.error(503, "overloaded")
        return inner(request, n)

    project = make_root(tmp_path, world)
    feeds = project.root / "feeds.yaml"
    feeds.write_text(
        feeds.read_text(encoding="utf-8")
        + "llm:\n  triage_model: tri-1\n  triage_fallback_model: tri-backup\n  propose_model: pro-1\n"
        "  retry_attempts: 2\n  retry_wait_initial: 0.01\n  retry_wait_max: 0.05\n",
        encoding="utf-8",
    )
    with OpenAIServer(respond) as llm:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFBOT_"))}
        env.update(OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test-key", COLUMNS="200", NO_COLOR="1")
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "briefbot"),
                "--root",
                str(project.root),
                "run",
                "--date",
                DATE,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(next((project.state_dir / "runs").glob("*/report.json")).read_text(encoding="utf-8"))
    assert report["llm"]["answered_by"] == {"tri-backup": 1, "pro-1": 1}
    assert report["llm"]["fallbacks"] == 1
    assert report["llm"]["calls"] == 3  # tri-1's failed exchange is a call too
    assert report["briefs"][0]["llm"]["fallbacks"] == 1
    assert "tri-backup ×1" in done.stdout and "(1 by a fallback model)" in done.stdout
    assert "gap: 1 answer(s) from a fallback model" in done.stdout
    rows = [(r.stage, r.model, r.outcome) for r in calls(project.state_db)]
    assert rows == [
        ("triage", "tri-1", "http_error"),
        ("triage", "tri-backup", "ok"),
        ("propose", "pro-1", "ok"),
    ]
