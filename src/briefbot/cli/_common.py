"""Helpers shared by the CLI modules."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from briefbot.errors import BriefbotError
from briefbot.project import Project
from briefbot.untrusted import clean_text

F = TypeVar("F", bound=Callable[..., Any])


def project(ctx: click.Context | None = None, *, require: bool = True) -> Project:
    """The Project chosen by the global `--root` option; a root that is not a project (no
    feeds.yaml) is refused with an error naming `briefbot init`, unless `require` is False
    (init and demo make one)."""
    context = ctx or click.get_current_context()
    obj = context.find_root().obj
    assert isinstance(obj, Project)
    if require:
        obj.require_project()
    return obj


# Exit status of the commands that do a night's work (`run`, `collect`, `extract`, `propose`).
EXIT_DONE, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2

# Piped output is read by programs and grep, not by eyes: a line as long as its content, never
# rich's default of 80 columns, which folds a cell mid-word ("partia l").
_PIPED_WIDTH = 10_000


def shown(value: object, *, multiline: bool = False, style: str = "") -> Text:
    """Text we did not write (a feed's title, a page's words, a model's answer), ready for a rich
    table cell or `print`: controls and bidi overrides removed (the store cleans what it stores;
    this also covers rows stored before it did, and text that never went through the store), and a
    `Text`, which rich never reads as markup, so `[bold]` or `[link=...]` in it is shown as written."""
    return Text(clean_text(str(value), multiline=multiline), style=style)


def shown_markup(value: object) -> str:
    """`shown` for the inside of a rich markup string (a progress description): cleaned, then
    escaped, so a `[/]` in a title neither styles nor breaks the line around it."""
    return escape(clean_text(str(value), multiline=False))


def exit_status(*, done: int, failed: int) -> int:
    """0 when nothing failed, 1 when some parts failed and others worked, 2 when every part
    failed (nothing could be done). `done` and `failed` count the parts: sources, pages, batches."""
    if not failed:
        return EXIT_DONE
    return EXIT_PARTIAL if done else EXIT_ERROR


def json_logs(ctx: click.Context | None = None) -> bool:
    """Whether `--log-format json` was given: then stdout carries no human tables, and stderr
    nothing but JSON lines."""
    context = ctx or click.get_current_context()
    return context.find_root().params.get("log_format") == "json"


def console(*, stderr: bool = False) -> Console:
    """A rich console for tables: the terminal's width on a terminal; piped, no wrapping at all
    (COLUMNS still wins when set)."""
    out = Console(stderr=stderr)
    if out.is_terminal or os.environ.get("COLUMNS"):
        return out
    return Console(stderr=stderr, width=_PIPED_WIDTH)


def log_error(command: str | None, message: str) -> None:
    """The JSON log line of a failure that ends a command with exit 2 (`--log-format json`)."""
    logging.getLogger("briefbot.cli").error(
        "%s: %s",
        command,
        message,
        extra={"event": "error", "command": command, "exit_code": EXIT_ERROR},
    )


def errors_as_json_logs(func: F) -> F:
    """With `--log-format json`, a typed failure that ends the command (exit 2) is a JSON log line
    too, not the bare "error: ..." text: a scheduler's log stays one JSON object a line."""

    @functools.wraps(func)
    def logged(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BriefbotError as exc:
            if not json_logs():
                raise
            log_error(click.get_current_context().info_name, str(exc))
            raise SystemExit(EXIT_ERROR) from None

    return logged  # type: ignore[return-value]  # functools.wraps keeps the signature


def record_replay_options(*, replay_must_exist: bool = False) -> Callable[[F], F]:
    """`--record DIR` and `--replay DIR` for a command that makes HTTP requests; the two exclude
    each other. The command receives them as the keyword arguments `record` and `replay`."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def checked(*args: Any, record: Path | None, replay: Path | None, **kwargs: Any) -> Any:
            if record is not None and replay is not None:
                raise click.UsageError("--record and --replay are exclusive")
            return func(*args, record=record, replay=replay, **kwargs)

        checked = click.option(
            "--replay",
            type=click.Path(file_okay=False, exists=replay_must_exist, path_type=Path),
            default=None,
            help="Serve HTTP from a recording made with --record, fully offline; a request it lacks is an error.",
        )(checked)
        checked = click.option(
            "--record",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Write every HTTP exchange (feeds, search, pages, LLM) into this folder.",
        )(checked)
        return checked  # type: ignore[return-value]  # click.option returns the same function, typed loosely

    return decorate
