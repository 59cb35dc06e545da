"""`briefbot eval`: the gold nights through the LLM stage, scored, saved, compared."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.table import Table

from briefbot.cli._common import EXIT_DONE, EXIT_ERROR, EXIT_PARTIAL, console, errors_as_json_logs, project
from briefbot.config import describe_error, load_feeds_file
from briefbot.errors import ConfigError
from briefbot.eval import results
from briefbot.eval.gold import builtin_folder, find_nights, load_night, select
from briefbot.eval.runner import STAGE_SETTINGS, NightRun, fingerprint_of, run_night, setup_of
from briefbot.eval.score import COUNTS, Score
from briefbot.http import HttpSettings
from briefbot.llm import LLMSettings
from briefbot.pipeline.report import table_title
from briefbot.project import Project

PROJECT_NIGHTS = "eval"  # a project's own gold nights: <root>/eval/<night>/


def _settings(root: Project, sets: tuple[str, ...], base_url: str | None) -> tuple[LLMSettings, HttpSettings]:
    feeds = load_feeds_file(root.feeds_file)
    llm = LLMSettings.load(feeds.llm, source=str(root.feeds_file), require_key=False)
    update: dict[str, str] = {}
    for assignment in sets:
        stage, sep, model = assignment.partition("=")
        if not sep or not model.strip() or stage not in STAGE_SETTINGS:
            raise click.BadParameter(
                f"{assignment!r}: expected STAGE=MODEL with STAGE one of {', '.join(STAGE_SETTINGS)}",
                param_hint="--set",
            )
        update[STAGE_SETTINGS[stage]] = model.strip()
    if base_url is not None:
        update["base_url"] = base_url
    llm = llm.model_copy(update=update)
    llm.require_key()  # after --base-url: a local endpoint needs no key
    try:
        http = HttpSettings.model_validate(feeds.http)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, root.feeds_file, prefix=("http",))) from None
    return llm, http


def _folders(root: Project) -> list[Path]:
    builtin = builtin_folder()
    return [*([builtin] if builtin else []), root.root / PROJECT_NIGHTS]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


_COLUMNS = (
    "night",
    "status",
    "relevant P/R/F1",
    "macro F1",
    "must",
    "must_not",
    "applied",
    "cites ok",
    "WN words",
    "WN cites ok",
    "tokens p/c",
    "cost",
    "time",
)


def _row(name: str, score: Score, status: str) -> list[str]:
    f = score.figures()
    cost = "n/a" if score.usage.cost_usd is None else f"${score.usage.cost_usd:.4f}"
    cached = f["tokens.cached_share"]
    return [
        name,
        status,
        f"{_pct(f['triage.relevant.precision'])}/{_pct(f['triage.relevant.recall'])}/{_pct(f['triage.relevant.f1'])}",
        _pct(f["triage.macro_f1"]),
        f"{score.must_met}/{score.must}",
        str(sum(score.must_not.values())),
        f"{score.edits_applied}/{score.edits_proposed}",
        f"{score.citations_valid}/{score.citations}",
        _words(f["whats_new.words"]),
        f"{score.whats_new_citations_valid}/{score.whats_new_citations}",
        f"{score.usage.prompt_tokens}/{score.usage.completion_tokens}"
        + ("" if cached is None else f" ({cached:.0%} cached)"),
        cost,
        f"{score.usage.wall_seconds:.1f}s",
    ]


def _words(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _status(score: Score) -> str:
    if not score.failed:
        return "ok"
    return "failed" if score.nights == 1 else f"{score.failed} failed"


def _print(result: results.EvalResult, saved: Path) -> None:
    out = console()
    repeats = len(result.runs)
    title = f"eval {result.fingerprint}" + (f", repeat 1 of {repeats}" if repeats > 1 else "")
    table = Table(*_COLUMNS, title=table_title(title))
    for name in result.nights:
        table.add_row(*_row(name, result.runs[0][name], _status(result.runs[0][name])))
    table.add_row(*_row("overall", result.overall(0), _status(result.overall(0))))
    out.print(table)
    if repeats > 1:
        # Every repeat's overall line: the run-to-run spread that --compare judges differences by.
        table = Table(
            "repeat", *_COLUMNS[1:], title=table_title(f"eval {result.fingerprint}, overall of each repeat")
        )
        for n in range(repeats):
            overall = result.overall(n)
            table.add_row(*_row(str(n + 1), overall, _status(overall)))
        out.print(table)
    last = result.overall(0)
    for label, lines in (
        ("missed must", last.must_missed),
        ("must_not", last.must_not_detail),
        ("rejected", [f"{count} x {reason}" for reason, count in sorted(last.rejections.items())]),
        ("failed", last.errors),
    ):
        for line in lines:
            click.echo(f"  {label}: {line}")
    models = result.setup["models"]
    click.echo(
        f"models: triage {models['triage']}, propose {models['propose']} at {result.setup['endpoint']}; "
        f"fingerprint {result.fingerprint}"
    )
    click.echo(f"saved: {saved}")


def _print_compare(pa: Path, a: results.EvalResult, pb: Path, b: results.EvalResult) -> None:
    rows = results.compare(a, b)
    out = console()
    table = Table(
        "scope", "metric", f"A {a.fingerprint}", f"B {b.fingerprint}", "spread", "", title="eval compare"
    )
    for row in rows:
        if row.scope != "overall" and not row.marked:
            continue  # a night's unchanged figures are noise in a long table; --json has them all
        mark = ""
        if row.marked:
            mark = "*" + (f" {row.better.upper()} better" if row.better else "")
        whole = row.metric in COUNTS
        table.add_row(
            row.scope, row.metric, _num(row.a, whole), _num(row.b, whole), _num(row.spread, whole), mark
        )
    out.print(table)
    click.echo(f"A: {pa} ({len(a.runs)} repeat(s)); B: {pb} ({len(b.runs)} repeat(s))")
    if len(a.runs) < 2 and len(b.runs) < 2:
        click.echo(
            "no run-to-run spread measured (run with --repeat 2 or more): every difference is marked *"
        )
    else:
        click.echo("* the difference exceeds the run-to-run spread (max - min over repeats)")
    click.echo("a night's rows are shown only where they differ (--json lists every figure)")
    for key, va, vb in _setup_differences(a.setup, b.setup):
        click.echo(f"setup differs: {key}: {va} -> {vb}")


def _setup_differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, A's value, B's value) of every leaf that differs."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _setup_differences(va, vb, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", va, vb))
    return out


def _num(value: float | None, whole: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}".removesuffix(".0") if whole else f"{value:.3f}"


@click.command("eval")
@click.option("--night", "names", multiple=True, help="Run only this gold night (repeatable; default: all).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="STAGE=MODEL",
    help=f"Use MODEL for STAGE ({', '.join(STAGE_SETTINGS)}) instead of the configured one (repeatable).",
)
@click.option(
    "--base-url", default=None, help="OpenAI-compatible endpoint to evaluate (default: the configured one)."
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1, max=50),
    default=1,
    show_default=True,
    help="Run every night K times, to measure run-to-run spread for --compare.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the saved result as JSON instead of tables.")
@click.option(
    "--compare",
    nargs=2,
    metavar="A B",
    default=None,
    help="Compare two saved results (a path, or part of a file name in .briefbot/eval/: its fingerprint) instead of running.",
)
@errors_as_json_logs
def eval_cmd(
    names: tuple[str, ...],
    sets: tuple[str, ...],
    base_url: str | None,
    repeat: int,
    as_json: bool,
    compare: tuple[str, str] | None,
) -> None:
    """Run the gold nights through triage, propose and the merger on the configured model; print
    per-night and overall metrics and save them under .briefbot/eval/.

    Gold nights come from the repository's fixtures/eval/ and the project's own eval/ folder
    (docs/eval.md). Nothing of the project's briefs or state is read or written but the result.

    Exit status: 0 every night answered, 1 some nights failed at the endpoint, 2 an error (bad
    configuration or night files, or every night failed).
    """
    root = project()
    if compare is not None and (names or sets or base_url or repeat != 1):
        raise click.UsageError(
            "--compare reads two saved results and runs nothing: drop --night, --set, --base-url and --repeat"
        )
    if compare is not None:
        pa, a = results.load(compare[0], root.state_dir)
        pb, b = results.load(compare[1], root.state_dir)
        if as_json:
            click.echo(json.dumps([row.model_dump() for row in results.compare(a, b)], indent=1))
        else:
            _print_compare(pa, a, pb, b)
        return
    nights = [load_night(folder) for folder in select(find_nights(_folders(root)), list(names))]
    if not nights:
        raise ConfigError(
            f"no gold nights found in {', '.join(str(f) for f in _folders(root))}; see docs/eval.md"
        )
    llm, http = _settings(root, sets, base_url)

    async def all_runs() -> list[dict[str, NightRun]]:
        done = []
        for _ in range(repeat):
            done.append({night.name: await run_night(night, llm, http_settings=http) for night in nights})
        return done

    runs = asyncio.run(all_runs())
    setup = setup_of(llm, nights)
    result = results.EvalResult(
        created_at=dt.datetime.now(dt.UTC),
        fingerprint=fingerprint_of(setup),
        setup=setup,
        nights=[night.name for night in nights],
        runs=[{name: run.score for name, run in repeat_runs.items()} for repeat_runs in runs],
    )
    saved = results.save(result, root.state_dir)
    if as_json:
        click.echo(json.dumps({"saved": str(saved), **result.model_dump(mode="json")}, indent=1))
    else:
        _print(result, saved)
    failed, total = result.failed, len(nights) * repeat
    code = EXIT_DONE if not failed else (EXIT_ERROR if failed == total else EXIT_PARTIAL)
    click.get_current_context().exit(code)


COMMANDS: list[click.Command] = [eval_cmd]
