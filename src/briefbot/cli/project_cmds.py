"""(Being built: issue 15.) Commands of this area register themselves in COMMANDS."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
