"""`briefbot serve` (the review page and published briefs) and `briefbot site` (a static copy)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click
import uvicorn

from briefbot.cli._common import project
from briefbot.web import check_bind, create_app
from briefbot.web.security import allowed_hosts
from briefbot.web.site import build_site

COMMANDS: list[click.Command] = []


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; loopback unless a token is set.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port.",
)
@click.option(
    "--token",
    envvar="BRIEFBOT_TOKEN",
    default=None,
    help="Access token every request must present (open the page once with ?token=T); required off loopback. "
    "Env BRIEFBOT_TOKEN.",
)
@click.option(
    "--allowed-host",
    "extra_hosts",
    metavar="NAME",
    multiple=True,
    help="A host name (or address) clients use to reach the server, besides the address listened on "
    "and localhost; repeatable. Requests naming any other host are refused (DNS rebinding).",
)
@click.option(
    "--by",
    default=None,
    help="Name recorded for decisions and approvals (default: the OS user).",
)
def serve(host: str, port: int, token: str | None, extra_hosts: tuple[str, ...], by: str | None) -> None:
    """Serve the editor's review page and the published briefs over HTTP."""
    check_bind(host, token)
    hosts = allowed_hosts(host, extra_hosts)
    app = create_app(project(), token=token, approver=by or getpass.getuser(), allowed_hosts=hosts)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"briefbot: serving {project().root.resolve()} on http://{shown}:{port}/"
        + ("?token=…" if token else "")
    )
    if host.strip("[]") in ("0.0.0.0", "::") and not extra_hosts:
        click.echo(
            "briefbot: requests must name one of "
            + ", ".join(sorted(hosts))
            + "; add --allowed-host NAME for each name clients use to reach this machine"
        )
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    default="",
    help="Public address of the site, to make the Atom feeds' links absolute.",
)
def site(out_dir: Path, base_url: str) -> None:
    """Write the published briefs as a static site (HTML + Atom feeds) into OUT_DIR."""
    written = build_site(project(), out_dir, base_url=base_url)
    pages = sum(1 for p in written if p.suffix == ".html")
    feeds = sum(1 for p in written if p.suffix == ".atom")
    click.echo(f"wrote {pages} pages and {feeds} feeds to {os.fspath(out_dir)}")


COMMANDS.extend([serve, site])
