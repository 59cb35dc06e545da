"""The LLM client: structured output over the official `openai` SDK, retries, re-ask, call log, cache.

One call = one logical request (stage, brief, messages, output model). It is answered from the
cache when an earlier identical request succeeded; otherwise it is sent with tenacity as the only
retry owner (the SDK gets `max_retries=0`). An answer that is refused, cut off, filtered, or fails
validation gets one re-ask quoting the problem; a second failure is an `LLMError`. Every exchange
is written to `llm_calls` before its answer is used. A client for an endpoint that needs a key it
does not have is refused when made (`ConfigError` naming OPENAI_API_KEY), before any request.

How the answer's shape is asked for is the stage's output mode (`briefbot.llm.output`); the answer
is validated the same way in every mode. When a stage's model spends its retry budget on server
faults, the stage's fallback model, if configured, is asked instead, and the result says which
model answered. Error texts are masked for secrets (`briefbot.http.redact`) before they are logged
or raised.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2
import openai
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from briefbot.errors import BriefbotError, LLMError, ReplayMissError
from briefbot.http import HttpSettings, make_client
from briefbot.http.redact import redact, redact_url, url_secrets
from briefbot.llm._faults import (
    ServerGaveUp,
    _GarbledResponse,
    describe_http_error,
    retry_after,
    retryable,
    server_fault,
)
from briefbot.llm.output import (
    SCHEMA_TEMPLATE,
    extract_json_object,
    schema_text,
    strict_response_format,
)
from briefbot.llm.output import response_format as output_format
from briefbot.llm.prompts import Prompts, RenderedPrompt
from briefbot.llm.settings import LLMSettings
from briefbot.llm.stats import FAILED, CallResult, CallStats
from briefbot.store import llm_calls
from briefbot.store.llm_calls import CallRow

__all__ = ["CallResult", "CallStats", "LLMClient", "strict_response_format"]

M = TypeVar("M", bound=BaseModel)
REASK_TEMPLATE = "reask.user.j2"


def make_http_client(http_settings: HttpSettings | None = None) -> httpx2.AsyncClient:
    """The HTTP client the SDK sends through: the project's one client (record/replay included) in
    its trusted mode, since the endpoint is configuration, not fetched content (a local Ollama works)."""
    return make_client(http_settings, trusted=True)


def fingerprint(body: dict[str, Any]) -> str:
    """Identity of a request for the answer cache: canonical JSON of what decides the answer."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Problem(Exception):
    """An answer that arrived but cannot be used; `kind` is the logged outcome."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


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
        """Ask `model` for an `output`; `check` may raise ValueError to get a re-ask for semantic faults.

        When `model` spends its retry budget on server errors or timeouts and the stage has a
        fallback model (`llm.<stage>_fallback_model`), the fallback is asked the same question."""
        # One question, one running tally, asked of the model and then perhaps of its fallback.
        ask = functools.partial(
            self._ask_model, prompt, output, stage=stage, brief=brief, check=check, stats=CallStats()
        )
        try:
            return await ask(model=model)
        except ServerGaveUp as failed:
            fallback = self.settings.fallback_for(stage)
            if not fallback or fallback == model:
                raise LLMError(str(failed)) from None
            try:
                return await ask(model=fallback, fallback=True)
            except LLMError as also:
                raise LLMError(f"{failed}; then the fallback model {fallback}: {also}") from None

    async def _ask_model(
        self,
        prompt: RenderedPrompt,
        output: type[M],
        *,
        stage: str,
        brief: str,
        model: str,
        check: Callable[[M], None] | None,
        stats: CallStats,
        fallback: bool = False,
    ) -> CallResult[M]:
        mode = self.settings.output_mode_for(stage)
        response_format = output_format(output, mode)
        messages = list(prompt.messages)
        files = prompt.template_files
        if mode == "json_object":
            messages = self._with_schema(messages, output)
            files = (*files, self.prompts.info(SCHEMA_TEMPLATE).origin)
        cache_key = f"briefbot:{stage}:{brief}"
        # service_tier is left out: the same question on another tier has the same answer. In the
        # default mode these are the very fields hashed since the first recording (replays hold).
        key = fingerprint(
            {
                "model": model,
                "messages": messages,
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
            template_files=",".join(files) or None,
            fingerprint=key,
        )

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
                stats.answered(model, fallback=fallback)
                return CallResult(value=value, stats=stats, cached=True, model=model, fallback=fallback)

        async with self._slots:
            for ask in (1, 2):
                completion, attempts, latency, tier = await self._send(
                    messages,
                    model=model,
                    response_format=response_format,
                    cache_key=cache_key,
                    base=base,
                    ask=ask,
                    stats=stats,
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
                            f"{_call_name(stage, brief)} ({model} at {self.endpoint}) failed after a re-ask: "
                            f"{problem.kind}: {self.redact(str(problem))}"
                        ) from None
                    messages = messages + self._reask(completion, problem)
                    # The re-ask is worded by a template of its own: the second exchange used one more file.
                    files = (*files, self.prompts.info(REASK_TEMPLATE).origin)
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
                stats.answered(model, fallback=fallback)
                return CallResult(value=value, stats=stats, cached=False, model=model, fallback=fallback)
        raise AssertionError("unreachable")

    def _with_schema(self, messages: list[dict[str, str]], output: type[BaseModel]) -> list[dict[str, str]]:
        """json_object mode: the schema joins the system message (a second system message, or one
        after the user's, trips some servers' chat templates)."""
        text = self.prompts.render_text(
            SCHEMA_TEMPLATE, schema=schema_text(output), model_name=output.__name__
        )
        if messages and messages[0]["role"] == "system":
            first = messages[0]
            return [{**first, "content": first["content"].rstrip("\n") + "\n\n" + text}, *messages[1:]]
        return [{"role": "system", "content": text}, *messages]

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
        stats: CallStats,
    ) -> tuple[Any, int, int, str | None]:
        """One exchange with bounded retries; returns (completion, attempts, latency ms, tier used)."""
        settings = self.settings
        tier: list[str | None] = [settings.service_tier]

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, openai.RateLimitError) and tier[0] not in (None, "default", "auto"):
                tier[0] = None  # flex capacity is short: the next attempt goes to the default tier
            backoff = settings.retry_wait_initial * (2 ** (state.attempt_number - 1))
            asked = retry_after(exc)
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
                retry=retry_if_exception(retryable),
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
                        completion = await self._sdk.chat.completions.create(  # type: ignore[call-overload]  # plain dicts, see above
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
            reason = describe_http_error(exc, self.redact)
            failed = CallRow(
                **base,
                ask=ask,
                service_tier=tier[0],
                latency_ms=latency,
                attempts=attempts,
                outcome=FAILED,
                error=reason,
            )
            llm_calls.record(self.conn, failed)
            stats.add(failed)  # a call all the same: a fallback model's answer reports it too
            if isinstance(exc, ReplayMissError):
                raise  # a broken recording is fatal to a replay, not one failed call
            retried = "" if not retryable(exc) else f" after {attempts} attempt(s)"
            gave_up = ServerGaveUp if server_fault(exc) else LLMError
            raise gave_up(
                f"{_call_name(base['stage'], base['brief'])} ({base['model']}) to {self.endpoint}{retried}: {reason}"
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
            # JSON in prose or ``` fences (servers that ignore response_format): its object is the answer.
            found = extract_json_object(content) if _not_json(exc) else None
            if found is None:
                raise _Problem("invalid", _validation_summary(exc)) from None
            try:
                value = output.model_validate_json(found)
            except ValidationError as inner:
                raise _Problem("invalid", _validation_summary(inner)) from None
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


def _not_json(exc: ValidationError) -> bool:
    """The text was not JSON as a whole (as opposed to JSON of the wrong shape)."""
    return any(error["type"] == "json_invalid" for error in exc.errors(include_url=False))


def _validation_summary(exc: ValidationError) -> str:
    """The validation errors as a model can act on them: JSON path and message, a few at most."""
    parts = []
    for error in exc.errors(include_url=False)[:8]:
        loc = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{loc}: {error['msg']}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _call_name(stage: str, brief: str | None) -> str:
    """`triage call for 'gap'`; a call made for no brief (the doctor's) is `doctor call`."""
    return f"{stage} call for {brief!r}" if brief else f"{stage} call"
