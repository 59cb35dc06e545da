"""Record a session against live local servers, stop them, and replay it from the folder alone."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import openai
import pytest
from werkzeug import Request, Response

from _http_servers import gzip_gzip_bomb, local_server, local_settings
from briefbot.errors import FetchError, ReplayMissError
from briefbot.http import FetchResult, Validators, fetch, make_client


def run(coro):
    return asyncio.run(coro)


def _feed_server_routes(server) -> None:
    counter = {"n": 0}

    def counting(request: Request) -> Response:
        counter["n"] += 1  # repeated identical requests get different answers: replay keeps the order
        return Response(f"call {counter['n']}", content_type="text/plain")

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response("<rss>v1</rss>", headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    server.expect_request("/count").respond_with_handler(counting)
    server.expect_request("/feed").respond_with_handler(conditional)
    server.expect_request("/gz").respond_with_data(
        gzip.compress(b"<html>compressed page</html>"),
        headers={"Content-Encoding": "gzip"},
        content_type="text/html",
    )
    server.expect_request("/moved").respond_with_data("", status=301, headers={"Location": "/feed"})
    server.expect_request("/fail").respond_with_data("nope", status=500)
    server.expect_request("/big").respond_with_data(b"x" * 1_500_000)  # over the raw cap
    server.expect_request("/bomb").respond_with_data(
        gzip_gzip_bomb(16 * 1024 * 1024), headers={"Content-Encoding": "gzip, gzip"}
    )


async def _session(base: str, settings) -> list[object]:
    """A mixed session; each outcome is a FetchResult's comparable fields or the error raised."""
    outcomes: list[object] = []
    async with make_client(settings) as client:
        for path, validators in [
            ("/count", None),
            ("/count", None),
            ("/feed", None),
            ("/feed", Validators(etag='"v1"')),
            ("/gz", None),
            ("/moved", None),
            ("/fail", None),
            ("/big", None),
            ("/bomb", None),
        ]:
            try:
                result: FetchResult = await fetch(client, base + path, validators=validators)
                outcomes.append(result.model_dump(exclude={"elapsed"}))
            except FetchError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes


def test_record_then_replay_with_server_stopped_gives_identical_results(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    with local_server() as server:
        _feed_server_routes(server)
        base = f"http://127.0.0.1:{server.port}"
        live = run(_session(base, local_settings(record_dir=folder, max_bytes=1_000_000)))
    # The server is gone; replay must not need it (and must not try the network).
    replayed = run(_session(base, local_settings(replay_dir=folder, max_bytes=1_000_000)))
    assert replayed == live
    assert live[0]["body"] == b"call 1" and live[1]["body"] == b"call 2"
    assert live[3]["not_modified"] is True
    assert live[4]["body"] == b"<html>compressed page</html>"
    assert str(live[6]).startswith("FetchStatusError") and "HTTP 500" in str(live[6])
    assert "size cap of 1000000" in str(live[7]) and "size cap of 1000000" in str(live[8])
    # One readable JSON per exchange (+ body file); the 301 hop is its own exchange.
    records = sorted(folder.glob("*.json"))
    assert len(records) == 10
    first = json.loads(records[0].read_text())
    assert {"fingerprint", "request", "response"} <= first.keys()


def test_replay_miss_names_method_and_url(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    with local_server() as server:
        server.expect_request("/a").respond_with_data("a")
        base = f"http://127.0.0.1:{server.port}"
        run(_session_single(base + "/a", local_settings(record_dir=folder)))
    with pytest.raises(ReplayMissError, match=rf"GET {base}/b"):
        run(_session_single(base + "/b", local_settings(replay_dir=folder)))

    # A second identical request was never recorded either.
    async def twice() -> None:
        async with make_client(local_settings(replay_dir=folder)) as client:
            await fetch(client, base + "/a")
            await fetch(client, base + "/a")

    with pytest.raises(ReplayMissError, match="holds only 1"):
        run(twice())


async def _session_single(url: str, settings) -> bytes:
    async with make_client(settings) as client:
        return (await fetch(client, url)).body


def test_recorded_timeout_replays_as_a_timeout(tmp_path: Path) -> None:
    import time

    folder = tmp_path / "rec"

    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response("late")

    with local_server() as server:
        server.expect_request("/slow").respond_with_handler(slow)
        url = f"http://127.0.0.1:{server.port}/slow"
        with pytest.raises(FetchError, match="timed out") as live:
            run(_session_single(url, local_settings(record_dir=folder, read_timeout=0.2)))
    with pytest.raises(FetchError, match="timed out") as replayed:
        run(_session_single(url, local_settings(replay_dir=folder)))
    assert str(replayed.value) == str(live.value)


def _chat_completion(content: str) -> dict[str, object]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "tiny-local",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


async def _ask(base_url: str, settings, question: str) -> str:
    async with make_client(settings, trusted=True) as http_client:
        llm = openai.AsyncOpenAI(
            base_url=base_url, api_key="sk-test-secret", http_client=http_client, max_retries=0
        )
        reply = await llm.chat.completions.create(
            model="tiny-local", messages=[{"role": "user", "content": question}], temperature=0
        )
        return reply.choices[0].message.content or ""


def test_openai_sdk_records_and_replays_through_the_trusted_client(tmp_path: Path) -> None:
    folder = tmp_path / "rec"

    def answer(request: Request) -> Response:
        asked = request.get_json()["messages"][-1]["content"]
        return Response(json.dumps(_chat_completion(f"echo: {asked}")), content_type="application/json")

    # Private networks are NOT allowed: the trusted client still reaches the local LLM server.
    with local_server() as server:
        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
        base_url = f"http://127.0.0.1:{server.port}/v1"
        settings = local_settings(allow_private_networks=False, record_dir=folder)
        live = run(_ask(base_url, settings, "what changed?"))
    assert live == "echo: what changed?"
    recorded = next(folder.glob("*.json")).read_text()
    assert "sk-test-secret" not in recorded  # credentials never reach the recording
    assert "what changed?" in recorded  # the request body is readable JSON
    replay = local_settings(allow_private_networks=False, replay_dir=folder)
    assert run(_ask(base_url, replay, "what changed?")) == live
    # The SDK lets non-httpx errors through unwrapped, so the miss reaches the caller as itself.
    with pytest.raises(ReplayMissError) as caught:
        run(_ask(base_url, replay, "something else"))
    assert f"POST {base_url}/chat/completions" in str(caught.value)
