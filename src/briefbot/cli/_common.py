"""Helpers shared by the CLI modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from briefbot.project import Project

F = TypeVar("F", bound=Callable[..., Any])


def project(ctx: click.Context | None = None) -> Project:
    """The Project chosen by the global `--root` option."""
    context = ctx or click.get_current_context()
    obj = context.find_root().obj
    assert isinstance(obj, Project)
    return obj


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
