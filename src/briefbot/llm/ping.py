"""The smallest structured calls: `ping` proves an endpoint answers for a model (`briefbot doctor`),
`probe` finds which structured-output mode it honours (`briefbot doctor --probe`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from briefbot.llm.client import CallResult, LLMClient
from briefbot.models import StrictModel

__all__ = ["PROBE_STAGE", "STAGE", "Pong", "ProbeAnswer", "ping", "probe"]

STAGE = "doctor"  # the call log's stage for these calls; they belong to no brief
PROBE_STAGE = "probe"


class Pong(StrictModel):
    ok: bool


class ProbeAnswer(StrictModel):
    """A shape the probe's prompt does not spell out: only a model that was given the schema (by
    the server enforcing it, or in the prompt) answers it on the first ask."""

    briefbot_probe: Literal["structured-output"]
    ok: bool


async def ping(llm: LLMClient, *, model: str, now: dt.datetime) -> CallResult[Pong]:
    """One `Pong` from `model`, logged like any call. `now` is in the message, so the answer never
    comes from the call cache."""
    prompt = llm.prompts.render(STAGE, asked_at=now.isoformat())
    return await llm.structured(prompt, Pong, stage=STAGE, brief="", model=model)


async def probe(llm: LLMClient, *, model: str, now: dt.datetime) -> CallResult[ProbeAnswer]:
    """One `ProbeAnswer` from `model` in the client's output mode; `result.stats.calls` is 1 when
    the first answer was valid, 2 when it took the re-ask."""
    prompt = llm.prompts.render(PROBE_STAGE, asked_at=now.isoformat())
    return await llm.structured(prompt, ProbeAnswer, stage=PROBE_STAGE, brief="", model=model)
