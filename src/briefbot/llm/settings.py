"""LLM settings: endpoint, models per stage, limits, retries and the price table.

Loaded from the `llm:` mapping of the project config (feeds.yaml) and then the environment, which
wins. The API key is a secret and only ever comes from the environment (`OPENAI_API_KEY`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError

from briefbot.errors import ConfigError
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
    "BRIEFBOT_LLM_SERVICE_TIER": "service_tier",
    "BRIEFBOT_LLM_TIMEOUT": "timeout",
    "BRIEFBOT_LLM_MAX_CONCURRENCY": "max_concurrency",
}


class LLMSettings(StrictModel):
    """Everything the LLM client and the triage/propose stages need to know."""

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; None = api.openai.com"
    )
    api_key: SecretStr | None = None
    triage_model: str = "gpt-4.1-mini"
    propose_model: str = "gpt-4.1"
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

    @classmethod
    def load(
        cls,
        mapping: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        source: str = "feeds.yaml",
    ) -> LLMSettings:
        """Settings from the config's `llm:` mapping, then the environment (which wins)."""
        values: dict[str, Any] = dict(mapping or {})
        if "api_key" in values:
            raise ConfigError(f"{source}: llm.api_key: keep the key out of files; set OPENAI_API_KEY instead")
        prices = {**DEFAULT_PRICES, **(values.pop("prices", None) or {})}
        environ = os.environ if env is None else env
        for var, field in ENV_VARS.items():
            if environ.get(var):
                values[field] = environ[var]
        try:
            return cls.model_validate({**values, "prices": prices})
        except ValidationError as exc:
            problems = "; ".join(
                f"llm.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{source} / environment: {problems}") from None
