"""Brief commands: import a text-format brief, render a version, list history, diff versions, schemas."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import click
from rich.console import Console

from briefbot._fs import NotRegularFileError, atomic_write
from briefbot.brief.completeness import check_complete
from briefbot.brief.diff import diff_briefs, diff_plain, diff_rich
from briefbot.brief.render import FORMATS, render
from briefbot.brief.textformat import FORMAT_DOC, MAX_BRIEF_BYTES, parse_text
from briefbot.cli._common import project
from briefbot.errors import FormatError, StoreError
from briefbot.merge.proposal import Proposal
from briefbot.models import Brief, EditBatch
from briefbot.project import Project, read_json_model
from briefbot.store.proposals import ProposalStore
from briefbot.untrusted import clean_text


def read_brief_file(path: Path) -> str:
    """The file's text exactly as stored (no newline translation); bad UTF-8 names its line.

    The size is checked before reading (issue 17, item 10: a 50 MB file took 448 MB to import),
    on a stat that does not open the file, so a FIFO is refused instead of blocking on open."""
    limit = f"a brief file may be at most {MAX_BRIEF_BYTES:,} bytes (see {FORMAT_DOC}#file-layout)"
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path}: not a regular file; {limit}")
        if info.st_size > MAX_BRIEF_BYTES:
            raise StoreError(f"{path}: {info.st_size:,} bytes; {limit}")
        with path.open("rb") as handle:
            # Bounded even so: the file may have grown since the stat.
            raw = handle.read(MAX_BRIEF_BYTES + 1)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BRIEF_BYTES:
        raise StoreError(f"{path}: more than {MAX_BRIEF_BYTES:,} bytes; {limit}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FormatError(
            f"not valid UTF-8 at byte {exc.start} (see {FORMAT_DOC}#file-layout)", line=line, path=str(path)
        ) from None


class _VersionType(click.ParamType):
    """A version number written `7` or `v7`."""

    name = "VERSION"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).removeprefix("v")
        if not text.isdigit() or int(text) < 1:
            self.fail(f"{value!r} is not a version number like 7 or v7", param, ctx)
        return int(text)


VERSION = _VersionType()


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", required=True, help="The brief's slug (lowercase letters, digits and '-').")
def import_cmd(file: Path, slug: str) -> None:
    """Parse a text-format brief FILE and publish it as version N of SLUG (N from its header).

    The file must be in the seed's text format exactly, and whole: its Status line present, every
    citation [n] a listed source, and the header's item count at least the number of sources (a
    file cut short is refused). A refused file is reported with its line number and nothing is
    written. Publishing over an existing version is refused.
    """
    text = read_brief_file(file)
    brief = parse_text(text, path=str(file))
    check_complete(brief, text, path=str(file))
    path = project().publish(slug, brief)
    click.echo(f"imported {slug} v{brief.version} ({len(brief.sources)} sources) -> {path}", err=True)


@click.command("render")
@click.argument("slug")
@click.option(
    "--version", "version", type=VERSION, default=None, help="Version to render (default: the latest)."
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        "Write to FILE instead of stdout, replacing it atomically: an existing file keeps its mode, "
        "a new one gets the umask's (0644 with umask 022). A FILE that is a symlink, FIFO, device "
        "or directory is refused (exit 2), never written through or replaced."
    ),
)
def render_cmd(slug: str, version: int | None, fmt: str, output: Path | None) -> None:
    """Render a published version of SLUG as text (the seed's format), md, html or json.

    Text output is byte-exact: no newline is added after it.
    """
    data = render(project().load(slug, version), fmt).encode("utf-8")
    if output is None:
        # The byte stream under stdout (click's get_binary_stream is deprecated from click 8.5):
        # text mode could translate newlines or re-encode, and the output must be byte-exact.
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        atomic_write(output, data)
    except NotRegularFileError as exc:
        hint = "leave out -o and redirect stdout to write there"
        raise StoreError(f"cannot write {output}: {exc.strerror} ({hint})") from exc
    except OSError as exc:
        raise StoreError(f"cannot write {output}: {exc.strerror or exc}") from exc


@click.command("history")
@click.argument("slug")
@click.option(
    "--full", is_flag=True, help="Show the whole first paragraph of What's new, not a clipped line."
)
def history_cmd(slug: str, full: bool) -> None:
    """List the published versions of SLUG: number, date, state, items, who approved it, and the
    first line of What's new; tab-separated under a header row.

    The approver comes from the archived proposal the version was published from; a version
    imported rather than approved shows "-".
    """
    proj = project()
    versions = proj.versions(slug)
    if not versions:
        click.echo(f"no published versions of {slug!r}", err=True)
        return
    approved = approvers(proj, slug)
    click.echo(HISTORY_HEADER)
    for number in versions:
        click.echo(history_line(proj.load(slug, number), approver=approved.get(number), full=full))


HISTORY_HEADER = "version\tdate\tstate\titems\tapproved by\twhat's new"


def approvers(proj: Project, slug: str) -> dict[int, str]:
    """Who approved each published version, from the archive of closed proposals (the version's
    own file does not say). A proposal that cannot be read is named on stderr and skipped: the
    history is still worth showing without one approver."""
    found: dict[int, str] = {}
    for path in ProposalStore(proj, slug).archived():
        try:
            closed = read_json_model(path, Proposal, "proposal")
        except StoreError as exc:
            click.echo(f"warning: {exc}; its approver is not shown", err=True)
            continue
        if closed is None:  # dropped meanwhile
            continue
        if closed.state == "approved" and closed.published_version is not None:
            found[closed.published_version] = closed.closed_by or "?"
    return found


def history_line(brief: Brief, *, approver: str | None = None, full: bool = False, width: int = 100) -> str:
    first = brief.whats_new.paragraphs[0] if brief.whats_new else "-"
    if not full and len(first) > width:
        first = first[: width - 1].rstrip() + "…"
    items = f"{brief.item_count} item" + ("" if brief.item_count == 1 else "s")
    # An approver's name is whatever --by or the web's approver said: one cell, no tab or control.
    who = clean_text(approver, multiline=False).replace("\t", " ") if approver else "-"
    return f"v{brief.version}\t{brief.date.isoformat()}\t{brief.state}\t{items}\t{who}\t{first}"


@click.command("diff")
@click.argument("slug")
@click.argument("old", type=VERSION)
@click.argument("new", type=VERSION)
@click.option("--all", "context", is_flag=True, help="Also show unchanged items.")
@click.option(
    "--color/--no-color",
    "colour",
    default=None,
    help="Colour the diff (default: only when stdout is a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON data.")
def diff_cmd(slug: str, old: int, new: int, context: bool, colour: bool | None, as_json: bool) -> None:
    """Show a word-level diff between versions OLD and NEW of SLUG, section by section.

    Plain output marks removed words [-like this-] and added words {+like this+}.
    """
    proj = project()
    diff = diff_briefs(proj.load(slug, old), proj.load(slug, new))
    if as_json:
        click.echo(diff.model_dump_json(indent=2))
        return
    if colour is None:
        colour = sys.stdout.isatty()
    if colour:
        # --color means colour even where TERM says otherwise (TERM=dumb, a pager that keeps escapes).
        Console(force_terminal=True, color_system="standard", highlight=False, soft_wrap=True).print(
            diff_rich(diff, context=context), end=""
        )
    else:
        click.echo(diff_plain(diff, context=context), nl=False)


@click.command("schema")
@click.argument("what", type=click.Choice(["brief", "edits"]))
def schema_cmd(what: str) -> None:
    """Print the JSON schema of a Brief (brief) or of an edit batch (edits)."""
    model = Brief if what == "brief" else EditBatch
    click.echo(json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False))


COMMANDS: list[click.Command] = [import_cmd, render_cmd, history_cmd, diff_cmd, schema_cmd]
