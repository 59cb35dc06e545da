"""The `briefbot` command: a thin layer over the stages. Each area's commands live in its own module."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any, NoReturn

import click

from briefbot.cli import (
    brief_cmds,
    collect_cmds,
    doctor_cmds,
    eval_cmds,
    extract_cmds,
    feeds_cmds,
    llm_cmds,
    project_cmds,
    prompts_cmds,
    review_cmds,
    run_cmds,
    status_cmds,
    web_cmds,
)
from briefbot.cli._common import log_error
from briefbot.cli.logs import configure as configure_logging
from briefbot.errors import BriefbotError
from briefbot.project import Project

_AREAS = (
    project_cmds,
    feeds_cmds,
    brief_cmds,
    review_cmds,
    collect_cmds,
    extract_cmds,
    llm_cmds,
    eval_cmds,
    prompts_cmds,
    run_cmds,
    status_cmds,
    doctor_cmds,
    web_cmds,
)


# The machine's own failures: a full or read-only disk, a quota. Atomic writes and SQLite
# transactions leave nothing half-written, so the user needs the cause, not a traceback.
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES}
_DISK_SQLITE = ("disk is full", "readonly database", "disk i/o error", "unable to open database")


def _disk_failure(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}; nothing was half-written"
    if isinstance(exc, sqlite3.OperationalError) and any(m in str(exc).lower() for m in _DISK_SQLITE):
        return f"state database: {exc}; nothing was half-written"
    return None


# A path that cannot be what briefbot needs: a file where a folder belongs (briefs/, .briefbot/,
# a brief's folder), a folder where a file belongs, a name longer than the file system takes.
_PATH_ERRNOS = {
    errno.ENOTDIR: "a part of this path is a file where briefbot needs a folder",
    errno.EEXIST: "exists but is not a folder; move it away so briefbot can make the folder",
    errno.EISDIR: "is a folder where briefbot needs a file",
    errno.ENAMETOOLONG: "the name is too long for the file system",
}


def _path_failure(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in _PATH_ERRNOS and exc.filename:
        return f"{exc.filename}: {_PATH_ERRNOS[exc.errno]}"
    return None


def _not_utf8(args: list[str]) -> str | None:
    """The first argument that is not UTF-8 text, as the shell passed it: Python keeps its bytes as
    lone surrogates, which no JSON, YAML or database write of the argument (a reason, a title, a
    scope) can encode."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        bad = _not_utf8(args)
        if bad is not None:
            click.echo(f"error: the argument '{bad}' is not UTF-8 text; nothing was done", err=True)
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BriefbotError as exc:
            # A typed failure is the user's to fix: say what and where, without a traceback.
            _fail(ctx, str(exc))
        except (OSError, sqlite3.Error) as exc:
            reason = _disk_failure(exc) or _path_failure(exc)
            if reason is None:
                raise
            _fail(ctx, reason)


def _fail(ctx: click.Context, message: str) -> NoReturn:
    """End the command with exit 2: `error: ...` on stderr, or with `--log-format json` the same
    JSON line as `run` and `collect` write (any command: status, doctor, runs, items...)."""
    if ctx.params.get("log_format") == "json":
        log_error(ctx.invoked_subcommand or ctx.info_name, message)
    else:
        click.echo(f"error: {message}", err=True)
    ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BRIEFBOT_ROOT",
    default=None,
    help="Project root holding feeds.yaml and briefs/ (env BRIEFBOT_ROOT; default: current directory).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as human text or as one JSON object a line (for schedulers).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.version_option(package_name="briefbot")
@click.pass_context
def main(ctx: click.Context, root: Path | None, log_format: str, verbose: bool) -> None:
    """briefbot keeps living briefs current: collect, extract, triage, propose, merge, review."""
    configure_logging(fmt=log_format, verbose=verbose)
    ctx.obj = Project.from_env(root)


for _area in _AREAS:
    for _command in _area.COMMANDS:
        main.add_command(_command)
