"""Text we did not write: instruction-like phrases flagged, and fences around fetched text.

Shared by the prompts (which fence every item) and the merger (which warns the editor about an edit
citing a flagged item), so it sits below both and does no I/O. Each item's fetched text is wrapped
in a fence whose boundary the text does not contain, so nothing inside can close it. The boundary
is derived from a hash of the item, not a random source: the same items give the same prompt, which
keeps request fingerprints (the answer cache) and recorded runs (replay) stable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# A deliberately small heuristic: phrases that address a model rather than a reader. A hit is not
# a verdict; it is a warning for the editor, and the fence keeps the text data either way.
_INJECTION_SOURCES: tuple[tuple[str, str], ...] = (
    (
        "override-instructions",
        r"\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(instructions?|prompts?|rules|guidelines|directions)\b",
    ),
    ("mentions-system-prompt", r"\b(system prompt|system message|developer message|new instructions)\b"),
    ("role-play", r"\byou are (now|no longer)\b|\bpretend (to be|you are)\b"),
    ("chat-role-markup", r"</?\s*(system|assistant|user|instructions?)\s*>|^\s*(system|assistant)\s*:"),
    ("fence-markup", r"<<<|>>>|\bbegin data\b|\bend data\b"),
    (
        "addresses-the-model",
        r"\b(as an? (ai|language model|llm)|(dear|attention|note to( the)?) (ai|llm|assistant|model|language model)s?)\b",
    ),
    (
        "dictates-output",
        r"\b(respond|reply|answer|output)\s+(only\s+)?with\b|\b(add|insert|propose) (an? )?(edit|timeline entry)\b",
    ),
)
# Written in lowercase, with no escape whose meaning depends on case (\b, \s and \n only).
assert all(p == p.lower() for _, p in _INJECTION_SOURCES)
INJECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE)) for label, pattern in _INJECTION_SOURCES
)
# The same patterns, case-sensitive, for case-folded text (see `injection_flags`).
_LOWERCASE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern)) for label, pattern in _INJECTION_SOURCES
)


def injection_flags(text: str) -> list[str]:
    """Labels of the instruction-like patterns found in `text`, each with the matched words."""
    found = []
    # Case-folded text matched by the lowercase patterns: what IGNORECASE finds (and the odd
    # obfuscation it misses, like a long ſ), several times faster. Only while folding keeps every
    # offset (no ß -> ss), so the matched words can be quoted from the text itself.
    folded = text.casefold()
    fast = len(folded) == len(text)
    lowered = folded if fast else text
    for label, pattern in _LOWERCASE_PATTERNS if fast else INJECTION_PATTERNS:
        match = pattern.search(lowered)
        if match:
            found.append(f"{label}: {text[match.start() : match.end()].strip()!r}")
    return found


def fence_boundary(content: str) -> str:
    """A boundary that `content` does not contain, derived from the content (deterministic)."""
    lowered = content.lower()
    salt = 0
    while True:
        digest = hashlib.sha256(f"{salt}\x00{content}".encode()).hexdigest()[:24].upper()
        boundary = f"DATA-{digest}"
        if boundary.lower() not in lowered:
            return boundary
        salt += 1  # practically unreachable: the text would have to contain its own hash


@dataclass(frozen=True)
class FencedItem:
    """One untrusted item ready for a template: everything from the page sits inside the fence."""

    ref: str
    boundary: str
    body: str
    flags: tuple[str, ...]


def fence(ref: str, fields: dict[str, str | None], text: str) -> FencedItem:
    """Fence an item's untrusted fields (title, publisher, ...) and text under one boundary."""
    lines = [f"{name}: {value}" for name, value in fields.items() if value]
    body = "\n".join([*lines, "text:", text.strip()]) if text.strip() else "\n".join(lines)
    flags = injection_flags(body)
    return FencedItem(ref=ref, boundary=fence_boundary(body), body=body, flags=tuple(flags))
