"""Run gold nights through the real triage and propose code and the pure merger.

Each night runs in a state folder of its own, thrown away afterwards: the project's briefs, store
and answer cache are never read or written, and no run is answered from an earlier one's cache, so
repeats measure the model's own spread. What the endpoint answered is scored by `metrics`.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from briefbot import __version__, store
from briefbot.errors import BriefbotError, LLMError
from briefbot.eval.gold import GoldNight
from briefbot.eval.metrics import score_night
from briefbot.eval.score import Score, Usage
from briefbot.http import HttpSettings
from briefbot.llm import LLMClient, LLMSettings
from briefbot.llm.prompts import Prompts
from briefbot.llm.stats import CallStats
from briefbot.merge import merge
from briefbot.merge.proposal import Proposal
from briefbot.models import EditBatch
from briefbot.propose import propose
from briefbot.store.llm_calls import CallRow, list_calls
from briefbot.triage import triage

# The stages `--set stage=model` may name, and the setting each one sets.
STAGE_SETTINGS = {"triage": "triage_model", "propose": "propose_model"}
# The templates each stage renders (and the re-ask's), hashed into the fingerprint.
_TEMPLATES = (
    "triage.system.j2",
    "triage.user.j2",
    "propose.system.j2",
    "propose.user.j2",
    "reask.user.j2",
    "json_object.system.j2",  # the schema-in-the-prompt output mode
    "_fence.j2",
    "_data_rule.j2",
)


@dataclass
class NightRun:
    """What one night's run came back with, and its score."""

    night: GoldNight
    labels: dict[str, str]
    batch: EditBatch | None
    proposal: Proposal | None
    usage: Usage
    errors: list[str] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)

    @property
    def score(self) -> Score:
        return score_night(
            self.night, self.labels, self.batch, self.proposal, usage=self.usage, errors=self.errors
        )


def usage_of(rows: list[CallRow], *, wall_seconds: float) -> Usage:
    """Tokens and cost of the logged exchanges, summed by the one rule (`CallStats.add`): failed
    calls count as calls and add nothing; a priced total only when every answered call had a price."""
    stats = CallStats.of(rows)
    cost = stats.priced_cost
    return Usage(
        calls=stats.calls,
        prompt_tokens=stats.prompt_tokens,
        completion_tokens=stats.completion_tokens,
        cached_tokens=stats.cached_tokens,
        cost_usd=None if cost is None else round(cost, 8),
        wall_seconds=round(wall_seconds, 3),
    )


async def run_night(
    night: GoldNight, settings: LLMSettings, *, http_settings: HttpSettings | None = None
) -> NightRun:
    """One night against the configured endpoint. An endpoint failure is recorded in `errors` (the
    night is scored on what did come back); a configuration error is raised."""
    spec = night.spec
    labels: dict[str, str] = {}
    batch: EditBatch | None = None
    proposal: Proposal | None = None
    errors: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="briefbot-eval-") as state:
        conn = store.connect(Path(state) / "state.db")
        try:
            async with LLMClient(settings, conn=conn, http_settings=http_settings) as llm:
                try:
                    triaged = await triage(
                        llm, night.brief, night.batch_items(), slug=spec.slug, scope=spec.scope
                    )
                except LLMError as exc:
                    errors.append(str(exc))
                else:
                    labels = {t.item.ref: t.relevance for t in triaged.items}
                    errors += triaged.failures
                    try:
                        proposed = await propose(
                            llm,
                            night.brief,
                            triaged.kept(),
                            slug=spec.slug,
                            run_date=spec.run_date,
                            scope=spec.scope,
                        )
                    except LLMError as exc:
                        errors.append(str(exc))
                    else:
                        batch = proposed.batch
            if batch is not None and batch.edits:
                try:
                    proposal = merge(night.brief, batch, run_date=spec.run_date)
                except BriefbotError as exc:
                    errors.append(f"merge: {exc}")
            rows = list_calls(conn)
        finally:
            conn.close()
    usage = usage_of(rows, wall_seconds=time.monotonic() - started)
    return NightRun(
        night=night, labels=labels, batch=batch, proposal=proposal, usage=usage, errors=errors, calls=rows
    )


def setup_of(settings: LLMSettings, nights: list[GoldNight]) -> dict[str, Any]:
    """Everything that decides the answers: models, endpoint, settings, prompt templates, nights."""
    prompts = Prompts(settings.prompts_dir)
    dumped = settings.model_dump(mode="json", exclude={"api_key", "prompts_dir", "prices"})
    return {
        "briefbot": __version__,
        "endpoint": settings.endpoint,
        "models": {stage: getattr(settings, name) for stage, name in STAGE_SETTINGS.items()},
        "settings": dumped,
        "prompts": {name: prompts.source_hash(name) for name in _TEMPLATES},
        "prompt_files": {name: prompts.info(name).origin for name in _TEMPLATES},
        "nights": {night.name: night.digest for night in nights},
    }


def fingerprint_of(setup: dict[str, Any]) -> str:
    canonical = json.dumps(setup, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
