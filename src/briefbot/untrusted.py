"""Text we did not write: terminal controls removed, instruction-like phrases flagged, and fences
around fetched text.

Shared by the prompts (which fence every item) and the merger (which warns the editor about an edit
citing a flagged item), so it sits below both and does no I/O. Each item's fetched text is wrapped
in a fence whose boundary the text does not contain, so nothing inside can close it. The boundary
is derived from a hash of the item, not a random source: the same items give the same prompt, which
keeps request fingerprints (the answer cache) and recorded runs (replay) stable.

`clean_text` is applied where fetched text is stored (store/items.py, store/documents.py) and again
where the CLI prints it: a feed title must not be able to retitle, clear or rewrite the editor's
terminal, nor make a line read in another order than it is stored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Whole escape sequences first (ECMA-48), so their parameters do not linger as visible junk: CSI
# (`ESC [` or C1 U+009B ... final byte), the string commands OSC, DCS, SOS, PM and APC (`ESC ]`,
# `ESC P`, `ESC X`, `ESC ^`, `ESC _` or their C1 forms, ended by BEL or ST), and the two-byte
# `ESC x` commands (RIS `ESC c`, cursor save `ESC 7`, ...). An introducer with no end loses only
# itself below; the rest stays as visible text.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"
)
# C0 (tab and line feed are handled apart), DEL and C1 controls, and the bidi embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069; "Trojan Source", CVE-2021-42574), which
# make a line display in another order than it is stored. The marks LRM, RLM and ALM (U+200E,
# U+200F, U+061C) are kept: ordinary in right-to-left writing, they only settle where neutral
# characters such as digits and punctuation go and cannot reverse a run of text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"\r\n?")
_ONE_LINE = re.compile(r"[\t\n]")


def clean_text(text: str, *, multiline: bool) -> str:
    """`text` without terminal escape sequences, control characters or bidi overrides.

    With `multiline` (an article's text, a summary) tabs and line breaks stay, a carriage return
    (which lets a line overwrite itself on a terminal) becoming a line break; otherwise (a title, a
    name) each tab or line break becomes a space, so the words stay apart. Ordinary text of any
    script, emoji included, comes back unchanged.
    """
    # The common case costs one scan: nothing to remove.
    if not _CONTROL.search(text) and (multiline or not _ONE_LINE.search(text)):
        return text
    text = _LINE_BREAK.sub("\n", _ESCAPE_SEQUENCE.sub("", text))
    text = _CONTROL.sub("", text)
    return text if multiline else _ONE_LINE.sub(" ", text)


def clean_optional(text: str | None, *, multiline: bool) -> str | None:
    """`clean_text` for a field that may be absent."""
    return None if text is None else clean_text(text, multiline=multiline)


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
