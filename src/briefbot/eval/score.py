"""A night's counts (`Score`), what they cost (`Usage`), and the metrics made from them.

Counts, not ratios, are what is stored and summed: the figures of several nights add up exactly
(micro averages), and a figure with nothing to count is None ("n/a"), never a made-up 0 or 1.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from briefbot.eval.gold import LABELS
from briefbot.models import StrictModel


class Counts(StrictModel):
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn


class Usage(StrictModel):
    """What a night's calls used, made from its call log by `runner.usage_of` (the one row rule,
    `llm.stats.CallStats.add`); summed over nights by `add`, where a total stays priced only while
    every part was (a None cost here is `CallStats.unpriced` there)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    # None: some call's model has no price (llm.prices), so the total is unknown, not low.
    cost_usd: float | None = 0.0
    wall_seconds: float = 0.0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd = (
            None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        )
        self.wall_seconds += other.wall_seconds


class Score(StrictModel):
    """Counts for one night (or summed over nights); `figures()` turns them into the shown metrics."""

    nights: int = 1
    failed: int = 0
    triage: dict[str, Counts] = Field(default_factory=lambda: {str(label): Counts() for label in LABELS})
    edits_proposed: int = 0
    edits_applied: int = 0
    rejections: dict[str, int] = Field(default_factory=dict)
    citations: int = 0
    citations_valid: int = 0
    must: int = 0
    must_met: int = 0
    must_missed: list[str] = Field(default_factory=list)
    must_not: dict[str, int] = Field(default_factory=dict)
    must_not_detail: list[str] = Field(default_factory=list)
    whats_new_words: int = 0
    whats_new_made: int = 0  # proposals that have a What's new (its words are averaged over them)
    whats_new_drafts: int = 0
    whats_new_draft_kept: int = 0
    whats_new_citations: int = 0
    whats_new_citations_valid: int = 0
    usage: Usage = Field(default_factory=Usage)
    errors: list[str] = Field(default_factory=list)

    def add(self, other: Score, *, name: str | None = None) -> None:
        self.nights += other.nights
        self.failed += other.failed
        for label in LABELS:
            self.triage[label].add(other.triage[label])
        for field in (
            "edits_proposed",
            "edits_applied",
            "citations",
            "citations_valid",
            "must",
            "must_met",
            "whats_new_words",
            "whats_new_made",
            "whats_new_drafts",
            "whats_new_draft_kept",
            "whats_new_citations",
            "whats_new_citations_valid",
        ):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.rejections = dict(Counter(self.rejections) + Counter(other.rejections))
        for kind, count in other.must_not.items():
            self.must_not[kind] = self.must_not.get(kind, 0) + count
        prefix = f"{name}: " if name else ""
        self.must_missed += [prefix + m for m in other.must_missed]
        self.must_not_detail += [prefix + m for m in other.must_not_detail]
        self.errors += [prefix + e for e in other.errors]
        self.usage.add(other.usage)

    def figures(self) -> dict[str, float | None]:
        """Metric name -> value (None: nothing to measure). Names are stable: results compare by them."""
        out: dict[str, float | None] = {}
        for label in LABELS:
            c = self.triage[label]
            p = _ratio(c.tp, c.tp + c.fp)
            r = _ratio(c.tp, c.tp + c.fn)
            out[f"triage.{label}.precision"] = p
            out[f"triage.{label}.recall"] = r
            out[f"triage.{label}.f1"] = (
                None if p is None or r is None else (2 * p * r / (p + r) if p + r else 0.0)
            )
        f1s = [out[f"triage.{label}.f1"] for label in LABELS]
        known = [f for f in f1s if f is not None]
        out["triage.macro_f1"] = sum(known) / len(known) if known else None
        out["must.recall"] = _ratio(self.must_met, self.must)
        out["must_not.violations"] = float(sum(self.must_not.values()))
        out["edits.proposed"] = float(self.edits_proposed)
        out["edits.applied_share"] = _ratio(self.edits_applied, self.edits_proposed)
        out["citations.valid_share"] = _ratio(self.citations_valid, self.citations)
        out["whats_new.words"] = _ratio(self.whats_new_words, self.whats_new_made)
        out["whats_new.draft_kept_share"] = _ratio(self.whats_new_draft_kept, self.whats_new_drafts)
        out["whats_new.citations_valid_share"] = _ratio(
            self.whats_new_citations_valid, self.whats_new_citations
        )
        u = self.usage
        out["tokens.prompt"] = float(u.prompt_tokens)
        out["tokens.completion"] = float(u.completion_tokens)
        out["tokens.cached_share"] = _ratio(u.cached_tokens, u.prompt_tokens)
        out["cost_usd"] = u.cost_usd
        out["wall_seconds"] = round(u.wall_seconds, 3)
        return out


# Metrics where a larger value is better, for the comparison's arrows; the others are smaller-better
# or neutral (counts, tokens, time: smaller is cheaper).
HIGHER_IS_BETTER = frozenset(
    {
        *(f"triage.{label}.{m}" for label in LABELS for m in ("precision", "recall", "f1")),
        "triage.macro_f1",
        "must.recall",
        "edits.applied_share",
        "citations.valid_share",
        "whats_new.draft_kept_share",
        "whats_new.citations_valid_share",
        "tokens.cached_share",
    }
)
NEUTRAL = frozenset({"edits.proposed", "whats_new.words"})
# Metrics that count (shown as whole numbers); the others are shares, F1s, dollars and seconds.
COUNTS = frozenset({"must_not.violations", "edits.proposed", "tokens.prompt", "tokens.completion"})


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None
