"""`briefbot prompts`: which prompt templates a project uses, and where each one comes from."""

from __future__ import annotations

import click

from briefbot.cli._common import project
from briefbot.config import PROMPTS_DIR
from briefbot.llm.prompts import Prompts


def _prompts() -> Prompts:
    # The same folder config.load_feeds_file hands the LLM client, so this shows what a run uses.
    return Prompts(project().root / PROMPTS_DIR)


def _name(prompts: Prompts, name: str) -> str:
    # `triage.system` is what a user reads in `list` without the suffix; accept it.
    if not name.endswith(".j2") and f"{name}.j2" in prompts.names():
        return f"{name}.j2"
    return name


@click.group("prompts")
def prompts_group() -> None:
    """Show the prompt templates and where each comes from.

    A file in the project's prompts/ folder (beside feeds.yaml) replaces the packaged template of
    the same name, for every call the project makes. Start from a copy of the packaged one:
    `briefbot prompts show triage.system.j2 --builtin > prompts/triage.system.j2`.
    """


@prompts_group.command("list")
def list_cmd() -> None:
    """List every template and where it comes from.

    `builtin:NAME` is the packaged template; `prompts/NAME` is the project's own file, used instead.
    """
    prompts = _prompts()
    rows = [prompts.info(name) for name in prompts.names()]
    width = max((len(row.name) for row in rows), default=0)
    for row in rows:
        note = "  (overrides the builtin)" if row.overridden else ""
        click.echo(f"{row.name.ljust(width)}  {row.origin}{note}")


@prompts_group.command("show")
@click.argument("name")
@click.option(
    "--builtin", is_flag=True, help="Show the packaged template even where the project overrides it."
)
def show_cmd(name: str, builtin: bool) -> None:
    """Print template NAME as it will be used.

    NAME is a file name such as triage.system.j2 (the .j2 may be left off). The project's own file
    is shown where it has one, the packaged template otherwise.
    """
    prompts = _prompts()
    name = _name(prompts, name)
    if builtin:
        prompts = Prompts(None)
    text = prompts.source(name)
    click.echo(text, nl=not text.endswith("\n"))


@prompts_group.command("path")
def path_cmd() -> None:
    """Print the folders searched for templates.

    The first folder holding a name wins: the project's prompts/, then the packaged templates.
    """
    prompts = _prompts()
    wanted = project().root / PROMPTS_DIR
    if prompts.project_dir is None:
        # A source checkout: the project's prompts/ is the packaged folder itself.
        click.echo(f"{prompts.builtin_dir}  builtin (also this project's {PROMPTS_DIR}/)")
        return
    if wanted.is_dir():
        state = ""
    elif wanted.exists():
        state = " (not a folder: no template is read from it; move it away)"
    else:
        state = " (absent: create it to override a template)"
    click.echo(f"{wanted}  project{state}")
    click.echo(f"{prompts.builtin_dir}  builtin")


COMMANDS: list[click.Command] = [prompts_group]
