"""Reading an edit batch: a file anyone may have written, checked before pydantic sees it.

First its size; then what json.loads itself cannot be trusted with (nesting, which it parses by
recursion; integers, whose conversion has a digit limit); the number of edits, whose cost the merger
multiplies; then, walking the parsed value, anything that would fail only later, when the proposal is
written (a lone surrogate, which json.loads accepts as an escape, cannot be encoded as UTF-8). Each is
a MergeError naming the file and the JSON path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import ValidationError

from briefbot.errors import MergeError
from briefbot.models import EDIT_TYPES, EditBatch

_OPS = {get_args(cls.model_fields["op"].annotation)[0]: cls.__name__ for cls in EDIT_TYPES}

MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_EDITS = 500
MAX_DEPTH = 32  # a valid batch nests 3 deep ($.edits[0].text), far below the recursion limit
MAX_INT_DIGITS = 100  # no field of a batch holds an integer near this long
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_DEEP = f"nesting too deep (more than {MAX_DEPTH} levels)"
_LONE = "a lone surrogate (an unpaired \\uD800-\\uDFFF escape)"


class _LongInt:
    """What an over-long integer parses to, so that the walk can name where it was."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(text: str) -> int | _LongInt:
    digits = len(text.lstrip("-"))
    return _LongInt(digits) if digits > MAX_INT_DIGITS else int(text)


def json_path(loc: Iterable[Any]) -> str:
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:  # a key from the file: quoted and escaped, never printed raw to the terminal
            path += f"[{json.dumps(str(part))}]"
    return path


def _hostile_value(data: Any) -> str | None:
    """The first value of parsed JSON that must not reach validation, as `path: problem`.

    Iterative, since the point is to survive what recursion would not."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            return f"{json_path(loc)}: {_DEEP}"
        if isinstance(value, _LongInt):
            return f"{json_path(loc)}: integer of {value.digits} digits (at most {MAX_INT_DIGITS})"
        if isinstance(value, str) and _SURROGATE.search(value):
            return f"{json_path(loc)}: string contains {_LONE}"
        if isinstance(value, dict):
            for key in value:
                if _SURROGATE.search(key):
                    return f"{json_path(loc)}: a key contains {_LONE}"
            stack.extend((v, (*loc, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in reversed(list(enumerate(value))))
    return None


def _shown(value: Any, limit: int = 40) -> str:
    """`value` for an error message: escaped by repr, and cut, since it comes from the file."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _batch_errors(data: Any, exc: ValidationError) -> list[str]:
    """Pydantic's errors, keeping for each edit only those of the union member its `op` names."""
    member_names = set(_OPS.values())
    edits = data.get("edits") if isinstance(data, dict) else None
    messages: list[str] = []
    for error in exc.errors():
        loc = list(error["loc"])
        if (
            len(loc) >= 3
            and loc[0] == "edits"
            and isinstance(loc[1], int)
            and loc[2] in member_names
            and isinstance(edits, list)
        ):
            raw = edits[loc[1]]
            op = raw.get("op") if isinstance(raw, dict) else None
            if op not in _OPS:
                message = (
                    f"{json_path(loc[:2])}.op: unknown op {_shown(op)} "
                    f"(expected one of {', '.join(sorted(_OPS))})"
                )
                if message not in messages:
                    messages.append(message)
                continue
            if loc[2] != _OPS[op]:
                continue
            del loc[2]
        messages.append(f"{json_path(loc)}: {error['msg']}")
    return messages


def check_batch_size(size: int, *, path: str) -> None:
    """Refuse a batch over MAX_BATCH_BYTES; callers with a file check its size before reading it."""
    if size > MAX_BATCH_BYTES:
        raise MergeError(
            f"{path}: {size:,} bytes; an edit batch may be at most {MAX_BATCH_BYTES:,} bytes (split it)"
        )


def read_batch(raw: str | bytes, *, path: str) -> EditBatch:
    """Parse an edit batch; a malformed one is a MergeError naming the file and the JSON path."""
    check_batch_size(
        len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass")), path=path
    )
    try:
        data = json.loads(raw, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise MergeError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise MergeError(f"{path}: not UTF-8: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise MergeError(f"{path}: not a valid edit batch: $: {_DEEP}") from None
    edits = data.get("edits") if isinstance(data, dict) else None
    if isinstance(edits, list) and len(edits) > MAX_EDITS:
        raise MergeError(
            f"{path}: not a valid edit batch: $.edits: {len(edits):,} edits; "
            f"a batch may hold at most {MAX_EDITS} (split it)"
        )
    problem = _hostile_value(data)
    if problem is not None:
        raise MergeError(f"{path}: not a valid edit batch: {problem}")
    try:
        return EditBatch.model_validate(data)
    except ValidationError as exc:
        problems = _batch_errors(data, exc)
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise MergeError(f"{path}: not a valid edit batch: {'; '.join(problems[:5])}{more}") from None
