"""Prompt building: jinja2 templates named `<stage>.<role>.j2`.

The templates ship with the package (the repository's top-level `prompts/`, installed as
`briefbot/prompts/`). A project may keep its own `prompts/` folder beside `feeds.yaml`: a file there
replaces the packaged template of the same name, includes too, so a project can reword the triage
instructions without forking briefbot. Templates render with StrictUndefined, so a missing variable
is an error rather than an empty string in front of a model. Fetched text reaches a template already
fenced (`briefbot.untrusted`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.loaders import split_template_path
from jinja2.meta import find_referenced_templates

from briefbot.errors import LLMError

__all__ = ["BUILTIN", "Prompts", "RenderedPrompt", "TemplateInfo", "builtin_dir"]

# How the call log and `briefbot prompts list` name a packaged template: `builtin:triage.system.j2`.
BUILTIN = "builtin"


@dataclass(frozen=True)
class RenderedPrompt:
    """The messages of one call and the identity of the templates that made them."""

    name: str
    template_hash: str
    messages: list[dict[str, str]]
    # Where each template came from (`builtin:<name>` or `prompts/<name>`), for the call log.
    template_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplateInfo:
    """One template as it will be used: its name, where it comes from, and the file read."""

    name: str
    origin: str  # `builtin:<name>` or `<project folder name>/<name>`
    path: Path
    overridden: bool  # a project file shadows a packaged template of the same name


# Included by the stage templates, so part of every template hash.
_SHARED_TEMPLATES = ("_fence.j2", "_data_rule.j2")


class _Folder(FileSystemLoader):
    """A folder of templates whose file that is not UTF-8 is an `LLMError` naming it, not a
    UnicodeDecodeError out of jinja."""

    def find(self, name: str) -> Path | None:
        """The file `name` is read from, without reading it; None when this folder lacks it."""
        try:
            parts = split_template_path(name)  # refuses `..`: a name never leaves the folder
        except TemplateNotFound:
            return None
        for folder in self.searchpath:
            candidate = Path(folder, *parts)
            if candidate.is_file():
                return candidate
        return None

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            raise LLMError(
                f"prompt template {self.find(template) or template}: not UTF-8 text ({exc.reason} at "
                f"byte {exc.start}); save it as UTF-8"
            ) from None


def _template_error(name: str, exc: TemplateError, folders: list[Path]) -> str:
    """`prompt template FILE:LINE: what is wrong` for a template that does not render."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return f"prompt template {exc.filename}:{exc.lineno}: {exc.message}"
    # jinja runs a template as code whose file name is the template's path: the innermost such
    # frame is the line that failed (an undefined variable, an include that is missing).
    where = name
    trace = exc.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith(".j2") and os.path.isfile(filename):
            where = f"{filename}:{trace.tb_lineno}"
        trace = trace.tb_next
    if isinstance(exc, TemplateNotFound):
        searched = ", ".join(str(f) for f in folders)
        return f"prompt template {where}: includes {exc.name!r}, which none of {searched} holds"
    return f"prompt template {where}: {exc.message or type(exc).__name__}"


def builtin_dir() -> Path:
    """The packaged templates' folder.

    An installed wheel has them at `briefbot/prompts/` (pyproject maps the package there). A
    source checkout, which an editable install runs from, has them only at the repository's top
    level, where they are edited; reading them there means the files are never copied.
    """
    package = Path(__file__).resolve().parents[1]  # .../briefbot
    for candidate in (package / "prompts", package.parents[1] / "prompts"):
        if (candidate / "triage.system.j2").is_file():
            return candidate
    raise LLMError(
        f"the packaged prompt templates are missing: neither {package / 'prompts'} nor "
        f"{package.parents[1] / 'prompts'} holds triage.system.j2; reinstall briefbot"
    )


class Prompts:
    """The jinja2 environment: the project's `prompts/` folder first, then the packaged templates."""

    def __init__(self, project_dir: Path | None = None) -> None:
        self.builtin_dir = builtin_dir()
        # In a clone the repository root is itself a project, and its `prompts/` *is* the packaged
        # folder: reading it as an override would call every template a project file.
        if project_dir is not None and project_dir.is_dir() and project_dir.samefile(self.builtin_dir):
            project_dir = None
        self.project_dir = project_dir
        self._project = _Folder(project_dir) if project_dir is not None else None
        self._builtin = _Folder(self.builtin_dir)
        loaders: list[BaseLoader] = (
            [self._builtin] if self._project is None else [self._project, self._builtin]
        )
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for a model, not HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- where templates come from -----------------------------------------------------------
    def folders(self) -> list[Path]:
        """The folders searched, first match wins."""
        return [self.builtin_dir] if self.project_dir is None else [self.project_dir, self.builtin_dir]

    def names(self) -> list[str]:
        """Every template name, packaged or the project's own."""
        found = set(self._builtin.list_templates())
        if self._project is not None and self.project_dir is not None and self.project_dir.is_dir():
            found |= set(self._project.list_templates())
        return sorted(name for name in found if name.endswith(".j2"))

    def info(self, name: str) -> TemplateInfo:
        """Which file `name` is read from (not reading it); an unknown name is an `LLMError`."""
        if self._project is not None and self.project_dir is not None:
            found = self._project.find(name)
            if found is not None:
                return TemplateInfo(
                    name=name,
                    origin=f"{self.project_dir.name}/{name}",
                    path=found,
                    overridden=self._in_builtin(name),
                )
        found = self._builtin.find(name)
        if found is None:
            raise LLMError(f"no prompt template {name!r} in {', '.join(str(f) for f in self.folders())}")
        return TemplateInfo(name=name, origin=f"{BUILTIN}:{name}", path=found, overridden=False)

    def source(self, name: str) -> str:
        """The text of `name` as it will be used (the project's file when it has one)."""
        try:
            text, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]  # set above
        except TemplateNotFound:
            raise LLMError(
                f"no prompt template {name!r} in {', '.join(str(f) for f in self.folders())}"
            ) from None
        return text

    def _in_builtin(self, name: str) -> bool:
        return self._builtin.find(name) is not None

    def problems(self) -> list[str]:
        """What is wrong with the project's own templates, found without rendering them: a file
        that is not UTF-8, a syntax error (file and line), an include no folder holds. An undefined
        variable shows only when the template renders with a stage's values."""
        if self._project is None:
            return []
        found: list[str] = []
        searched = ", ".join(str(f) for f in self.folders())
        for name in self._project.list_templates():
            path = self._project.find(name)
            if not name.endswith(".j2") or path is None:
                continue
            try:
                text, _, _ = self._project.get_source(self.env, name)
                tree = self.env.parse(text, name, str(path))
            except LLMError as exc:
                found.append(str(exc))
                continue
            except TemplateSyntaxError as exc:
                found.append(f"prompt template {path}:{exc.lineno}: {exc.message}")
                continue
            for included in find_referenced_templates(tree):
                if (
                    included is not None
                    and self._project.find(included) is None
                    and not self._in_builtin(included)
                ):
                    found.append(
                        f"prompt template {path}: includes {included!r}, which none of {searched} holds"
                    )
        return found

    # -- rendering -------------------------------------------------------------------------------
    def source_hash(self, *names: str) -> str:
        digest = hashlib.sha256()
        for name in names:
            digest.update(name.encode() + b"\x00" + self.source(name).encode("utf-8") + b"\x00")
        return digest.hexdigest()[:16]

    def render_text(self, name: str, **context: Any) -> str:
        try:
            return self.env.get_template(name).render(**context).strip() + "\n"
        except TemplateError as exc:
            raise LLMError(_template_error(name, exc, self.folders())) from exc

    def render(self, stage: str, **context: Any) -> RenderedPrompt:
        """System then user message of `stage` (`<stage>.system.j2`, `<stage>.user.j2`)."""
        system, user = f"{stage}.system.j2", f"{stage}.user.j2"
        names = (system, user, *_SHARED_TEMPLATES)
        return RenderedPrompt(
            name=stage,
            template_hash=self.source_hash(*names),
            messages=[
                {"role": "system", "content": self.render_text(system, **context)},
                {"role": "user", "content": self.render_text(user, **context)},
            ],
            template_files=tuple(self.info(name).origin for name in names),
        )
