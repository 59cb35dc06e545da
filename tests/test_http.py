"""The HTTP client against real local servers: conditional GET, errors, caps, retries, politeness."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import time
import zlib
from pathlib import Path

import httpx2
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from _http_servers import gzip_gzip_bomb, local_server, local_settings
from briefbot.errors import FetchError
from briefbot.http import FetchStatusError, HttpSettings, Validators, fetch, make_client
from briefbot.http.decode import BoundedDecoder
from briefbot.http.retry import retry_after_seconds
from briefbot.store import connect
from briefbot.store.http_cache import load_validators, save_validators


def run(coro):
    return asyncio.run(coro)


async def _get(url: str, settings: HttpSettings, **kwargs):
    async with make_client(settings) as client:
        return await fetch(client, url, **kwargs)


def test_plain_get_reports_status_headers_and_sends_honest_user_agent(httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return Response("<rss/>", content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(handler)
    result = run(_get(httpserver.url_for("/feed"), local_settings()))
    assert (result.status, result.body, result.not_modified) == (200, b"<rss/>", False)
    assert result.content_type.startswith("application/rss+xml")
    assert result.final_url == httpserver.url_for("/feed")
    assert seen[0].startswith("briefbot/") and "+http" in seen[0]


def _conditional_handler(etag: str | None, last_modified: str | None, hits: list[dict[str, str]]):
    def handler(request: Request) -> Response:
        hits.append(dict(request.headers))
        fresh = (etag and request.headers.get("If-None-Match") == etag) or (
            last_modified and request.headers.get("If-Modified-Since") == last_modified
        )
        headers = {}
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if fresh:
            return Response(status=304, headers=headers)
        return Response("<feed>v1</feed>", headers=headers, content_type="application/atom+xml")

    return handler


@pytest.mark.parametrize(
    ("etag", "last_modified", "sent_header"),
    [('"abc123"', None, "If-None-Match"), (None, "Wed, 21 Oct 2026 07:28:00 GMT", "If-Modified-Since")],
)
def test_conditional_get_round_trip_through_sqlite(
    httpserver: HTTPServer, tmp_path: Path, etag: str | None, last_modified: str | None, sent_header: str
) -> None:
    hits: list[dict[str, str]] = []
    httpserver.expect_request("/feed").respond_with_handler(_conditional_handler(etag, last_modified, hits))
    url = httpserver.url_for("/feed")
    conn = connect(tmp_path / "state.db")

    async def conditional(client):
        # What collect does: load the stored validators, fetch with them, store what came back.
        result = await fetch(client, url, validators=load_validators(conn, url))
        save_validators(conn, url, result.validators)
        return result

    async def twice():
        async with make_client(local_settings()) as client:
            return await conditional(client), await conditional(client)

    try:
        first, second = run(twice())
        stored = load_validators(conn, url)
    finally:
        conn.close()
    assert first.status == 200 and first.body == b"<feed>v1</feed>" and not first.not_modified
    assert sent_header not in hits[0]
    assert hits[1][sent_header] == (etag or last_modified)
    assert second.status == 304 and second.not_modified and second.body == b""
    assert stored == Validators(etag=etag, last_modified=last_modified)


def test_server_error_is_a_fetch_status_error_naming_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    with pytest.raises(FetchStatusError) as caught:
        run(_get(httpserver.url_for("/broken"), local_settings()))
    assert caught.value.status == 500
    assert httpserver.url_for("/broken") in str(caught.value)


def test_read_timeout_is_a_fetch_error(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out") as caught:
        run(_get(httpserver.url_for("/slow"), local_settings(read_timeout=0.2)))
    assert time.monotonic() - started < 0.9
    assert "/slow" in str(caught.value)


def test_total_timeout_bounds_a_trickling_response(httpserver: HTTPServer) -> None:
    def trickle(request: Request) -> Response:
        def body():
            for _ in range(10):
                time.sleep(0.1)
                yield b"x"

        return Response(body(), content_type="text/plain")

    httpserver.expect_request("/trickle").respond_with_handler(trickle)
    with pytest.raises(FetchError, match="total timeout"):
        run(_get(httpserver.url_for("/trickle"), local_settings(read_timeout=0.5, total_timeout=0.35)))


def test_ten_megabyte_body_stops_at_the_default_cap(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 10_000_000)
    settings = local_settings()
    assert settings.max_bytes < 10_000_000  # the default cap is what is under test
    with pytest.raises(FetchError, match=f"size cap of {settings.max_bytes} bytes") as caught:
        run(_get(httpserver.url_for("/big"), settings))
    assert "/big" in str(caught.value)


def test_gzip_gzip_bomb_stops_at_the_cap(httpserver: HTTPServer) -> None:
    bomb = gzip_gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 10_000
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(FetchError, match="decoded body exceeds the size cap of 1000000 bytes"):
        run(_get(httpserver.url_for("/bomb"), local_settings(max_bytes=1_000_000)))


def test_stacked_encodings_decode_when_within_the_cap(httpserver: HTTPServer) -> None:
    payload = b"<rss>" + b"item " * 1000 + b"</rss>"
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(gzip.compress(payload)), headers={"Content-Encoding": "gzip, gzip"}
    )
    assert run(_get(httpserver.url_for("/gz"), local_settings())).body == payload


def test_retry_after_on_429_is_honoured_up_to_the_cap(httpserver: HTTPServer) -> None:
    times: list[float] = []

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "4"})
        return Response("ok")

    httpserver.expect_request("/limited").respond_with_handler(handler)
    # Retry-After says 4 s, the cap says 0.6 s, the default backoff 0.01 s: the gap shows which won
    # (margins wide enough for server-side timestamps on a loaded machine).
    result = run(_get(httpserver.url_for("/limited"), local_settings(retry_wait_cap=0.6)))
    assert result.body == b"ok" and len(times) == 2
    assert 0.45 <= times[1] - times[0] < 2.5


def test_503_retries_are_bounded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("busy", status=503, headers={"Retry-After": "0"})
    with pytest.raises(FetchStatusError) as caught:
        run(_get(httpserver.url_for("/down"), local_settings(max_retries=2)))
    assert caught.value.status == 503
    assert str(caught.value) == f"{httpserver.url_for('/down')}: HTTP 503"
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "120"}, 120.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after": "Mon, 01 Jan 2024 00:00:30 GMT"}, 30.0),  # an HTTP date, 30 s after `now`
        ({"retry-after": "Sun, 31 Dec 2023 23:59:00 GMT"}, 0.0),  # already past
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # OpenAI's header wins
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": "-5"}, 0.0),  # never negative
        ({"retry-after": "whenever"}, None),  # garbage: the caller's own backoff applies
        ({"retry-after": ""}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds_reads_seconds_dates_and_millis(
    headers: dict[str, str], seconds: float | None
) -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert retry_after_seconds(headers, now=now) == seconds


def test_retry_after_seconds_reads_response_headers_in_any_case() -> None:
    assert retry_after_seconds(httpx2.Headers({"Retry-After": "7"})) == 7.0


def test_redirects_are_followed_and_capped(httpserver: HTTPServer) -> None:
    for n in range(7):
        httpserver.expect_request(f"/r{n}").respond_with_data(
            "", status=302, headers={"Location": f"/r{n + 1}"}
        )
    httpserver.expect_request("/r7").respond_with_data("end")
    ok = run(_get(httpserver.url_for("/r3"), local_settings()))
    assert ok.body == b"end" and ok.final_url == httpserver.url_for("/r7") and len(ok.redirects) == 4
    with pytest.raises(FetchError, match="more than 5 redirects"):
        run(_get(httpserver.url_for("/r0"), local_settings()))


def test_non_http_schemes_are_refused() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x"):
        with pytest.raises(FetchError, match="only http and https"):
            run(_get(url, local_settings()))


def test_redirect_to_a_file_url_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/to-file").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(FetchError, match="only http and https"):
        run(_get(httpserver.url_for("/to-file"), local_settings()))


def test_per_host_concurrency_is_bounded() -> None:
    import threading

    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Response("ok")

    async def many(url: str) -> None:
        async with make_client(local_settings(per_host_concurrency=2)) as client:
            await asyncio.gather(*(fetch(client, f"{url}?n={n}") for n in range(8)))

    with local_server(threaded=True) as server:
        server.expect_request("/p").respond_with_handler(handler)
        run(many(server.url_for("/p")))
    assert state["peak"] == 2


def test_min_interval_spaces_request_starts_to_one_host() -> None:
    starts: list[float] = []

    def handler(request: Request) -> Response:
        starts.append(time.monotonic())
        return Response("ok")

    async def three(url: str) -> None:
        async with make_client(local_settings(per_host_min_interval=0.5)) as client:
            await asyncio.gather(*(fetch(client, f"{url}?n={n}") for n in range(3)))

    with local_server(threaded=True) as server:
        server.expect_request("/i").respond_with_handler(handler)
        run(three(server.url_for("/i")))
    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False)]
    # Arrival times are measured on the server, so thread scheduling on a loaded 2-core CI machine
    # shifts each by some tens of ms; the margin is wide enough for that and far above zero spacing.
    assert len(gaps) == 2 and min(gaps) >= 0.35


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("deflate", zlib.compress),  # zlib framing, as the RFC says
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("gzip", lambda data: gzip.compress(data[:300]) + gzip.compress(data[300:])),  # two members
        ("identity", lambda data: data),
    ],
)
def test_bounded_decoder_handles_real_world_encodings(encoding: str, encode) -> None:
    payload = b"<p>" + b"text " * 5000 + b"</p>"
    decoder = BoundedDecoder(encoding, cap=len(payload), url="http://x/")
    wire = encode(payload)
    # Byte by byte: the worst chunking a server can choose.
    out = b"".join(piece for i in range(len(wire)) for piece in decoder.decode(wire[i : i + 1]))
    assert out + b"".join(decoder.finish()) == payload


def test_bounded_decoder_refuses_unknown_and_corrupt_bodies() -> None:
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        BoundedDecoder("br", cap=10, url="http://x/")
    with pytest.raises(FetchError, match="http://x/: corrupt compressed body"):
        list(BoundedDecoder("gzip", cap=10, url="http://x/").decode(b"not gzip at all"))


def test_waiting_for_a_busy_host_is_not_a_timeout(httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        time.sleep(0.1)
        return Response("ok")

    httpserver.expect_request("/q").respond_with_handler(handler)

    async def queued() -> list[bytes]:
        # One slot, five requests: the last waits ~0.4 s for the host, longer than total_timeout.
        async with make_client(local_settings(per_host_concurrency=1, total_timeout=0.35)) as client:
            results = await asyncio.gather(
                *(fetch(client, httpserver.url_for(f"/q?n={n}")) for n in range(5))
            )
        return [r.body for r in results]

    assert run(queued()) == [b"ok"] * 5
