"""The smallest structured call: proves an endpoint answers for a model (`briefbot doctor`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from briefbot.llm.client import CallResult, LLMClient

__all__ = ["STAGE", "Pong", "ping"]

STAGE = "doctor"  # the call log's stage for these calls; they belong to no brief


class Pong(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool


async def ping(llm: LLMClient, *, model: str, now: dt.datetime) -> CallResult[Pong]:
    """One `Pong` from `model`, logged like any call. `now` is in the message, so the answer never
    comes from the call cache."""
    prompt = llm.prompts.render(STAGE, asked_at=now.isoformat())
    return await llm.structured(prompt, Pong, stage=STAGE, brief="", model=model)
