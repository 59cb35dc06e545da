"""`briefbot amend`: the editor rewrites an edit instead of rejecting it (`review.amend` re-runs the
merger's checks), with the field options or in `$EDITOR`.

The text `--edit` opens is one `field: value` line per field of the edit that an editor may
rewrite, under a comment header saying which edit and where it lands. Not YAML: a brief's sentences
are full of `: `, `#` and quotes, which YAML would read as structure and an editor would have to
escape. A line that starts with one of the edit's field names and a colon begins that field; every
other line continues the field above it (an editor that wraps long lines splits a sentence, and the
lines are joined again with a space). Lines starting with `#` before the first field are the
header's comments; after it, a `#` is text ("reaches #3" wrapped before the "#3").
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import NoReturn

import click

from briefbot import review as flow
from briefbot.cli._common import EXIT_PARTIAL, project
from briefbot.cli._proposal_view import counts, next_step, targets
from briefbot.errors import ReviewError
from briefbot.merge.proposal import Proposal
from briefbot.models import Brief, Edit
from briefbot.project import Project
from briefbot.untrusted import clean_text

# -- the text in $EDITOR ---------------------------------------------------------------------------


# In the order a brief reads them: where and who, then what is said, then the What's new line.
_ORDER = ("date", "actor", "text", "stance", "evolution", "summary")


def amendable(edit: Edit) -> list[str]:
    """The fields of this edit's op that `review.amend` may rewrite, in reading order."""
    present = type(edit).model_fields
    return [name for name in _ORDER if name in flow.AMENDABLE_FIELDS and name in present]


def _header(edit: Edit, *, number: int, slug: str, target: str, note: str | None) -> list[str]:
    header = [
        f"Amend edit {number} of {slug}'s proposal: {edit.op}",
        f"Where it lands: {target}",
        "",
        "Rewrite the fields below, save and close. A field runs until the next 'field:' line;",
        "long lines may be wrapped (wrapped lines are joined with a space). A field left as it is",
        "is not changed. These '#' lines are ignored. Close without a change to amend nothing.",
    ]
    if note:
        header += ["", *note.splitlines()]
    return [f"# {line}".rstrip() for line in header] + [""]


def editable_text(edit: Edit, *, number: int, slug: str, target: str) -> str:
    """The text to open in the editor: the header, then each amendable field on one line."""
    lines = _header(edit, number=number, slug=slug, target=target, note=None)
    for name in amendable(edit):
        value = " ".join((getattr(edit, name) or "").split())
        lines.append(f"{name}: {value}".rstrip())
    return "\n".join(lines) + "\n"


def kept_text(edited: str, edit: Edit, *, number: int, slug: str, target: str, refusal: str) -> str:
    """What the editor wrote, under a fresh header that says why it was refused: the text the
    next `--edit` of this edit opens, so a refusal costs the editor nothing they typed."""
    body = edited.splitlines()
    while body and (not body[0].strip() or body[0].lstrip().startswith("#")):
        body.pop(0)
    note = f"Refused last time: {refusal}"
    lines = _header(edit, number=number, slug=slug, target=target, note=note)
    return "\n".join(lines + body) + "\n"


def same(value: str, current: str | None) -> bool:
    """Whether a value read back says what the edit says, up to the wrapping of lines."""
    return value.split() == (current or "").split()


def read_fields(text: str, fields: list[str]) -> dict[str, str]:
    """The `field: value` lines of an edited text, each field's lines joined with a space.

    Text before the first field, or a field given twice, is an error naming the line: guessing
    which of two texts the editor meant would publish the wrong one."""
    values: dict[str, list[str]] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if current is None and line.startswith("#"):
            continue
        name, colon, rest = line.partition(":")
        # A field starts at the line's start: an indented "text:" continues the field above.
        if colon and name in fields and raw.startswith(f"{name}:"):
            current = name
            if current in values:
                raise ReviewError(f"line {number}: '{current}:' is given twice; give each field once")
            values[current] = [rest.strip()] if rest.strip() else []
        elif not line:
            continue
        elif current is None:
            raise ReviewError(
                f"line {number}: text before the first field; start each field with one of: "
                + ", ".join(f"'{f}:'" for f in fields)
            )
        else:
            values[current].append(line)
    return {name: " ".join(parts) for name, parts in values.items()}


# -- the command -----------------------------------------------------------------------------------


def _kept_path(proj: Project, proposal: Proposal, slug: str, number: int) -> Path:
    """Where a refused `amend --edit` keeps the editor's text for the next try. Named after the
    proposal's creation, so the text of an edit 7 never opens on another night's edit 7."""
    made = proposal.created_at.strftime("%Y%m%dT%H%M%S%f") if proposal.created_at else "draft"
    return proj.state_dir / "amend" / f"{slug}-{made}-edit{number}.txt"


def _unchanged(number: int, why: str) -> NoReturn:
    click.echo(f"edit {number} unchanged: {why}; nothing was amended", err=True)
    click.get_current_context().exit(EXIT_PARTIAL)


def _in_editor(proposal: Proposal, slug: str, number: int, target: str, kept: Path) -> str:
    """The text the editor left in `$EDITOR`: the edit's fields, or the text kept from a refusal."""
    try:
        start = kept.read_text(encoding="utf-8")
    except FileNotFoundError:
        start = editable_text(proposal.batch.edits[number - 1], number=number, slug=slug, target=target)
    except OSError as exc:
        raise ReviewError(
            f"cannot read the text kept from the last try, {kept}: {exc.strerror or exc}"
        ) from exc
    edited = click.edit(start, extension=".txt", require_save=True)
    if edited is None:
        _unchanged(number, "the editor was closed without saving")
    return edited


def _changes(edited: str, original: Edit, number: int) -> dict[str, str]:
    """The fields the editor changed; only they are amended, as the web form does."""
    values = read_fields(edited, amendable(original))
    changes = {n: v for n, v in values.items() if not same(v, getattr(original, n))}
    if not changes:
        _unchanged(number, "no field was changed")
    return changes


def _keep(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReviewError(f"cannot keep your text in {path}: {exc.strerror or exc}") from exc


@click.command("amend")
@click.argument("slug")
@click.argument("number", type=int)
@click.option("--text", default=None, help="The edit's new text (cite like the edit does: [new:2], [12]).")
@click.option(
    "--date", "date_", default=None, help="New date, YYYY-MM-DD, YYYY-MM or YYYY (timeline entries)."
)
@click.option("--actor", default=None, help="New actor (perspectives).")
@click.option("--stance", default=None, help="New stance (perspectives).")
@click.option("--evolution", default=None, help="New evolution (perspectives).")
@click.option("--summary", default=None, help="New summary line (what What's new is assembled from).")
@click.option(
    "--edit", "in_editor", is_flag=True, help="Rewrite the edit's fields in $VISUAL or $EDITOR instead."
)
@click.option(
    "--allow-warnings",
    is_flag=True,
    help="Keep an amendment the merger applies with a new warning (a figure or date no cited item has).",
)
@click.option("--by", default=None, help="Editor's name (default: the OS user).")
def amend_cmd(
    slug: str,
    number: int,
    text: str | None,
    date_: str | None,
    actor: str | None,
    stance: str | None,
    evolution: str | None,
    summary: str | None,
    in_editor: bool,
    allow_warnings: bool,
    by: str | None,
) -> None:
    """Rewrite edit NUMBER of SLUG's pending proposal instead of rejecting it, and accept it.

    The amended edit goes through the merger's checks again (citations, dates, duplicates,
    figures): a refused amendment prints the merger's reason and exits 2 with nothing written; a
    new warning refuses it too unless --allow-warnings. The proposal records the original, the
    amendment, who and when.

    --edit opens the edit's fields as "field: value" lines in $VISUAL or $EDITOR. Closing the
    editor without a change amends nothing and exits 1. After a refusal, the next --edit of the
    same edit starts from the text you wrote, with the reason above it.
    """
    given = {
        "text": text,
        "date": date_,
        "actor": actor,
        "stance": stance,
        "evolution": evolution,
        "summary": summary,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    if in_editor and fields:
        raise click.UsageError("give --edit or field options (--text, --date, ...), not both")
    if not in_editor and not fields:
        raise click.UsageError("give --text, --date, --actor, --stance, --evolution or --summary, or --edit")
    proj = project()
    proposal = flow.pending(proj, slug)
    proposal.verdict(number)  # out of range: said before an editor opens
    target = targets(proposal, proj.load(slug, proposal.base_version))[number]
    kept = _kept_path(proj, proposal, slug, number)
    original = proposal.batch.edits[number - 1]
    edited = _in_editor(proposal, slug, number, target, kept) if in_editor else None
    try:
        if edited is not None:
            fields = _changes(edited, original, number)
        updated = flow.amend(
            proj,
            slug,
            number,
            **fields,
            now=dt.datetime.now(dt.UTC),
            by=by or getpass.getuser(),
            allow_warnings=allow_warnings,
            # The proposal the editor saw: a change made meanwhile refuses this one.
            expected_revision=proposal.revision,
        )
    except ReviewError as exc:
        hints = []
        if isinstance(exc, flow.AmendmentWarningError):
            hints.append("to keep it anyway, run again with --allow-warnings")
        if edited is not None:
            _keep(
                kept,
                kept_text(edited, original, number=number, slug=slug, target=target, refusal=str(exc)),
            )
            hints.append(f"--edit again starts from your text (kept in {kept})")
        raise ReviewError("; ".join([str(exc), *hints])) from None
    kept.unlink(missing_ok=True)
    _echo_amended(updated, proj.load(slug, updated.base_version), slug, number)


def _echo_amended(proposal: Proposal, base: Brief, slug: str, number: int) -> None:
    amendment = proposal.amendments[-1]
    verdict = proposal.verdict(number)
    click.echo(
        clean_text(
            f"amended edit {number} of {slug} ({verdict.op} · {targets(proposal, base)[number]}), "
            f"revision {proposal.revision}:",
            multiline=False,
        )
    )
    for name in amendable(amendment.amended):
        was, now = getattr(amendment.original, name), getattr(amendment.amended, name)
        if was != now:
            click.echo(clean_text(f"  {name} was: {was if was is not None else '(none)'}", multiline=False))
            click.echo(clean_text(f"  {name} now: {now if now is not None else '(none)'}", multiline=False))
    for warning in verdict.warnings:
        click.echo(clean_text(f"  warning: {warning}", multiline=False))
    decision = f", {verdict.decision} by the editor" if verdict.decision else ""
    click.echo(f"edit {number}: {verdict.status}{decision}")
    click.echo(f"v{proposal.candidate.version}: {counts(proposal)}; {next_step(proposal, slug)}")
