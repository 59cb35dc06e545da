"""Prompt building: jinja2 templates in `prompts/`.

Templates are `prompts/<stage>.<role>.j2` rendered with StrictUndefined, so a missing variable is an
error rather than an empty string in front of a model. Fetched text reaches a template already
fenced (`briefbot.untrusted`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateError

from briefbot.errors import LLMError


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
