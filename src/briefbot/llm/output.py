"""Structured-output modes: how an answer's shape is asked for, and how its JSON is found.

OpenAI-compatible servers differ (issue 16.5). OpenAI and vLLM enforce a strict `json_schema`;
some servers reject the `strict` flag but take the schema; some ignore `response_format` and
answer JSON wrapped in prose or ``` fences. So a mode per endpoint (`llm.output_mode`, overridable
per stage):

- `json_schema_strict` (default): `response_format` json_schema with `strict: true`.
- `json_schema`: the same schema without the `strict` key (a server that refuses it takes the rest).
- `json_object`: `response_format` json_object, and the schema in the system message
  (`prompts/json_object.system.j2`), for servers that only promise "some JSON".

Whatever the mode, the answer is validated by the pydantic model and a bad one gets the one re-ask;
an answer whose text is not JSON as a whole is searched for its first JSON object first.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal, get_args

from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel

__all__ = [
    "DEFAULT_MODE",
    "OUTPUT_MODES",
    "SCHEMA_TEMPLATE",
    "OutputMode",
    "extract_json_object",
    "response_format",
    "schema_text",
    "strict_response_format",
]

OutputMode = Literal["json_schema_strict", "json_schema", "json_object"]
OUTPUT_MODES: tuple[OutputMode, ...] = get_args(OutputMode)
DEFAULT_MODE: OutputMode = "json_schema_strict"
SCHEMA_TEMPLATE = "json_object.system.j2"
# Candidate `{` positions tried in an answer that is not JSON as a whole: each try parses up to
# the end of the text, so an unbounded search would be quadratic in a long, brace-rich answer.
_MAX_CANDIDATES = 32


def strict_response_format(model: type[BaseModel]) -> dict[str, Any]:
    """`response_format` for Chat Completions: the model's strict JSON schema (plain anyOf unions)."""
    return json.loads(_strict_response_format_json(model))  # a fresh copy: callers may change it


@functools.lru_cache(maxsize=64)
def _strict_response_format_json(model: type[BaseModel]) -> str:
    # Generating the schema costs more than the rest of a call's own work; it is the same every time.
    return json.dumps(
        {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "strict": True, "schema": to_strict_json_schema(model)},
        }
    )


def response_format(model: type[BaseModel], mode: OutputMode) -> dict[str, Any]:
    """What a call sends as `response_format` in `mode`."""
    if mode == "json_object":
        return {"type": "json_object"}
    strict = strict_response_format(model)
    if mode == "json_schema":
        del strict["json_schema"]["strict"]  # absent, not false: some servers refuse the key itself
    return strict


def schema_text(model: type[BaseModel]) -> str:
    """The schema as the json_object mode shows it to the model: the same one the other modes send."""
    return json.dumps(json.loads(_strict_response_format_json(model))["json_schema"]["schema"])


def extract_json_object(text: str) -> str | None:
    """The first JSON object in `text` (after prose, inside ``` fences), or None when there is none.

    Parsed by the JSON decoder from each `{`, never matched by a pattern: the object found is
    exactly what the decoder reads, and what follows it (a closing fence, a sign-off) is ignored."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    tried = 0
    while start != -1 and tried < _MAX_CANDIDATES:
        tried += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return text[start:end]
        start = text.find("{", end)
    return None
