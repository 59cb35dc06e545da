"""The editor's commands: edit (make a proposal), review, decide, amend, whats-new, approve,
discard, restore."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from briefbot import review as flow
from briefbot.batch import check_batch_size, read_batch
from briefbot.brief.diff import diff_briefs, diff_plain, diff_rich
from briefbot.brief.render import clean_brief
from briefbot.cli._amend import amend_cmd
from briefbot.cli._common import EXIT_PARTIAL, project, shown
from briefbot.cli._proposal_view import counts, echo_summary, next_step, proposal_report
from briefbot.errors import ReviewError

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _numbers(value: str | None, option: str) -> list[int]:
    if not value:
        return []
    numbers: list[int] = []
    try:
        for part in value.replace(" ", "").split(","):
            if "-" in part:  # a range, "3-7", as an editor reads a long proposal
                low, high = (int(x) for x in part.split("-", 1))
                if low > high:
                    raise ValueError(part)
                numbers += range(low, high + 1)
            elif part:
                numbers.append(int(part))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of edit numbers or ranges (1,3,5-9)", param_hint=option
        ) from None
    return numbers


# -- commands --------------------------------------------------------------------------------------


@click.command("edit")
@click.argument("slug")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Edit batch JSON file.",
)
@click.option("--replace", is_flag=True, help="Replace the pending proposal if there is one.")
@click.option(
    "--date", "run_date", type=_DATE, default=None, help="Run date YYYY-MM-DD (default: today, UTC)."
)
def edit_cmd(slug: str, source: Path, replace: bool, run_date: dt.datetime | None) -> None:
    """Merge an edit batch into the latest version of SLUG and store it as the pending proposal."""
    try:
        # The size first: a file far over the limit is refused without being read into memory.
        check_batch_size(source.stat().st_size, path=str(source))
        raw = source.read_bytes()
    except OSError as exc:
        raise click.FileError(str(source), hint=exc.strerror or str(exc)) from None
    batch = read_batch(raw, path=str(source))
    now = _now()
    day = run_date.date() if run_date else now.date()
    proposal = flow.make_proposal(project(), slug, batch, run_date=day, now=now, replace=replace)
    echo_summary(proposal)


@click.command("review")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the proposal as JSON.")
def review_cmd(slug: str, as_json: bool) -> None:
    """Show the pending proposal of SLUG: each edit's verdict, citations, and the diff of the brief."""
    proj = project()
    proposal = flow.pending(proj, slug)
    base = proj.load(slug, proposal.base_version)
    report = proposal_report(proposal, base)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"[bold]{slug}[/bold] v{report['base_version']} -> v{report['candidate_version']} "
        f"(revision {report['revision']}, run date {report['run_date']})"
    )
    if report["restored_at"]:
        at = dt.datetime.fromisoformat(report["restored_at"]).strftime("%Y-%m-%d %H:%M UTC")
        console.print(shown(f"restored by {report['restored_by'] or 'an editor'}, {at}, after a discard"))
    for entry in report["edits"]:
        style = "green" if entry["verdict"] == "applied" else "red"
        decision = f" · {entry['decision']} by the editor" if entry["decision"] else ""
        console.print(
            Text(f"\n{entry['number']}. {entry['op']} — {entry['verdict']}{decision}", style=f"bold {style}")
        )
        # Everything below quotes what a model wrote or a feed said: printed through `shown`.
        # The target first: an actor's name is the model's text too.
        console.print(shown(f"   {entry['target']}", style="bold"))
        if entry["decision_reason"]:
            console.print(shown(f"   the editor's reason: {entry['decision_reason']}"))
        for amendment in entry["amendments"]:
            at = dt.datetime.fromisoformat(amendment["at"]).strftime("%Y-%m-%d %H:%M UTC")
            console.print(shown(f"   amended by {amendment['by'] or 'an editor'}, {at}"))
        console.print(shown(f"   {entry['edit']['summary']} ({entry['edit']['significance']})"))
        if entry["reason"]:
            console.print(shown(f"   reason: {entry['reason']}", style="red"))
        for warning in entry["warnings"]:
            console.print(shown(f"   warning: {warning}", style="yellow"))
        for cited in entry["cited"]:
            what = " · ".join(
                str(x) for x in (cited["title"], cited["publisher"], cited["date"], cited["url"]) if x
            )
            console.print(shown(f"   [{cited['marker']}] {what or '(unknown)'}", style="dim"))
    if report["whats_new_edited"]:
        origin = " (the editor's)"
    elif report["whats_new_origin"] == "draft":
        origin = " (the proposer's draft, checked)"
    elif report["whats_new_origin"] == "assembled":
        origin = f" (assembled: {report['whats_new_note']})"
    else:
        origin = ""
    console.print()
    console.print(shown(f"What's new{origin}:", style="bold"))
    for paragraph in report["whats_new"] or ["(nothing applied)"]:
        console.print(shown(f"  {paragraph}"))
    for warning in flow.whats_new_warnings(proposal):
        console.print(shown(f"  warning: {warning}", style="yellow"))
    console.print(Text("\nChanges:", style="bold"))
    # The briefs' text came from feeds and a model: cleaned before the diff shows it.
    diff = diff_briefs(clean_brief(base), clean_brief(proposal.final_brief()))
    # Without colour the word markers of the plain diff are the only way to see what changed.
    if console.is_terminal:
        console.print(diff_rich(diff), end="")
    else:
        click.echo(diff_plain(diff), nl=False)


@click.command("decide")
@click.argument("slug")
@click.option("--accept", default=None, help="Edit numbers to accept, e.g. 1,3 or 2-9.")
@click.option("--reject", default=None, help="Edit numbers to reject, e.g. 2 or 4-6.")
@click.option(
    "--reason",
    default=None,
    help=f"Why, in a line (at most {flow.MAX_REASON_CHARS} characters): kept with each edit decided here "
    "and shown on its review card.",
)
@click.option("--by", default=None, help="Editor's name (default: the OS user).")
def decide_cmd(slug: str, accept: str | None, reject: str | None, reason: str | None, by: str | None) -> None:
    """Record decisions on edits of SLUG's pending proposal; rejected edits drop out and it is re-merged.

    Ends with a summary line: what this command decided, the proposal's applied, rejected and
    undecided counts, and the next step."""
    accepted, rejected = _numbers(accept, "--accept"), _numbers(reject, "--reject")
    if not accepted and not rejected:
        raise click.UsageError("give --accept and/or --reject")
    proj = project()
    before = flow.pending(proj, slug)
    proposal = flow.decide(
        proj,
        slug,
        accept=accepted,
        reject=rejected,
        reason=reason,
        now=_now(),
        by=by or getpass.getuser(),
        # The revision read above: the line on a dropped What's new below speaks of this change only.
        expected_revision=before.revision,
    )
    echo_summary(proposal)
    if before.whats_new_override is not None and proposal.whats_new_override is None:
        now = {"draft": "the proposer's draft", "assembled": "the merger's assembly"}.get(
            proposal.whats_new_origin or "", "none"
        )
        click.echo(
            "the editor's What's new was dropped: the applied edits changed and it described the old ones "
            f"(now {now}; set it again with: briefbot whats-new {slug} --edit)"
        )
    click.echo(
        f"accepted {len(set(accepted))}, rejected {len(set(rejected))}: {counts(proposal)}; "
        f"{next_step(proposal, slug)}"
    )


def _read_text(path: Path) -> str:
    """The editor's text from `path` ('-': standard input) as UTF-8; an unreadable or undecodable
    file is a typed error naming it (exit 2), not a traceback."""
    name = "standard input" if str(path) == "-" else str(path)
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise ReviewError(f"cannot read {name}: {exc.strerror or exc}; nothing was changed") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewError(
            f"{name} is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); "
            "write it as UTF-8; nothing was changed"
        ) from None


@click.command("whats-new")
@click.argument("slug")
@click.option(
    "--set",
    "text_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="File with the new What's new; '-' reads it from standard input.",
)
@click.option(
    "--edit", "in_editor", is_flag=True, help="Write it in $EDITOR, starting from the current text."
)
def whats_new_cmd(slug: str, text_file: Path | None, in_editor: bool) -> None:
    """Replace the What's new of SLUG's pending proposal with the editor's text.

    Paragraphs are separated by a blank line. If later decisions change which edits are applied,
    the editor's text is cleared, because it would describe other edits. With --edit, closing the
    editor without a change (or emptying the text) sets nothing and exits 1.
    """
    if (text_file is None) == (not in_editor):
        raise click.UsageError("give one of --set FILE, --set - or --edit")
    if in_editor:
        current = flow.pending(project(), slug).final_brief().whats_new
        start = "\n\n".join(current.paragraphs) + "\n" if current else ""
        edited = click.edit(start, extension=".txt", require_save=True)
        if edited is None or not edited.strip() or edited.split() == start.split():
            # Nothing was asked of the proposal: not an error, but not done either (as amend --edit).
            click.echo(
                "What's new unchanged: the editor was closed without saving, or without a change, "
                "or left it empty",
                err=True,
            )
            click.get_current_context().exit(EXIT_PARTIAL)
        text = edited
    else:
        assert text_file is not None
        text = _read_text(text_file)
    proposal = flow.set_whats_new(project(), slug, text, now=_now())
    click.echo(
        f"What's new of {slug} v{proposal.candidate.version} set ({len(proposal.whats_new_override or [])} paragraphs)"
    )
    for warning in flow.whats_new_warnings(proposal):
        click.echo(f"warning: {warning}")


@click.command("approve")
@click.argument("slug")
@click.option(
    "--date", "date", type=_DATE, default=None, help="Publication date YYYY-MM-DD (default: the run date)."
)
@click.option("--by", default=None, help="Approver's name (default: the OS user).")
def approve_cmd(slug: str, date: dt.datetime | None, by: str | None) -> None:
    """Publish SLUG's pending proposal as the next immutable version and archive the proposal."""
    brief, path, archived = flow.approve(
        project(), slug, by=by or getpass.getuser(), now=_now(), date=date.date() if date else None
    )
    click.echo(
        f"published {slug} v{brief.version} ({brief.date.isoformat()}, {brief.item_count} items) -> {path}"
    )
    click.echo(f"proposal archived -> {archived}")


@click.command("discard")
@click.argument("slug")
@click.option("--by", default=None, help="Editor's name (default: the OS user).")
def discard_cmd(slug: str, by: str | None) -> None:
    """Drop SLUG's pending proposal (kept in the archive, never published)."""
    archived = flow.discard(project(), slug, by=by or getpass.getuser(), now=_now())
    click.echo(f"proposal discarded -> {archived}")


@click.command("restore")
@click.argument("slug")
@click.option("--by", default=None, help="Editor's name (default: the OS user).")
def restore_cmd(slug: str, by: str | None) -> None:
    """Bring back SLUG's last discarded proposal as the pending one, decisions and amendments intact.

    Refused (exit 2) when a proposal is pending, when the last proposal was approved rather than
    discarded, or when a version was published since the discarded one was made."""
    proposal = flow.restore(project(), slug, by=by or getpass.getuser(), now=_now())
    click.echo(
        f"restored the proposal for {slug} v{proposal.candidate.version} (from v{proposal.base_version}, "
        f"revision {proposal.revision}): {counts(proposal)}"
    )
    click.echo(f"review it with: briefbot review {slug}; {next_step(proposal, slug)}")


COMMANDS: list[click.Command] = [
    edit_cmd,
    review_cmd,
    decide_cmd,
    amend_cmd,
    whats_new_cmd,
    approve_cmd,
    discard_cmd,
    restore_cmd,
]
