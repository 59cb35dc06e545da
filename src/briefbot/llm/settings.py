"""LLM settings: endpoint, models per stage, limits, retries and the price table.

Loaded from the `llm:` mapping of the project config (feeds.yaml) and then the environment, which
wins. The API key is a secret and only ever comes from the environment (`OPENAI_API_KEY`).

Which endpoints need the key: api.openai.com (the default) always does; any other `base_url` (a
local Ollama, llama.cpp) may go without one unless `api_key_required: true` says it cannot. A
needed key that is missing is a `ConfigError` naming the variable, raised by `load` and again by
the client before any request, so a night without its key stops before it sends anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError

from briefbot.errors import ConfigError
from briefbot.http.redact import redact_url
from briefbot.llm.output import DEFAULT_MODE, OutputMode
from briefbot.models import StrictModel


class ModelPrice(StrictModel):
    """USD per million tokens. Cached input tokens are billed at `cached_input` instead of `input`."""

    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    output: float = Field(ge=0)

    def cost(
        self, *, prompt_tokens: int | None, completion_tokens: int | None, cached_tokens: int | None
    ) -> float | None:
        if prompt_tokens is None or completion_tokens is None:
            return None
        cached = min(cached_tokens or 0, prompt_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        dollars = (
            (prompt_tokens - cached) * self.input + cached * cached_rate + completion_tokens * self.output
        )
        return round(dollars / 1_000_000, 8)


# Published list prices at the time of writing; a deployment overrides them under `llm.prices`.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, cached_input=0.025, output=0.40),
}

# Environment variable -> setting. OPENAI_* are the SDK's own names, so an existing setup just works.
ENV_VARS: dict[str, str] = {
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_API_KEY": "api_key",
    "BRIEFBOT_TRIAGE_MODEL": "triage_model",
    "BRIEFBOT_PROPOSE_MODEL": "propose_model",
    "BRIEFBOT_TRIAGE_FALLBACK_MODEL": "triage_fallback_model",
    "BRIEFBOT_PROPOSE_FALLBACK_MODEL": "propose_fallback_model",
    "BRIEFBOT_LLM_OUTPUT_MODE": "output_mode",
    "BRIEFBOT_LLM_SERVICE_TIER": "service_tier",
    "BRIEFBOT_LLM_TIMEOUT": "timeout",
    "BRIEFBOT_LLM_MAX_CONCURRENCY": "max_concurrency",
}
KEY_VAR = "OPENAI_API_KEY"
DEFAULT_ENDPOINT = "https://api.openai.com/v1"  # the SDK's own default, when base_url is None
_KEYED_HOST = "api.openai.com"


class LLMSettings(StrictModel):
    """Everything the LLM client and the triage/propose stages need to know."""

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; None = api.openai.com"
    )
    api_key: SecretStr | None = None
    api_key_required: bool = Field(
        default=False,
        description="the endpoint needs OPENAI_API_KEY even though it is not api.openai.com",
    )
    triage_model: str = "gpt-4.1-mini"
    propose_model: str = "gpt-4.1"
    # Asked when the stage's model spent its retry budget on server errors or timeouts.
    triage_fallback_model: str | None = None
    propose_fallback_model: str | None = Field(default=None, description="also the draft stage's")
    # How answers are asked for (briefbot.llm.output); `briefbot doctor --probe` says which works.
    output_mode: OutputMode = DEFAULT_MODE
    triage_output_mode: OutputMode | None = Field(default=None, description="None: output_mode")
    propose_output_mode: OutputMode | None = Field(default=None, description="None: output_mode")
    timeout: float = Field(default=120.0, gt=0, description="seconds per HTTP attempt")
    max_concurrency: int = Field(default=4, ge=1)
    # e.g. "flex" for the nightly job; a 429 on that tier falls back to the default tier.
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    retry_attempts: int = Field(default=5, ge=1, description="HTTP attempts per ask, first included")
    retry_wait_initial: float = Field(default=1.0, ge=0, description="first backoff, doubled each time")
    retry_wait_max: float = Field(
        default=60.0, ge=0, description="cap on any single wait, Retry-After included"
    )
    max_completion_tokens: int | None = Field(default=None, ge=1)
    triage_batch_size: int = Field(default=10, ge=1)
    triage_excerpt_chars: int = Field(default=2000, ge=100)
    propose_token_budget: int = Field(
        default=12000, ge=100, description="tokens of item text in a propose call"
    )
    # No tokenizer dependency: ~4 characters per token is close for English prose.
    chars_per_token: float = Field(default=4.0, gt=0)
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    # The project's own prompt templates, searched before the packaged ones. Set from the project
    # root by `config.load_feeds_file` (`<root>/prompts`), so every client made from these settings,
    # the night's or a command's, renders with the same templates. None = the packaged ones only.
    prompts_dir: Path | None = None

    def price(self, model: str) -> ModelPrice | None:
        return self.prices.get(model)

    # -- per stage -------------------------------------------------------------------------------
    @staticmethod
    def _role(stage: str) -> str | None:
        """The settings a stage uses: draft is propose's job on a brief with no version yet."""
        return {"triage": "triage", "propose": "propose", "draft": "propose"}.get(stage)

    def output_mode_for(self, stage: str) -> OutputMode:
        role = self._role(stage)
        override: OutputMode | None = getattr(self, f"{role}_output_mode") if role else None
        return override or self.output_mode

    def fallback_for(self, stage: str) -> str | None:
        role = self._role(stage)
        return getattr(self, f"{role}_fallback_model") if role else None

    # -- the key -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.base_url or DEFAULT_ENDPOINT

    @property
    def endpoint_shown(self) -> str:
        """The endpoint as messages print it: a password in its userinfo masked (`http://u:***@h/`)."""
        return redact_url(self.endpoint)

    @property
    def key_set(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value().strip())

    @property
    def key_needed(self) -> bool:
        """api.openai.com always needs the key; another endpoint only when configured to."""
        return self.api_key_required or urlsplit(self.endpoint).hostname == _KEYED_HOST

    def require_key(self) -> None:
        """A `ConfigError` naming the variable (never a value) when a needed key is missing."""
        if self.key_needed and not self.key_set:
            why = "llm.api_key_required is true" if self.api_key_required else "it is api.openai.com"
            raise ConfigError(
                f"{KEY_VAR} is not set, and the LLM endpoint {self.endpoint_shown} needs it ({why}): "
                f"export {KEY_VAR} before running; no LLM request was made"
            )

    @classmethod
    def load(
        cls,
        mapping: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        source: str = "feeds.yaml",
        require_key: bool = True,
    ) -> LLMSettings:
        """Settings from the config's `llm:` mapping, then the environment (which wins).

        A key the endpoint needs but the environment lacks is a `ConfigError` here, before anything
        else is done; `require_key=False` is for `briefbot doctor`, which reports it as a check."""
        values: dict[str, Any] = dict(mapping or {})
        if "api_key" in values:
            raise ConfigError(f"{source}: llm.api_key: keep the key out of files; set OPENAI_API_KEY instead")
        prices = {**DEFAULT_PRICES, **(values.pop("prices", None) or {})}
        environ = os.environ if env is None else env
        for var, field in ENV_VARS.items():
            if environ.get(var):
                values[field] = environ[var]
        try:
            settings = cls.model_validate({**values, "prices": prices})
        except ValidationError as exc:
            problems = "; ".join(
                f"llm.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{source} / environment: {problems}") from None
        if require_key:
            settings.require_key()
        return settings
