"""The LLM client: structured output over the official `openai` SDK, retries, re-ask, call log, cache.

One call = one logical request (stage, brief, messages, output model). It is answered from the
cache when an earlier identical request succeeded; otherwise it is sent with tenacity as the only
retry owner (the SDK gets `max_retries=0`). An answer that is refused, cut off, filtered, or fails
validation gets one re-ask quoting the problem; a second failure is an `LLMError`. Every exchange
is written to `llm_calls` before its answer is used. A client for an endpoint that needs a key it
does not have is refused when made (`ConfigError` naming OPENAI_API_KEY), before any request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx2
import openai
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from briefbot.errors import BriefbotError, LLMError, ReplayMissError
from briefbot.http import HttpSettings, make_client
from briefbot.http.redact import redact, redact_url, url_secrets
from briefbot.http.retry import retry_after_seconds
from briefbot.llm.prompts import Prompts, RenderedPrompt
from briefbot.llm.settings import LLMSettings
from briefbot.store import llm_calls
from briefbot.store.llm_calls import CallRow

__all__ = ["CallResult", "CallStats", "LLMClient"]

M = TypeVar("M", bound=BaseModel)
RETRY_STATUS = frozenset({408, 409, 429})
REASK_TEMPLATE = "reask.user.j2"


def make_http_client(http_settings: HttpSettings | None = None) -> httpx2.AsyncClient:
    """The HTTP client the SDK sends through: the project's one client (record/replay included) in
    its trusted mode, since the endpoint is configuration, not fetched content (a local Ollama works)."""
    return make_client(http_settings, trusted=True)


def strict_response_format(model: type[BaseModel]) -> dict[str, Any]:
    """`response_format` for Chat Completions: the model's strict JSON schema (plain anyOf unions)."""
    return json.loads(_strict_response_format_json(model))  # a fresh copy: callers may change it


@functools.lru_cache(maxsize=64)
def _strict_response_format_json(model: type[BaseModel]) -> str:
    # Generating the schema costs more than the rest of a call's own work; it is the same every time.
    return json.dumps(
        {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "strict": True, "schema": to_strict_json_schema(model)},
        }
    )


def fingerprint(body: dict[str, Any]) -> str:
    """Identity of a request for the answer cache: canonical JSON of what decides the answer."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class CallStats:
    """What calls cost, summed over a stage or a run."""

    calls: int = 0  # exchanges sent over HTTP (re-asks included)
    cache_hits: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # exchanges whose model has no price (or no token counts): cost unknown

    def add(self, row: CallRow) -> None:
        if row.outcome == "cached":
            self.cache_hits += 1
            return
        self.calls += 1
        self.attempts += row.attempts
        self.prompt_tokens += row.prompt_tokens or 0
        self.completion_tokens += row.completion_tokens or 0
        self.cached_tokens += row.cached_tokens or 0
        self.cost_usd += row.cost_usd or 0.0
        self.unpriced += row.cost_usd is None

    def merge(self, other: CallStats) -> CallStats:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class CallResult(Generic[M]):
    value: M
    stats: CallStats
    cached: bool


class _Problem(Exception):
    """An answer that arrived but cannot be used; `kind` is the logged outcome."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _GarbledResponse(Exception):
    """A 200 whose body is not JSON at all: a proxy's error page or a server fault, not an answer."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, _GarbledResponse):
        return True
    if isinstance(exc.__cause__, BriefbotError):
        return False  # our own transport's verdict (replay miss, blocked address): retrying cannot help
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    # APITimeoutError is an APIConnectionError.
    return isinstance(exc, openai.APIConnectionError)


def _retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait; only a status answer carries the headers."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    return retry_after_seconds(exc.response.headers)


class LLMClient:
    """Structured-output calls against one OpenAI-compatible endpoint, logged to `conn`."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        conn: sqlite3.Connection,
        http_client: httpx2.AsyncClient | None = None,
        http_settings: HttpSettings | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        settings.require_key()  # before any client exists: a missing key never reaches the network
        self.settings = settings
        self.conn = conn
        self.prompts = prompts or Prompts(settings.prompts_dir)
        self._http = http_client or make_http_client(http_settings)
        self._owns_http = http_client is None
        self._sdk = openai.AsyncOpenAI(
            # A keyless local server (Ollama, llama.cpp) still needs a non-empty string for the SDK.
            api_key=settings.api_key.get_secret_value() if settings.api_key else "unused",
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=0,  # tenacity below is the one retry owner
            http_client=self._http,
        )
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        # What an error body may echo back (issue 17.9): the key, and the base URL's password, which
        # httpx sends as Basic auth. Every error text is masked before it is logged or raised.
        self._secrets = (
            *([settings.api_key.get_secret_value()] if settings.api_key else []),
            *url_secrets(settings.base_url),
        )
        self.endpoint = redact_url(str(self._sdk.base_url))  # for messages: never the password

    def redact(self, text: str) -> str:
        """`text` without this client's secrets or anything shaped like a credential."""
        return redact(text, self._secrets)

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sdk.close()
        if self._owns_http:
            await self._http.aclose()

    # -- the one public call -----------------------------------------------------------------
    async def structured(
        self,
        prompt: RenderedPrompt,
        output: type[M],
        *,
        stage: str,
        brief: str,
        model: str,
        check: Callable[[M], None] | None = None,
    ) -> CallResult[M]:
        """Ask `model` for an `output`; `check` may raise ValueError to get a re-ask for semantic faults."""
        response_format = strict_response_format(output)
        cache_key = f"briefbot:{stage}:{brief}"
        # service_tier is left out: the same question on another tier has the same answer.
        key = fingerprint(
            {
                "model": model,
                "messages": prompt.messages,
                "response_format": response_format,
                "prompt_cache_key": cache_key,
                "max_completion_tokens": self.settings.max_completion_tokens,
            }
        )
        base = dict(
            stage=stage,
            brief=brief,
            model=model,
            template=prompt.name,
            template_hash=prompt.template_hash,
            template_files=",".join(prompt.template_files) or None,
            fingerprint=key,
        )
        stats = CallStats()

        hit = llm_calls.cached_result(self.conn, key)
        if hit is not None:
            try:
                value = output.model_validate_json(hit)
            except ValidationError:
                value = None  # the output model changed since; ask again
            if value is not None:
                row = CallRow(**base, attempts=0, outcome="cached", cost_usd=0.0)
                llm_calls.record(self.conn, row)
                stats.add(row)
                return CallResult(value=value, stats=stats, cached=True)

        messages = list(prompt.messages)
        async with self._slots:
            for ask in (1, 2):
                completion, attempts, latency, tier = await self._send(
                    messages,
                    model=model,
                    response_format=response_format,
                    cache_key=cache_key,
                    base=base,
                    ask=ask,
                )
                usage = _usage(completion)
                price = self.settings.price(model)
                cost = price.cost(**usage) if price else None
                try:
                    value, content = self._accept(completion, output, check)
                except _Problem as problem:
                    row = CallRow(
                        **base,
                        ask=ask,
                        service_tier=tier,
                        **usage,
                        latency_ms=latency,
                        attempts=attempts,
                        outcome=problem.kind,
                        error=self.redact(str(problem))[:2000],
                        cost_usd=cost,
                    )
                    llm_calls.record(self.conn, row)
                    stats.add(row)
                    if ask == 2:
                        raise LLMError(
                            f"{stage} call for {brief!r} ({model} at {self.endpoint}) failed after a re-ask: "
                            f"{problem.kind}: {self.redact(str(problem))}"
                        ) from None
                    messages = messages + self._reask(completion, problem)
                    # The re-ask is worded by a template of its own: the second exchange used one more file.
                    files = (*prompt.template_files, self.prompts.info(REASK_TEMPLATE).origin)
                    base = {**base, "template_files": ",".join(files)}
                    continue
                row = CallRow(
                    **base,
                    ask=ask,
                    service_tier=tier,
                    **usage,
                    latency_ms=latency,
                    attempts=attempts,
                    outcome="ok",
                    cost_usd=cost,
                    result=content,
                )
                llm_calls.record(self.conn, row)  # logged before the caller sees the answer
                stats.add(row)
                return CallResult(value=value, stats=stats, cached=False)
        raise AssertionError("unreachable")

    # -- internals -----------------------------------------------------------------------------
    async def _send(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        response_format: dict[str, Any],
        cache_key: str,
        base: dict[str, Any],
        ask: int,
    ) -> tuple[Any, int, int, str | None]:
        """One exchange with bounded retries; returns (completion, attempts, latency ms, tier used)."""
        settings = self.settings
        tier: list[str | None] = [settings.service_tier]

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, openai.RateLimitError) and tier[0] not in (None, "default", "auto"):
                tier[0] = None  # flex capacity is short: the next attempt goes to the default tier
            backoff = settings.retry_wait_initial * (2 ** (state.attempt_number - 1))
            asked = _retry_after(exc)
            return min(settings.retry_wait_max, asked if asked is not None else backoff)

        extra: dict[str, Any] = {}
        if settings.max_completion_tokens is not None:
            extra["max_completion_tokens"] = settings.max_completion_tokens
        started = time.monotonic()
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(settings.retry_attempts),
                wait=wait,
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    options = dict(extra)
                    if tier[0] is not None:
                        options["service_tier"] = tier[0]
                    try:
                        # Messages and the schema stay plain dicts, the same ones hashed for the
                        # cache and written to the log; the SDK's TypedDicts would add a second shape.
                        completion = await self._sdk.chat.completions.create(  # type: ignore[call-overload]
                            model=model,
                            messages=messages,
                            response_format=response_format,
                            prompt_cache_key=cache_key,
                            **options,
                        )
                    except json.JSONDecodeError as exc:
                        # The SDK lets this escape; it is the transport's failure, so it is retried.
                        raise _GarbledResponse(
                            f"the response body is not JSON ({exc.msg} at {exc.pos})"
                        ) from None
        except (openai.APIError, httpx2.HTTPError, BriefbotError, _GarbledResponse) as exc:
            # BriefbotError: the project transport's own verdict (replay miss, blocked address).
            latency = int((time.monotonic() - started) * 1000)
            reason = _describe_http_error(exc, self.redact)
            llm_calls.record(
                self.conn,
                CallRow(
                    **base,
                    ask=ask,
                    service_tier=tier[0],
                    latency_ms=latency,
                    attempts=attempts,
                    outcome="http_error",
                    error=reason,
                ),
            )
            if isinstance(exc, ReplayMissError):
                raise  # a broken recording is fatal to a replay, not one failed call
            retried = "" if not _retryable(exc) else f" after {attempts} attempt(s)"
            raise LLMError(
                f"{base['stage']} call for {base['brief']!r} to {self.endpoint}{retried}: {reason}"
            ) from None
        return completion, attempts, int((time.monotonic() - started) * 1000), tier[0]

    def _accept(self, completion: Any, output: type[M], check: Callable[[M], None] | None) -> tuple[M, str]:
        if not completion.choices:
            raise _Problem("invalid", "the response has no choices")
        choice = completion.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise _Problem("refusal", f"the model refused: {message.refusal}")
        if choice.finish_reason == "length":
            raise _Problem("length", "the answer was cut off at the token limit (finish_reason=length)")
        if choice.finish_reason == "content_filter":
            raise _Problem(
                "content_filter", "the answer was withheld by a content filter (finish_reason=content_filter)"
            )
        content = message.content or ""
        try:
            value = output.model_validate_json(content)
        except ValidationError as exc:
            raise _Problem("invalid", _validation_summary(exc)) from None
        if check is not None:
            try:
                check(value)
            except ValueError as exc:
                raise _Problem("invalid", str(exc)) from None
        return value, value.model_dump_json()

    def _reask(self, completion: Any, problem: _Problem) -> list[dict[str, str]]:
        text = self.prompts.render_text(REASK_TEMPLATE, problem=str(problem), kind=problem.kind)
        previous = completion.choices[0].message.content if completion.choices else None
        turns: list[dict[str, str]] = []
        if previous and problem.kind == "invalid":
            turns.append({"role": "assistant", "content": previous})
        turns.append({"role": "user", "content": text})
        return turns


def _usage(completion: Any) -> dict[str, int | None]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return {"prompt_tokens": None, "completion_tokens": None, "cached_tokens": None}
    details = getattr(usage, "prompt_tokens_details", None)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": getattr(details, "cached_tokens", None) if details is not None else None,
    }


def _validation_summary(exc: ValidationError) -> str:
    """The validation errors as a model can act on them: JSON path and message, a few at most."""
    parts = []
    for error in exc.errors(include_url=False)[:8]:
        loc = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{loc}: {error['msg']}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _describe_http_error(exc: BaseException, redact: Callable[[str], str]) -> str:
    """The failure in one line, masked before it is cut (a cut secret would still be half a secret)."""
    if isinstance(exc, openai.APIStatusError):
        detail = exc.message if isinstance(exc.message, str) else str(exc)
        return f"HTTP {exc.status_code}: {redact(detail)[:300]}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, BriefbotError):
            return redact(f"{type(cause).__name__}: {cause}")
        return redact(f"connection failed: {cause or exc}")
    return redact(f"{type(exc).__name__}: {exc}")[:500]
