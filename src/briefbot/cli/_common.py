"""Helpers shared by the CLI modules."""

from __future__ import annotations

import click

from ..project import Project


def project(ctx: click.Context | None = None) -> Project:
    """The Project chosen by the global `--root` option."""
    context = ctx or click.get_current_context()
    obj = context.find_root().obj
    assert isinstance(obj, Project)
    return obj
