"""The LLM client against a real local HTTP server speaking the OpenAI API: retries, re-ask, log, cache."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from _llm_client import GOOD, PROMPT, Answer, calls, llm_settings
from _llm_client import ask as ask_with
from _openai_server import OpenAIServer, Reply, free_port_url
from briefbot.errors import ConfigError, LLMError, ReplayMissError
from briefbot.llm import LLMClient, LLMSettings
from briefbot.llm.client import fingerprint, strict_response_format
from briefbot.llm.prompts import RenderedPrompt
from briefbot.models import EditList
from briefbot.store import connect

# Slow enough for a loaded CI machine, retries quick; cheap-1 priced for the cost tests.
TIMING: dict[str, object] = dict(
    timeout=2.0,
    retry_attempts=3,
    retry_wait_initial=0.01,
    retry_wait_max=0.5,
    prices={"cheap-1": {"input": 1.0, "cached_input": 0.5, "output": 2.0}},
)


def settings(base_url: str, **overrides: object) -> LLMSettings:
    return llm_settings(base_url, **(TIMING | overrides))


def ask(base_url: str, db: Path, *, output: type[BaseModel] = Answer, **overrides: object):
    return ask_with(settings(base_url, **overrides), db, output=output)


def test_happy_path_sends_strict_schema_and_logs_the_call(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        result = ask(server.base_url, tmp_path / "s.db")
    assert result.value == Answer(**GOOD) and not result.cached
    [request] = server.requests
    body = request.body
    assert body["model"] == "cheap-1"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    assert body["prompt_cache_key"] == "briefbot:triage:b"
    assert "tools" not in body and "service_tier" not in body
    assert request.headers["authorization"] == "Bearer sk-test"
    [row] = calls(tmp_path / "s.db")
    assert (row.stage, row.brief, row.model, row.outcome, row.attempts) == ("triage", "b", "cheap-1", "ok", 1)
    assert (row.prompt_tokens, row.completion_tokens, row.cached_tokens) == (1000, 100, 400)
    # 600 uncached at $1, 400 cached at $0.5, 100 out at $2 per million tokens.
    assert row.cost_usd == pytest.approx((600 * 1.0 + 400 * 0.5 + 100 * 2.0) / 1e6)
    assert row.template == "test" and row.template_hash == "abc123" and len(row.fingerprint) == 64


def test_edit_list_schema_is_strict_anyof_without_oneof() -> None:
    schema = json.dumps(strict_response_format(EditList))
    assert '"oneOf"' not in schema and '"anyOf"' in schema and '"strict": true' in schema


def test_identical_request_is_served_from_the_cache_without_http(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        first = ask(server.base_url, tmp_path / "s.db")
        second = ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 1
    assert second.cached and second.value == first.value
    assert second.stats.calls == 0 and second.stats.cost_usd == 0
    assert [r.outcome for r in calls(tmp_path / "s.db")] == ["ok", "cached"]


def test_429_with_retry_after_is_honoured_then_succeeds(tmp_path: Path) -> None:
    def responder(req, n):
        return Reply.error(429, "slow down", headers={"Retry-After": "0.3"}) if n == 1 else Reply.json(GOOD)

    with OpenAIServer(responder) as server:
        started = time.monotonic()
        result = ask(server.base_url, tmp_path / "s.db")
        elapsed = time.monotonic() - started
    assert result.value.word == "yes"
    assert len(server.requests) == 2
    assert elapsed >= 0.3  # the server's Retry-After, not the 0.01 s backoff
    [row] = calls(tmp_path / "s.db")
    assert row.attempts == 2 and row.outcome == "ok"


def test_flex_tier_falls_back_to_default_on_its_429(tmp_path: Path) -> None:
    def responder(req, n):
        if req.body.get("service_tier") == "flex":
            return Reply.error(429, "flex capacity", headers={"retry-after-ms": "10"})
        return Reply.json(GOOD)

    with OpenAIServer(responder) as server:
        ask(server.base_url, tmp_path / "s.db", service_tier="flex")
    assert [r.body.get("service_tier") for r in server.requests] == ["flex", None]


def test_500_then_success_counts_attempts(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.error(500) if n <= 2 else Reply.json(GOOD)) as server:
        ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 3
    assert calls(tmp_path / "s.db")[0].attempts == 3


def test_a_200_body_that_is_not_json_is_retried_then_succeeds(tmp_path: Path) -> None:
    junk = Reply(raw_body=b"<html>502 Bad Gateway</html>", headers={"Content-Type": "application/json"})
    with OpenAIServer(lambda req, n: junk if n == 1 else Reply.json(GOOD)) as server:
        result = ask(server.base_url, tmp_path / "s.db")
    assert result.value == Answer(**GOOD)
    assert len(server.requests) == 2


def test_a_body_that_is_never_json_fails_with_a_typed_error(tmp_path: Path) -> None:
    junk = Reply(raw_body=b"not json", headers={"Content-Type": "application/json"})
    with (
        OpenAIServer(lambda req, n: junk) as server,
        pytest.raises(
            LLMError, match=r"after 3 attempt\(s\): _GarbledResponse: the response body is not JSON"
        ),
    ):
        ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 3


def test_persistent_503_stops_after_the_configured_attempts(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.error(503, "overloaded")) as server:
        with pytest.raises(LLMError, match=r"after 3 attempt\(s\): HTTP 503"):
            ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 3
    [row] = calls(tmp_path / "s.db")
    assert (row.outcome, row.attempts, row.result) == ("http_error", 3, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(tmp_path: Path, status: int) -> None:
    with OpenAIServer(lambda req, n: Reply.error(status, "nope")) as server:
        with pytest.raises(LLMError, match=f"HTTP {status}"):
            ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 1


def test_timeout_is_retried_then_succeeds(tmp_path: Path) -> None:
    with OpenAIServer(lambda req, n: Reply.json(GOOD, delay=0.8) if n == 1 else Reply.json(GOOD)) as server:
        result = ask(server.base_url, tmp_path / "s.db", timeout=0.2)
    assert result.value.count == 2
    assert len(server.requests) == 2
    assert calls(tmp_path / "s.db")[0].attempts == 2


def test_connection_refused_is_retried_then_fails_clearly(tmp_path: Path) -> None:
    url = free_port_url()
    with pytest.raises(LLMError, match=r"after 3 attempt\(s\): connection failed"):
        ask(url, tmp_path / "s.db")
    [row] = calls(tmp_path / "s.db")
    assert (row.outcome, row.attempts) == ("http_error", 3)


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(content='{"word": "yes", "count": '), "invalid"),  # malformed JSON
        (Reply.json({"word": "yes", "count": "many"}), "invalid"),  # schema-invalid
        (Reply(content=None, refusal="I can't help with that."), "refusal"),
        (Reply(content='{"word": "y', finish_reason="length"), "length"),
        (Reply(content=None, finish_reason="content_filter"), "content_filter"),
    ],
)
def test_unusable_answer_gets_one_reask_then_a_typed_error(
    tmp_path: Path, reply: Reply, outcome: str
) -> None:
    with OpenAIServer(lambda req, n: reply) as server:
        with pytest.raises(LLMError, match=f"failed after a re-ask: {outcome}"):
            ask(server.base_url, tmp_path / "s.db")
    assert len(server.requests) == 2
    reask = server.requests[1].messages[-1]
    assert reask["role"] == "user" and "could not be used" in reask["content"]
    rows = calls(tmp_path / "s.db")
    assert [(r.ask, r.outcome) for r in rows] == [(1, outcome), (2, outcome)]
    assert all(r.result is None for r in rows)


def test_reask_quotes_the_validation_error_and_recovers(tmp_path: Path) -> None:
    def responder(req, n):
        return Reply.json({"word": "yes", "count": "many"}) if n == 1 else Reply.json(GOOD)

    with OpenAIServer(responder) as server:
        result = ask(server.base_url, tmp_path / "s.db")
    assert result.value == Answer(**GOOD)
    second = server.requests[1].messages
    assert second[-2] == {"role": "assistant", "content": '{"word": "yes", "count": "many"}'}
    assert "count" in second[-1]["content"] and "integer" in second[-1]["content"]
    rows = calls(tmp_path / "s.db")
    assert [(r.ask, r.outcome) for r in rows] == [(1, "invalid"), (2, "ok")]
    # The re-ask's words come from a template too, so its exchange logs that file as well.
    assert [r.template_files for r in rows] == [None, "builtin:reask.user.j2"]


def test_retry_after_ms_wins_over_retry_after(tmp_path: Path) -> None:
    # OpenAI's millisecond header is the finer of the two; the shared reader prefers it.
    slow = {"retry-after-ms": "300", "Retry-After": "0"}
    with OpenAIServer(
        lambda req, n: Reply.error(429, headers=slow) if n == 1 else Reply.json(GOOD)
    ) as server:
        started = time.monotonic()
        ask(server.base_url, tmp_path / "s.db")
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2 and elapsed >= 0.3


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    async def go(base_url: str):
        conn = connect(tmp_path / "s.db")
        try:
            async with LLMClient(settings(base_url, max_concurrency=2), conn=conn) as client:
                prompts = [
                    RenderedPrompt(
                        name="t", template_hash="h", messages=[{"role": "user", "content": str(i)}]
                    )
                    for i in range(6)
                ]
                await asyncio.gather(
                    *(client.structured(p, Answer, stage="triage", brief="b", model="m") for p in prompts)
                )
        finally:
            conn.close()

    active, peak = [0], [0]

    def responder(req, n):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        active[0] -= 1
        return Reply.json(GOOD)

    with OpenAIServer(responder) as server:
        asyncio.run(go(server.base_url))
    assert len(server.requests) == 6 and peak[0] <= 2


def test_settings_from_mapping_and_env() -> None:
    loaded = LLMSettings.load(
        {"triage_model": "a", "service_tier": "flex", "prices": {"a": {"input": 1, "output": 2}}},
        env={"OPENAI_BASE_URL": "http://localhost:11434/v1", "BRIEFBOT_PROPOSE_MODEL": "b"},
    )
    assert (loaded.triage_model, loaded.propose_model, loaded.service_tier) == ("a", "b", "flex")
    assert loaded.base_url == "http://localhost:11434/v1" and loaded.api_key is None
    assert loaded.price("a").cost(prompt_tokens=10**6, completion_tokens=0, cached_tokens=None) == 1.0
    assert "gpt-4.1" in loaded.prices  # defaults kept beside the configured ones
    with pytest.raises(ConfigError, match="llm.api_key"):
        LLMSettings.load({"api_key": "sk-x"}, env={})
    with pytest.raises(ConfigError, match="llm.max_concurrency"):
        LLMSettings.load({"max_concurrency": 0}, env={})


def test_fingerprint_is_canonical() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_calls_are_recorded_and_replayed_through_the_project_http_client(tmp_path: Path) -> None:
    from briefbot.http import HttpSettings

    async def go(base_url: str, db: Path, http: HttpSettings):
        conn = connect(db)
        try:
            async with LLMClient(settings(base_url), conn=conn, http_settings=http) as client:
                return await client.structured(PROMPT, Answer, stage="triage", brief="b", model="cheap-1")
        finally:
            conn.close()

    with OpenAIServer(lambda req, n: Reply.json(GOOD)) as server:
        recorded = asyncio.run(
            go(server.base_url, tmp_path / "a.db", HttpSettings(record_dir=tmp_path / "rec"))
        )
        base_url = server.base_url
    assert not any("sk-test" in p.read_text() for p in (tmp_path / "rec").glob("*.json"))
    # The server is gone: only the recording can answer, and a fresh database has no cache.
    replayed = asyncio.run(go(base_url, tmp_path / "b.db", HttpSettings(replay_dir=tmp_path / "rec")))
    assert replayed.value == recorded.value and not replayed.cached

    other = RenderedPrompt(
        name="test", template_hash="abc123", messages=[{"role": "user", "content": "unrecorded"}]
    )

    async def miss():
        conn = connect(tmp_path / "c.db")
        try:
            async with LLMClient(
                settings(base_url), conn=conn, http_settings=HttpSettings(replay_dir=tmp_path / "rec")
            ) as client:
                await client.structured(other, Answer, stage="triage", brief="b", model="cheap-1")
        finally:
            conn.close()

    # Typed, not wrapped: a broken recording must end a replay, not count as one failed call.
    with pytest.raises(ReplayMissError, match="no recorded exchange for POST"):
        asyncio.run(miss())
    assert calls(tmp_path / "c.db")[0].attempts == 1  # a replay miss is not retried
