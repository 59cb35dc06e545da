"""The one HTTP client every stage uses: safe transport, caps, politeness, record/replay.

API (stable):

    settings = HttpSettings(record_dir=..., replay_dir=..., max_bytes=..., ...)   # pydantic
    async with make_client(settings) as client:               # fetched URLs (feeds, search, pages)
        result = await fetch(client, url, validators=Validators(etag=..., last_modified=...))
        result.status, result.final_url, result.headers, result.body, result.elapsed
        result.not_modified      # True on 304: body is b"", nothing to parse
        result.validators        # what to store for the next conditional GET
    llm_http = make_client(settings, trusted=True)            # the configured LLM endpoint
    openai.AsyncOpenAI(base_url=..., http_client=llm_http, max_retries=0)

`fetch` raises `FetchError` (timeout, network, size cap, too many redirects, non-http scheme),
`FetchStatusError` (a FetchError with `.status`, for a final status >= 400), `BlockedAddressError`
(an address the client's policy refuses, naming URL, address and reason) and `ReplayMissError`
(replay lacks the request).
Validators persist in SQLite through `briefbot.store.http_cache` (`load_validators`,
`save_validators`): the caller loads them, passes them to fetch(), and saves what it returns.

Transport chain, top to bottom (the client itself never follows redirects; fetch() does):
    ReplayTransport                                   (replay: nothing below it, never the network)
    RecordingTransport -> NetworkTransport(GuardedBackend)                           (live/record)
Per-host politeness (at most `per_host_concurrency` in flight, `per_host_min_interval` between
starts) is applied by fetch() per hop through the client's HostGates, so use fetch() for fetched
URLs; `total_timeout` bounds each hop from the moment its host slot is free.
Address policies (`briefbot.http.net.AddressPolicy`, reasons in that module's docstring): fetched
URLs reach public addresses only; `allow_private_networks` adds private networks but never
link-local. `trusted=True` skips the public-address rule and the raw size cap but keeps
record/replay, so a local LLM server (Ollama on localhost) works without lifting the rule for
fetched URLs, and LLM exchanges are recorded and replayed like everything else. Cloud metadata
addresses (169.254.169.254, fd00:ec2::254, ... in any IPv6 form) are refused by every client
whatever the settings, the trusted one and `allow_addresses` included. Retries of 429/503 live in
fetch() only: the LLM client owns its own retries (one retry owner per call).

Record/replay (`HttpSettings(record_dir=DIR)` / `replay_dir=DIR`, exclusive): one JSON file per
exchange plus its raw body file, named `<fingerprint>-<seq>` (see `briefbot.http.record`). The fingerprint
is method + URL + conditional headers + canonical JSON body, never auth or SDK bookkeeping headers,
and credentials are never written. Transport errors and bodies cut short (timeout, size cap)
replay as the same error. The openai SDK re-raises non-httpx exceptions as they are, so a replay
miss on an LLM call reaches its caller as `ReplayMissError`; recorded httpx timeouts and connection
errors reach it as the SDK's own APITimeoutError / APIConnectionError, exactly as they did live.

`allow_addresses=("127.0.0.1:PORT",)` exempts one local server from the public-address rule; it
exists for tests (a "public" site redirecting to loopback) and has no place in production config.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any, NamedTuple

import anyio
import httpx2
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from briefbot.errors import FetchError
from briefbot.http.decode import BoundedDecoder
from briefbot.http.net import AddressPolicy, HostGates, NetworkTransport
from briefbot.http.record import RecordingTransport, ReplayTransport
from briefbot.http.retry import retry_after_seconds
from briefbot.http.settings import HttpSettings
from briefbot.http.types import FetchResult, FetchStatusError, Validators

_REDIRECTS = {301, 302, 303, 307, 308}

__all__ = [
    "FetchResult",
    "FetchStatusError",
    "HttpSettings",
    "SafeClient",
    "Validators",
    "fetch",
    "make_client",
]


class SafeClient(httpx2.AsyncClient):
    """An httpx2.AsyncClient that also carries its HttpSettings and per-host gates (used by fetch())."""

    def __init__(self, *, settings: HttpSettings, trusted: bool, replaying: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.trusted = trusted
        # Replay touches no host, so it waits for none.
        self.gates: HostGates | None = (
            None
            if replaying
            else HostGates(
                concurrency=settings.per_host_concurrency, min_interval=settings.per_host_min_interval
            )
        )


def make_client(settings: HttpSettings | None = None, *, trusted: bool = False) -> SafeClient:
    """Build the client for fetched URLs, or with `trusted=True` for the configured LLM endpoint."""
    settings = settings or HttpSettings()
    transport: httpx2.AsyncBaseTransport
    if settings.replay_dir is not None:
        transport = ReplayTransport(settings.replay_dir)
    else:
        if trusted:
            policy = AddressPolicy.TRUSTED
        elif settings.allow_private_networks:
            policy = AddressPolicy.PRIVATE
        else:
            policy = AddressPolicy.PUBLIC
        transport = NetworkTransport(
            policy=policy,
            allowed=settings.allowed_pairs(),
            max_connections=settings.max_connections,
            raw_cap=None if trusted else settings.max_bytes,
        )
        if settings.record_dir is not None:
            transport = RecordingTransport(transport, settings.record_dir)
    headers = {"User-Agent": settings.user_agent}
    if not trusted:
        # Only encodings BoundedDecoder can undo within the cap.
        headers["Accept-Encoding"] = "gzip, deflate"
    timeout = httpx2.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.total_timeout,
    )
    return SafeClient(
        settings=settings,
        trusted=trusted,
        replaying=settings.replay_dir is not None,
        transport=transport,
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        max_redirects=settings.max_redirects,
        trust_env=False,  # env proxies would connect to the proxy, around the address rule
    )


async def _read_body(response: httpx2.Response, *, cap: int, url: str) -> bytes:
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""), cap=cap, url=url)
    parts: list[bytes] = []
    async for chunk in response.aiter_raw():
        parts.extend(decoder.decode(chunk))
    parts.extend(decoder.finish())
    return b"".join(parts)


class _Hop(NamedTuple):
    status: int
    headers: httpx2.Headers
    body: bytes
    next_request: httpx2.Request | None


async def _hop(client: httpx2.AsyncClient, request: httpx2.Request, settings: HttpSettings) -> _Hop:
    """Send one request and, for a final 2xx/3xx answer, read its body within the cap."""
    gates = client.gates if isinstance(client, SafeClient) else None
    async with gates.slot(request.url) if gates is not None else nullcontext():
        # The clock starts once this host has a free slot: queueing behind a busy host is no timeout.
        try:
            with anyio.fail_after(settings.total_timeout):
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    status = response.status_code
                    read = status < 300 and status != 204
                    body = (
                        await _read_body(response, cap=settings.max_bytes, url=str(request.url))
                        if read
                        else b""
                    )
                    return _Hop(status, response.headers, body, response.next_request)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise FetchError(
                f"{request.url}: no complete response within the total timeout of {settings.total_timeout}s"
            ) from None


class _Busy(Exception):
    """A retryable status (429, 503): asked again after `wait` seconds while attempts remain."""

    def __init__(self, status: int, wait: float) -> None:
        super().__init__(status, wait)
        self.status, self.wait = status, wait


def _wait_asked(state: RetryCallState) -> float:
    busy = state.outcome.exception() if state.outcome else None
    return busy.wait if isinstance(busy, _Busy) else 0.0


async def _fetch_once(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], settings: HttpSettings, started: float
) -> FetchResult:
    """One attempt including redirects; raises `_Busy` for a retryable status."""
    request = client.build_request("GET", url, headers=headers)
    redirects: list[str] = []
    while True:
        if request.url.scheme not in ("http", "https"):
            raise FetchError(f"{request.url}: only http and https URLs are fetched (redirected from {url})")
        hop = await _hop(client, request, settings)
        if hop.status in _REDIRECTS and hop.next_request is not None:
            if len(redirects) >= settings.max_redirects:
                raise FetchError(f"{url}: more than {settings.max_redirects} redirects")
            request = hop.next_request
            redirects.append(str(request.url))
            continue
        if hop.status in settings.retry_statuses:
            asked = retry_after_seconds(hop.headers)
            wait = settings.retry_backoff if asked is None else asked
            raise _Busy(hop.status, min(wait, settings.retry_wait_cap))
        if hop.status >= 400:
            raise FetchStatusError(str(request.url), hop.status)
        headers_out = {k.lower(): v for k, v in hop.headers.items()}
        return FetchResult(
            url=url,
            final_url=str(request.url),
            status=hop.status,
            headers=headers_out,
            body=hop.body,
            elapsed=time.monotonic() - started,
            not_modified=hop.status == 304,
            validators=Validators(
                etag=headers_out.get("etag"), last_modified=headers_out.get("last-modified")
            ),
            redirects=redirects,
        )


async def fetch(
    client: httpx2.AsyncClient,
    url: str,
    *,
    validators: Validators | None = None,
    headers: dict[str, str] | None = None,
) -> FetchResult:
    """GET `url` safely: redirects (max N, each hop checked), 429/503 retries, decoded-size cap.

    With `validators`, sends If-None-Match / If-Modified-Since; a 304 gives `not_modified=True`,
    an empty body and the validators to keep (the sent ones where the 304 carries none).
    """
    settings = client.settings if isinstance(client, SafeClient) else HttpSettings()
    request_headers = dict(headers or {})
    if validators is not None:
        if validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
    started = time.monotonic()
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(settings.max_retries + 1),
            wait=_wait_asked,
            retry=retry_if_exception_type(_Busy),
            sleep=anyio.sleep,
            reraise=True,
        ):
            with attempt:
                outcome = await _fetch_once(client, url, request_headers, settings, started)
    except _Busy as exc:
        raise FetchStatusError(url, exc.status) from None
    except httpx2.TimeoutException as exc:
        raise FetchError(f"{url}: timed out ({type(exc).__name__}: {exc or 'no detail'})") from exc
    except httpx2.TransportError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
    except httpx2.InvalidURL as exc:
        raise FetchError(f"{url}: invalid URL ({exc})") from exc
    if outcome.not_modified and validators is not None:
        outcome.validators = Validators(
            etag=outcome.validators.etag or validators.etag,
            last_modified=outcome.validators.last_modified or validators.last_modified,
        )
    return outcome
