"""What calls cost and who answered them: `CallStats` summed over a stage or a run, and the
`CallResult` of one structured call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from briefbot.store.llm_calls import CallRow

__all__ = ["CallResult", "CallStats"]

M = TypeVar("M", bound=BaseModel)


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
    # Which models gave the answers used (fresh or from the cache), and how many of those came
    # from a stage's fallback model after its own model failed (issue 16.6).
    answered_by: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0

    def answered(self, model: str, *, fallback: bool) -> None:
        self.answered_by[model] = self.answered_by.get(model, 0) + 1
        self.fallbacks += fallback

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
            if name == "answered_by":
                for model, n in other.answered_by.items():
                    self.answered_by[model] = self.answered_by.get(model, 0) + n
                continue
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class CallResult(Generic[M]):
    value: M
    stats: CallStats
    cached: bool
    model: str = ""  # the model whose answer this is: the stage's, or its fallback's
    fallback: bool = False  # the stage's own model failed and its fallback model answered
