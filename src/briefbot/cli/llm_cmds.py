"""The LLM stage's commands: `propose` (triage, propose, merge -> pending proposal) and `calls`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import click
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from briefbot import store
from briefbot.cli._common import EXIT_DONE, EXIT_PARTIAL, console, errors_as_json_logs, project
from briefbot.config import format_loc, load_brief_config, load_feeds_file
from briefbot.errors import ConfigError, FormatError, ReviewError
from briefbot.http import HttpSettings
from briefbot.http.redact import redact
from briefbot.llm import CallStats, LLMClient, LLMSettings
from briefbot.merge.proposal import Proposal
from briefbot.models import BatchItem
from briefbot.pipeline.bookkeeping import Bookkeeping
from briefbot.pipeline.brief import merge_step, propose_step, triage_step
from briefbot.pipeline.report import BriefReport
from briefbot.propose import ProposeResult
from briefbot.store.llm_calls import list_calls
from briefbot.store.proposals import ProposalStore
from briefbot.triage import TriageResult

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_ITEMS = TypeAdapter(list[BatchItem])


def read_items(path: Path) -> list[BatchItem]:
    """A JSON list of edit-batch items; errors name the file and the JSON path."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        items = _ITEMS.validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{path}: {format_loc(tuple(e['loc'])) if e['loc'] else '(top level)'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:10]
        )
        raise FormatError(problems, line=1, path=str(path)) from None
    refs = [item.ref for item in items]
    repeated = sorted({r for r in refs if refs.count(r) > 1})
    if repeated:
        raise FormatError(
            f"item refs must be unique; repeated: {', '.join(repeated)}", line=1, path=str(path)
        )
    return items


def _settings(root_project) -> tuple[LLMSettings, HttpSettings]:
    feeds = load_feeds_file(root_project.feeds_file)
    llm = LLMSettings.load(feeds.llm, source=str(root_project.feeds_file))
    try:
        http = HttpSettings.model_validate(feeds.http)
    except ValidationError as exc:
        raise ConfigError(
            f"{root_project.feeds_file}: http: {exc.errors(include_url=False)[0]['msg']}"
        ) from None
    return llm, http


def _stats_line(stats: CallStats) -> str:
    cost = f"${stats.cost_usd:.4f}"
    if stats.unpriced:
        cost += f" (+ {stats.unpriced} call(s) of unknown cost: no price for the model in llm.prices)"
    return (
        f"LLM calls: {stats.calls} ({stats.attempts} HTTP attempts, {stats.cache_hits} answered from cache); "
        f"tokens: {stats.prompt_tokens} prompt ({stats.cached_tokens} cached), {stats.completion_tokens} "
        f"completion; estimated cost {cost}"
    )


@click.command("propose")
@click.argument("slug")
@click.option(
    "--items",
    "items_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON list of candidate items in the edit-batch item shape (ref new:K, url, title, ..., text).",
)
@click.option(
    "--date", "run_date", type=_DATE, default=None, help="Run date (YYYY-MM-DD; default: today, UTC)."
)
@click.option("--replace", is_flag=True, help="Replace an existing pending proposal.")
@errors_as_json_logs
def propose_cmd(slug: str, items_file: Path, run_date: dt.datetime | None, replace: bool) -> None:
    """Triage ITEMS for SLUG, ask the LLM for edits, merge them, and leave a pending proposal.

    Exit status: 0 done (edits the merger rejected are its verdicts, not failures), 1 partial
    (some triage batches failed; the others' items went on), 2 nothing could be done (every
    triage batch failed, the propose call failed, or the input was refused).
    """
    root = project()
    brief = root.load(slug)
    items = read_items(items_file)
    if not items:
        click.echo("no items: no LLM call made, no proposal")
        return
    # Refuse before paying for calls whose proposal could not be stored.
    pending = ProposalStore(root, slug).load()
    if pending is not None and not replace:
        raise ReviewError(
            f"brief {slug!r} already has a pending proposal; approve or discard it, or pass --replace"
        )
    llm_settings, http_settings = _settings(root)
    config_file = root.brief_config_file(slug)
    scope = load_brief_config(config_file).scope if config_file.exists() else None
    day = run_date.date() if run_date else dt.datetime.now(dt.UTC).date()
    # The night's per-brief steps; outside a night there are no books to keep, and a failed call
    # is this command's error.
    book, out = Bookkeeping(), BriefReport(slug=slug)

    async def run() -> tuple[TriageResult, ProposeResult | None]:
        conn = store.connect(root.state_db)
        try:
            async with LLMClient(llm_settings, conn=conn, http_settings=http_settings) as llm:
                triaged = await triage_step(llm, brief, items, slug=slug, scope=scope, out=out, book=book)
                assert triaged is not None  # no books: a failure raised
                kept = triaged.kept()
                if not kept:
                    return triaged, None
                proposed = await propose_step(
                    llm, brief, kept, slug=slug, scope=scope, run_date=day, out=out, book=book
                )
                return triaged, proposed
        finally:
            conn.close()

    triaged, proposed = asyncio.run(run())
    code = EXIT_PARTIAL if triaged.failures else EXIT_DONE
    ctx = click.get_current_context()
    _echo_report(len(items), triaged, proposed)
    if proposed is None or not proposed.batch.edits:
        click.echo("no edits proposed: no proposal written")
        ctx.exit(code)
    merged = merge_step(
        root,
        brief,
        proposed.batch,
        slug=slug,
        run_date=day,
        now=dt.datetime.now(dt.UTC),
        replace=replace,
        expected_revision=None,
        held=len(items),
        out=out,
        book=book,
    )
    if merged.proposal is None:
        click.echo("no edit could be applied: no proposal written")
        _echo_verdicts(merged.trial)
        ctx.exit(code)
    _echo_verdicts(merged.proposal)
    click.echo(f"pending proposal: {ProposalStore(root, slug).pending_path} (see `briefbot review {slug}`)")
    ctx.exit(code)


def _echo_report(items_in: int, triaged: TriageResult, proposed: ProposeResult | None) -> None:
    counts = {
        label: sum(1 for t in triaged.items if t.relevance == label)
        for label in ("relevant", "background", "irrelevant")
    }
    click.echo(
        f"items: {items_in} in, {len(triaged.kept())} kept "
        f"({counts['relevant']} relevant, {counts['background']} background), {counts['irrelevant']} irrelevant"
    )
    for failure in triaged.failures:
        click.echo(f"  failed: {failure}")
    for warning in triaged.warnings():
        click.echo(f"  warning: {warning}")
    if proposed is not None and proposed.truncated:
        click.echo(f"  text cut to the token budget: {', '.join(proposed.truncated)}")
    stats = CallStats().merge(triaged.stats)
    if proposed is not None:
        stats.merge(proposed.stats)
    click.echo(_stats_line(stats))
    if stats.fallbacks:  # which model answered, when it was not always the configured one
        answered = ", ".join(f"{model} ×{n}" for model, n in sorted(stats.answered_by.items()))
        click.echo(f"answered by: {answered} ({stats.fallbacks} by a fallback model)")


def _echo_verdicts(proposal: Proposal) -> None:
    applied = proposal.applied()
    click.echo(f"edits: {len(applied)} applied, {len(proposal.verdicts) - len(applied)} rejected")
    for verdict in proposal.verdicts:
        line = f"  {verdict.number}. {verdict.op}: {verdict.status}"
        if verdict.reason:
            line += f" ({verdict.reason})"
        click.echo(line)


@click.command("calls")
@click.option("--brief", "slug", default=None, help="Only calls for this brief.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The most recent N calls."
)
@click.option("--json", "as_json", is_flag=True, help="Print the calls as a JSON list.")
def calls_cmd(slug: str | None, limit: int, as_json: bool) -> None:
    """List logged LLM calls: stage, brief, model, tokens, latency, attempts, outcome, cost."""
    root = project()
    if slug is not None:
        root.require_brief(slug)  # a mistyped slug: the nearest briefs and the list
    conn = store.connect(root.state_db)
    try:
        rows = list_calls(conn, brief=slug, limit=limit)
    finally:
        conn.close()
    if as_json:
        shown = [row.model_dump(exclude={"result"}) for row in rows]
        for row_dict in shown:  # rows logged before errors were masked at the source (issue 17.9)
            if row_dict.get("error"):
                row_dict["error"] = redact(row_dict["error"])
        click.echo(json.dumps(shown, indent=2))
        return
    if not rows:
        click.echo("no LLM calls logged")
        return
    table = Table(
        "id",
        "when",
        "stage",
        "brief",
        "model",
        "outcome",
        "tries",
        "prompt",
        "cached",
        "compl.",
        "ms",
        "cost $",
    )
    for row in rows:
        table.add_row(
            str(row.id),
            row.created_at or "",
            row.stage,
            row.brief,
            row.model,
            row.outcome,
            str(row.attempts),
            _num(row.prompt_tokens),
            _num(row.cached_tokens),
            _num(row.completion_tokens),
            _num(row.latency_ms),
            "" if row.cost_usd is None else f"{row.cost_usd:.4f}",
        )
    console().print(table)


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


COMMANDS: list[click.Command] = [propose_cmd, calls_cmd]
