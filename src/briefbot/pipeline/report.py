"""The closing report of a nightly run: one pydantic model (stored as JSON) and its rich tables."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_serializer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from briefbot.http.redact import redact
from briefbot.llm import CallStats
from briefbot.models import StrictModel

RunStatus = Literal["done", "partial", "failed", "idle"]


class StageTime(StrictModel):
    stage: str
    brief: str = ""
    seconds: float
    status: Literal["done", "failed", "skipped"] = "done"


class LLMUsage(StrictModel):
    calls: int = 0  # exchanges sent over HTTP (re-asks included)
    cache_hits: int = 0  # calls answered from the call cache (a resumed run pays nothing for them)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    # Which models gave the answers used, and how many came from a stage's fallback model.
    answered_by: dict[str, int] = Field(default_factory=dict)
    fallbacks: int = 0

    def add(self, other: CallStats | LLMUsage) -> None:
        """Add a stage's call stats, or a brief's usage to the run's: the one usage sum of the
        pipeline. The cost is rounded at each step so the stored report does not grow float noise."""
        for name in type(self).model_fields:
            if name == "answered_by":
                for model, n in other.answered_by.items():
                    self.answered_by[model] = self.answered_by.get(model, 0) + n
                continue
            total = getattr(self, name) + getattr(other, name)
            setattr(self, name, round(total, 6) if name == "cost_usd" else total)

    def answered_line(self) -> str:
        """`gpt-4.1 ×3, llama3.1:8b ×1`: who answered, most answers first."""
        ranked = sorted(self.answered_by.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{model} ×{n}" for model, n in ranked)


class BriefReport(StrictModel):
    slug: str
    candidates: int = 0  # items offered to triage
    excluded: int = 0  # already among the brief's sources (by URL or title)
    stale: int = 0  # collected tonight but published before the brief's freshness cutoff: not weighed
    relevant: int = 0
    background: int = 0
    irrelevant: int = 0
    edits_applied: int = 0
    edits_rejected: int = 0
    proposal: str | None = None  # path of the pending proposal written this run
    replaced: bool = False  # it replaced an undecided proposal of the same night
    note: str | None = None
    warnings: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)
    llm: LLMUsage = Field(default_factory=LLMUsage)

    @field_serializer("failures", "warnings")
    def _mask_all(self, texts: list[str]) -> list[str]:
        return _masked(texts)

    @field_serializer("note")
    def _mask(self, text: str | None) -> str | None:
        return None if text is None else redact(text)


def _masked(texts: list[str]) -> list[str]:
    """Secret shapes masked (issue 17.9): a stage's failure may quote a URL with its api_key or an
    error body echoing a token. The LLM client masks its own secrets first; this catches the rest,
    wherever the report goes (report.json, the runs ledger, the printed report)."""
    return [redact(t) for t in texts]


class RunReport(StrictModel):
    run_id: int
    run_date: dt.date
    mode: Literal["live", "record", "replay"]
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: RunStatus = "done"
    exit_code: int = 0
    resumed: list[int] = Field(default_factory=list, description="interrupted runs this one took over from")
    sources_checked: int = 0  # feeds and searches asked
    not_modified: int = 0  # of which answered 304
    collected: int = 0  # new items stored, to be weighed
    stale: int = 0  # new items stored too old for every brief they are candidates of: not weighed
    duplicates: int = 0
    pages_fetched: int = 0
    extracted: int = 0  # items with a document (page text or the summary fallback)
    page_fallbacks: int = 0  # of which only the feed summary
    briefs: list[BriefReport] = Field(default_factory=list)
    llm: LLMUsage = Field(default_factory=LLMUsage)
    stages: list[StageTime] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)  # feeds, pages, calls that failed, each named
    notes: list[str] = Field(default_factory=list)

    @property
    def idle(self) -> bool:
        return self.status == "idle"

    @field_serializer("failures", "notes")
    def _mask_all(self, texts: list[str]) -> list[str]:
        return _masked(texts)


# How many failures of each kind the printed report names; report.json keeps them all.
EXAMPLES_PER_KIND = 3

_URL = re.compile(r"https?://[^\s'\"<>()]+")
_KIND = re.compile(r"^([a-z][a-z_-]*)\b")


class FailureGroup(StrictModel):
    kind: str  # feed, search, page, triage, propose, ...: the failure's first word
    host: str  # of the first URL it names; "-" when it names none
    count: int


class FailureSummary(StrictModel):
    """A night's failures grouped for reading: counts per kind and host, a few examples per kind."""

    total: int
    kinds: dict[str, int]
    groups: list[FailureGroup]
    examples: list[str]
    more: int  # failures not among the examples

    @classmethod
    def of(cls, failures: list[str], *, per_kind: int = EXAMPLES_PER_KIND) -> FailureSummary:
        kinds: Counter[str] = Counter()
        groups: Counter[tuple[str, str]] = Counter()
        examples: list[str] = []
        for failure in failures:
            kind = failure_kind(failure)
            kinds[kind] += 1
            groups[(kind, failure_host(failure))] += 1
            if kinds[kind] <= per_kind:
                examples.append(failure)
        return cls(
            total=len(failures),
            kinds=dict(kinds.most_common()),
            groups=[FailureGroup(kind=k, host=h, count=n) for (k, h), n in groups.most_common()],
            examples=examples,
            more=len(failures) - len(examples),
        )


def failure_kind(failure: str) -> str:
    """`feed`, `page`, `triage`...: failures are written "<kind> <name>: <reason>" by the stages."""
    match = _KIND.match(failure)
    return match.group(1) if match else "other"


def failure_host(failure: str) -> str:
    match = _URL.search(failure)
    host = urlsplit(match.group(0)).hostname if match else None
    return host or "-"


def table_title(text: str) -> Text:
    """A table's title that is never wrapped. Rich sets a title in its table's width, so a title
    longer than a narrow table broke in two even piped ("failures: 35 (30 page, 5" / "feed)"); this
    one is kept on its line whole (a terminal narrower than it crops it, as any long line)."""
    return Text(text, style="table.title", no_wrap=True, overflow="ignore")


def failures_renderable(
    failures: list[str], *, listed: str = "every failure is listed in report.json"
) -> list[Table | Text]:
    """Counts per kind and host, then the first few failures of each kind and how many more."""
    if not failures:
        return []
    summary = FailureSummary.of(_masked(failures))
    kinds = ", ".join(f"{n} {kind}" for kind, n in summary.kinds.items())
    parts: list[Table | Text] = []
    if summary.more or len(summary.groups) > 1:
        table = Table(title=table_title(f"failures: {summary.total} ({kinds})"), title_justify="left")
        table.add_column("kind")
        table.add_column("host")
        table.add_column("failed", justify="right")
        for group in summary.groups:
            table.add_row(group.kind, group.host, str(group.count))
        parts.append(table)
    parts += [Text(f"failed: {failure}", style="red") for failure in summary.examples]
    if summary.more:
        parts.append(Text(f"... and {summary.more} more ({listed})", style="red"))
    return parts


def _money(value: float, unpriced: int) -> str:
    text = f"${value:.4f}"
    return text + (f" (+{unpriced} unpriced)" if unpriced else "")


def report_renderable(report: RunReport) -> Group:
    """The report as rich tables: the run's figures, then one row per brief, then failures."""
    report = RunReport.model_validate(report.model_dump(mode="json"))  # as stored: secrets masked
    head = Table(
        title=table_title(
            f"briefbot run {report.run_id} — {report.run_date} ({report.mode}): {report.status}"
        ),
        show_header=False,
        title_justify="left",
    )
    head.add_column("figure")
    head.add_column("value", overflow="fold")
    head.add_row(
        "feeds/searches asked",
        f"{report.sources_checked} ({report.not_modified} not modified)",
    )
    stale = f"{report.stale} stale (too old to weigh), " if report.stale else ""
    head.add_row("items collected", f"{report.collected} new, {stale}{report.duplicates} duplicates")
    head.add_row(
        "pages",
        f"{report.pages_fetched} fetched, {report.extracted} extracted "
        f"({report.page_fallbacks} on the feed summary)",
    )
    llm = report.llm
    head.add_row("LLM calls", f"{llm.calls} sent, {llm.cache_hits} from the call cache")
    head.add_row(
        "tokens",
        f"{llm.prompt_tokens} in ({llm.cached_tokens} cached), {llm.completion_tokens} out",
    )
    head.add_row("estimated cost", _money(llm.cost_usd, llm.unpriced))
    if llm.fallbacks:  # only then: the usual night's table stays as it was
        head.add_row("answered by", f"{llm.answered_line()} ({llm.fallbacks} by a fallback model)")
    head.add_row(
        "time per stage",
        ", ".join(
            f"{s.stage}{'[' + s.brief + ']' if s.brief else ''} {s.seconds:.1f}s" for s in report.stages
        )
        or "-",
    )
    if report.resumed:
        head.add_row("resumed", ", ".join(f"run {n}" for n in report.resumed))
    parts: list[Table | Text] = [head]
    if report.briefs:
        briefs = Table(title=table_title("briefs"), title_justify="left")
        briefs.add_column("brief", overflow="fold")
        # The stale column only on a night that set items aside, so the usual table stays as it was.
        with_stale = any(b.stale for b in report.briefs)
        for name in (
            "items",
            *(["stale"] if with_stale else []),
            "relevant",
            "backgr.",
            "irrel.",
            "applied",
            "rejected",
        ):
            briefs.add_column(name, justify="right")
        for b in report.briefs:
            briefs.add_row(
                b.slug,
                str(b.candidates),
                *([str(b.stale)] if with_stale else []),
                str(b.relevant),
                str(b.background),
                str(b.irrelevant),
                str(b.edits_applied),
                str(b.edits_rejected),
            )
        parts.append(briefs)
        for b in report.briefs:
            if b.proposal:
                verb = "replaced" if b.replaced else "written"
                parts.append(Text(f"{b.slug}: proposal {verb}: {b.proposal} (briefbot review {b.slug})"))
            elif b.note:
                parts.append(Text(f"{b.slug}: {b.note}"))
        for b in report.briefs:
            if b.llm.fallbacks:
                parts.append(
                    Text(
                        f"{b.slug}: {b.llm.fallbacks} answer(s) from a fallback model, its own model "
                        f"failing on server errors (answered by {b.llm.answered_line()})",
                        style="yellow",
                    )
                )
    for note in report.notes:
        parts.append(Text(note))
    for warning in (w for b in report.briefs for w in b.warnings):
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts += failures_renderable(report.failures)
    return Group(*parts)


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """`briefbot runs`: one row per run from the ledger."""
    table = Table(title=table_title("runs"), title_justify="left")
    for name in (
        "id",
        "date",
        "mode",
        "status",
        "exit",
        "started",
        "items",
        "LLM calls",
        "cost",
        "edits",
    ):
        table.add_column(name, overflow="fold")
    for run in runs:
        report = run.get("report") or {}
        llm = report.get("llm") or {}
        edits = sum(b.get("edits_applied", 0) for b in report.get("briefs", []))
        table.add_row(
            str(run["id"]),
            run["run_date"],
            run["mode"],
            run["status"],
            "" if run["exit_code"] is None else str(run["exit_code"]),
            run["started_at"],
            str(report.get("collected", "")),
            str(llm.get("calls", "")),
            f"${llm['cost_usd']:.4f}" if "cost_usd" in llm else "",
            str(edits) if report else "",
        )
    return table
