"""What calls cost and who answered them: `CallStats` summed over a stage or a run, and the
`CallResult` of one structured call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from briefbot.store.llm_calls import CallRow

__all__ = ["CallResult", "CallStats"]

M = TypeVar("M", bound=BaseModel)

# The outcome of an exchange that got no answer (the endpoint failed, after its retries).
FAILED = "http_error"


@dataclass
class CallStats:
    """What calls cost, summed over a stage or a run."""

    calls: int = 0  # exchanges sent over HTTP (re-asks and failed ones included)
    cache_hits: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # answered exchanges whose model has no price (or no token counts): cost unknown
    # Which models gave the answers used (fresh or from the cache), and how many of those came
    # from a stage's fallback model after its own model failed (issue 16.6).
    answered_by: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0

    def answered(self, model: str, *, fallback: bool) -> None:
        self.answered_by[model] = self.answered_by.get(model, 0) + 1
        self.fallbacks += fallback

    @classmethod
    def of(cls, rows: Iterable[CallRow]) -> CallStats:
        """The stats of logged exchanges (a night's call log, an eval night's)."""
        stats = cls()
        for row in rows:
            stats.add(row)
        return stats

    def add(self, row: CallRow) -> None:
        """Add one logged exchange: the one rule for summing LLM usage, applied live by the client
        and over the call log by `of` (eval's usage, for one).

        - `cached`: answered from the call cache, a cache hit and not a call; nothing is spent.
        - Every other outcome is a call (an exchange sent over HTTP; its retries count in
          `attempts`), a failed one (`http_error`) included. Token counts the endpoint did not
          report add 0.
        - Cost: a row's logged cost adds. A row without one is `unpriced` (the total is then a
          lower bound) when the endpoint answered: its model has no price, or the answer had no
          token counts. A failed exchange carries no usage and adds no cost and leaves the total
          priced: no answer came back to bill.
        """
        if row.outcome == "cached":
            self.cache_hits += 1
            return
        self.calls += 1
        self.attempts += row.attempts
        self.prompt_tokens += row.prompt_tokens or 0
        self.completion_tokens += row.completion_tokens or 0
        self.cached_tokens += row.cached_tokens or 0
        self.cost_usd += row.cost_usd or 0.0
        self.unpriced += row.cost_usd is None and row.outcome != FAILED

    @property
    def priced_cost(self) -> float | None:
        """The total cost, or None when some answered exchange had no price (unknown, not low)."""
        return None if self.unpriced else self.cost_usd

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
