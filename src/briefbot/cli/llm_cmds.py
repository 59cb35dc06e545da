"""CLI commands of one area; `COMMANDS` is what `briefbot.cli` registers."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
