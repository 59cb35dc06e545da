"""Prompt building: jinja2 templates in `prompts/` and the fencing of untrusted fetched text.

Templates are `prompts/<stage>.<role>.j2` rendered with StrictUndefined, so a missing variable is an
error rather than an empty string in front of a model. Each item's fetched text is wrapped in a
fence whose boundary the text does not contain, so nothing inside can close it. The boundary is
derived from a hash of the item, not a random source: the same items give the same prompt, which
keeps request fingerprints (the answer cache) and recorded runs (replay) stable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError

from .errors import LLMError

# A deliberately small heuristic: phrases that address a model rather than a reader. A hit is not
# a verdict; it is a warning for the editor, and the fence keeps the text data either way.
_INJECTION_SOURCES: tuple[tuple[str, str], ...] = (
    ("override-instructions",
     r"\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(instructions?|prompts?|rules|guidelines|directions)\b"),
    ("mentions-system-prompt", r"\b(system prompt|system message|developer message|new instructions)\b"),
    ("role-play", r"\byou are (now|no longer)\b|\bpretend (to be|you are)\b"),
    ("chat-role-markup", r"</?\s*(system|assistant|user|instructions?)\s*>|^\s*(system|assistant)\s*:"),
    ("fence-markup", r"<<<|>>>|\bbegin data\b|\bend data\b"),
    ("addresses-the-model",
     r"\b(as an? (ai|language model|llm)|(dear|attention|note to( the)?) (ai|llm|assistant|model|language model)s?)\b"),
    ("dictates-output",
     r"\b(respond|reply|answer|output)\s+(only\s+)?with\b|\b(add|insert|propose) (an? )?(edit|timeline entry)\b"),
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
            found.append(f"{label}: {text[match.start():match.end()].strip()!r}")
    return found


def fence_boundary(content: str) -> str:
    """A boundary that `content` does not contain, derived from the content (deterministic)."""
    lowered = content.lower()
    salt = 0
    while True:
        digest = hashlib.sha256(f"{salt}\x00{content}".encode("utf-8")).hexdigest()[:24].upper()
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
    body = "\n".join(lines + ["text:", text.strip()]) if text.strip() else "\n".join(lines)
    flags = injection_flags(body)
    return FencedItem(ref=ref, boundary=fence_boundary(body), body=body, flags=tuple(flags))


@dataclass(frozen=True)
class RenderedPrompt:
    """The messages of one call and the identity of the templates that made them."""

    name: str
    template_hash: str
    messages: list[dict[str, str]]


# Included by the stage templates, so part of every template hash.
_SHARED_TEMPLATES = ("_fence.j2", "_data_rule.j2")


class Prompts:
    """The jinja2 environment over the packaged `prompts/` folder."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("briefbot", "prompts"),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for a model, not HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def source_hash(self, *names: str) -> str:
        digest = hashlib.sha256()
        for name in names:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            digest.update(name.encode() + b"\x00" + source.encode("utf-8") + b"\x00")
        return digest.hexdigest()[:16]

    def render_text(self, name: str, **context: Any) -> str:
        try:
            return self.env.get_template(name).render(**context).strip() + "\n"
        except TemplateError as exc:
            raise LLMError(f"prompt template {name}: {exc}") from exc

    def render(self, stage: str, **context: Any) -> RenderedPrompt:
        """System then user message of `stage` (`prompts/<stage>.system.j2`, `<stage>.user.j2`)."""
        system, user = f"{stage}.system.j2", f"{stage}.user.j2"
        return RenderedPrompt(
            name=stage,
            template_hash=self.source_hash(system, user, *_SHARED_TEMPLATES),
            messages=[
                {"role": "system", "content": self.render_text(system, **context)},
                {"role": "user", "content": self.render_text(user, **context)},
            ],
        )
