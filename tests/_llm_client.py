"""The LLM client's tests share one question and its answer: `ask` puts PROMPT to a local
OpenAI-compatible server through the real LLMClient (its call log in a SQLite file), `calls` reads
that log back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from briefbot.llm import CallResult, LLMClient, LLMSettings
from briefbot.llm.prompts import RenderedPrompt
from briefbot.store import connect
from briefbot.store.llm_calls import CallRow, list_calls


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: str
    count: int


PROMPT = RenderedPrompt(
    name="test",
    template_hash="abc123",
    messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
)
GOOD = {"word": "yes", "count": 2}


def llm_settings(base_url: str, **values: object) -> LLMSettings:
    """Settings for `base_url` with the models the tests name; `values` add to or override them."""
    return LLMSettings.load(
        {"base_url": base_url, "triage_model": "cheap-1", "propose_model": "strong-1", **values},
        env={"OPENAI_API_KEY": "sk-test"},
    )


def ask(
    settings: LLMSettings,
    db: Path,
    *,
    output: type[BaseModel] = Answer,
    stage: str = "triage",
    model: str = "cheap-1",
) -> CallResult[Any]:
    async def go() -> CallResult[Any]:
        conn = connect(db)
        try:
            async with LLMClient(settings, conn=conn) as client:
                return await client.structured(PROMPT, output, stage=stage, brief="b", model=model)
        finally:
            conn.close()

    return asyncio.run(go())


def calls(db: Path) -> list[CallRow]:
    conn = connect(db)
    try:
        return list_calls(conn)
    finally:
        conn.close()
