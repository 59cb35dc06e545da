"""What went wrong with an exchange: which faults are retried, which may go to a fallback model,
and how a failure is told in one line (masked for secrets before it is cut)."""

from __future__ import annotations

from collections.abc import Callable

import openai

from briefbot.errors import BriefbotError, LLMError
from briefbot.http.retry import retry_after_seconds

RETRY_STATUS = frozenset({408, 409, 429})


class _GarbledResponse(Exception):  # the name shows in errors (describe_http_error)
    """A 200 whose body is not JSON at all: a proxy's error page or a server fault, not an answer."""


class ServerGaveUp(LLMError):
    """The retry budget was spent on server errors or timeouts: the stage's fallback model may answer."""


def server_fault(exc: BaseException) -> bool:
    """5xx, 408, timeouts and garbled bodies: faults of the model's server, which another model
    may not share. A 429 is a quota (waiting is the answer), a connection refusal the endpoint's."""
    if isinstance(exc, _GarbledResponse | openai.APITimeoutError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 408)


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, _GarbledResponse):
        return True
    if isinstance(exc.__cause__, BriefbotError):
        return False  # our own transport's verdict (replay miss, blocked address): retrying cannot help
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    # APITimeoutError is an APIConnectionError.
    return isinstance(exc, openai.APIConnectionError)


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait; only a status answer carries the headers."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    return retry_after_seconds(exc.response.headers)


def describe_http_error(exc: BaseException, redact: Callable[[str], str]) -> str:
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
