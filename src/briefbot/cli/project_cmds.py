"""`briefbot init`, `briefbot new` and `briefbot draft`: a project from nothing, a brief in it, its v1.

`init` scaffolds a root; `new` writes a brief's brief.yaml and its v0 skeleton (the title); the
night drafts a brief with no published version into a pending v1 proposal, and `draft` runs that
night for one brief now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import click
import yaml

from briefbot.cli._common import project, record_replay_options
from briefbot.config import BriefConfig, FeedSelection, load_config, load_feeds_file
from briefbot.errors import ConfigError
from briefbot.pipeline.night import RunOptions, run_night
from briefbot.project import Project, empty_brief
from briefbot.propose import DRAFT_MIN_ITEMS
from briefbot.store.proposals import ProposalStore

FEEDS_YAML = """\
# briefbot project: the feeds every brief reads from, and the settings of the HTTP and LLM stages.
# Each brief lives in briefs/<slug>/ (make one with `briefbot new SLUG --title ... --scope ...`).
#
# feeds:
#   - name: example                      # letters, digits, '.', '_' or '-'; briefs select feeds by name
#     url: https://example.org/feed.xml  # RSS, Atom or JSON Feed
#     tags: [news]                       # briefs may select feeds by tag instead
feeds: []

# search:                # optional search providers, asked with each brief's queries
#   - type: searxng
#     name: searx
#     base_url: https://searx.example.org

# http:
#   allow_private_networks: false    # true only to read feeds on your own network

# llm: {}                 # model names and limits; the key comes from OPENAI_API_KEY
"""

# What a project's .gitignore must hold, each with its comment: the whole file init writes, or
# appended to a .gitignore of the user's own when no line of it already ignores the path (their
# lines are never rewritten).
GITIGNORE_ENTRIES = (
    (".briefbot/", "# briefbot's state: the database, fetched pages, run reports, LLM call cache."),
    ("briefs/*/proposals/.lock", "# the proposal store's lock file"),
)
GITIGNORE = "".join(f"{comment}\n{pattern}\n" for pattern, comment in GITIGNORE_ENTRIES)

PROMPTS_README = """\
A prompt template placed here overrides the packaged one of the same name (`briefbot prompts list`
shows them; `briefbot prompts show NAME` prints one to start from).
"""


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def init_cmd(directory: Path | None) -> None:
    """Make DIR (default: the --root folder) a briefbot project: feeds.yaml, briefs/, prompts/, .gitignore.

    Refuses a folder that already is a project (it has a feeds.yaml); never overwrites a file. A
    .gitignore of your own keeps its lines; `.briefbot/` is appended to it when no line ignores it.
    """
    proj = Project(directory) if directory is not None else project(require=False)
    if proj.is_project():
        raise ConfigError(
            f"{proj.root} already is a briefbot project ({proj.feeds_file} exists); nothing changed"
        )
    proj.root.mkdir(parents=True, exist_ok=True)
    made: list[str] = []
    for path, text in (
        (proj.feeds_file, FEEDS_YAML),
        (proj.root / ".gitignore", GITIGNORE),
        (proj.prompts_dir / "README", PROMPTS_README),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            if path.name == ".gitignore":  # the user's own: their lines stay, ours are added
                added = _complete_gitignore(path)
                if added:
                    made.append(f".gitignore (added {', '.join(added)})")
            continue  # the user's own file stays as it is
        made.append(str(path.relative_to(proj.root)))
    proj.briefs_dir.mkdir(exist_ok=True)
    made.append("briefs/")
    click.echo(f"made {proj.root} a briefbot project ({', '.join(made)})")
    click.echo(
        "next: add a feed with `briefbot feeds add NAME URL` (or `briefbot feeds import FILE.opml`), "
        "then start a brief with `briefbot new SLUG --title TITLE --scope TEXT`"
    )


def _ignores(lines: list[str], pattern: str) -> bool:
    """Whether one of a .gitignore's lines already decides `pattern` as we write it: the same path,
    with or without a leading or trailing slash (`.briefbot`, `/.briefbot/`, `.briefbot/**`). A
    negated line (`!.briefbot/`) is the user's decision too, never overridden."""
    want = pattern.strip("/")
    for line in lines:
        entry = line.strip().removeprefix("!")
        if entry.startswith("#"):
            continue
        if entry.removesuffix("**").removesuffix("*").strip("/") == want:
            return True
    return False


def _complete_gitignore(path: Path) -> list[str]:
    """Append to a .gitignore of the user's own the entries it lacks; returns those added."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    missing = [(pattern, comment) for pattern, comment in GITIGNORE_ENTRIES if not _ignores(lines, pattern)]
    if not missing:
        return []
    added = "".join(f"{comment}\n{pattern}\n" for pattern, comment in missing)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(("\n" if text and not text.endswith("\n") else "") + added)
    return [pattern for pattern, _ in missing]


@click.command("new")
@click.argument("slug")
@click.option("--title", required=True, help="The brief's title, as readers see it.")
@click.option(
    "--scope", required=True, help="One or two sentences on what the brief follows; triage reads it."
)
@click.option("--query", "queries", multiple=True, help="A search query for the brief (repeatable).")
@click.option(
    "--feed",
    "feeds",
    multiple=True,
    help="Read only this feed of feeds.yaml (repeatable; default: every feed).",
)
def new_cmd(slug: str, title: str, scope: str, queries: tuple[str, ...], feeds: tuple[str, ...]) -> None:
    """Start the brief SLUG: its brief.yaml and an empty v0; the next night drafts v1 for review."""
    proj = project()
    proj.require_project()
    directory = proj.brief_dir(slug)  # an invalid slug is refused here
    if proj.brief_config_file(slug).exists() or (directory / "versions").is_dir():
        raise ConfigError(f"brief {slug!r} already exists ({directory}); nothing changed")
    if not title.strip():
        raise click.BadParameter("must not be blank", param_hint="--title")
    known = {f.name for f in load_feeds_file(proj.feeds_file).feeds}
    for name in feeds:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            raise ConfigError(f"--feed {name!r}: no feed of that name in {proj.feeds_file} (feeds: {listed})")
    try:
        config = BriefConfig(scope=scope, queries=list(queries), feeds=FeedSelection(names=list(feeds)))
    except ValueError as exc:
        raise ConfigError(f"brief {slug!r}: {exc}") from None
    data: dict[str, object] = {"scope": config.scope}
    if config.queries:
        data["queries"] = config.queries
    if feeds:
        data["feeds"] = {"names": list(feeds)}
    directory.mkdir(parents=True, exist_ok=True)
    proj.write_skeleton(slug, empty_brief(" ".join(title.split()), date=dt.datetime.now(dt.UTC).date()))
    with proj.brief_config_file(slug).open("x", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, allow_unicode=True, width=100)
    click.echo(f"wrote {proj.brief_config_file(slug).relative_to(proj.root)}")
    click.echo(f"the next night drafts v1 of {slug!r} for review (or now: `briefbot draft {slug}`)")


@click.command("draft")
@click.argument("slug")
@record_replay_options(replay_must_exist=True)
@click.option(
    "--date",
    "run_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run date (default: today, UTC).",
)
@click.option(
    "--min-items",
    type=click.IntRange(min=1),
    default=None,
    help=f"Refuse to draft from fewer relevant items than this (default: brief.yaml's draft_min_items, {DRAFT_MIN_ITEMS}).",
)
def draft_cmd(
    slug: str, record: Path | None, replay: Path | None, run_date: dt.datetime | None, min_items: int | None
) -> None:
    """Draft v1 of SLUG now: a night for this brief only (collect, extract, triage, draft, merge).

    Leaves a pending proposal to review and approve like any other. Exit 1 when no proposal was
    made (too few relevant items, no edit applied, a failure), with the reason.
    """
    proj = project()
    proj.require_project()
    proj.require_brief(slug)  # a mistyped slug: the nearest briefs and the list
    load_config(proj, only=slug)  # a brief without brief.yaml cannot be drafted: say so first
    published = proj.versions(slug)
    if published:
        raise ConfigError(
            f"brief {slug!r} already has v{published[-1]}; a draft is only for a brief with no version "
            f"(`briefbot run --brief {slug}` proposes the next one)"
        )
    clock = dt.datetime.now(dt.UTC)
    day = run_date.date() if run_date else clock.date()
    now = dt.datetime.combine(day, dt.time(), dt.UTC) if replay else clock
    options = RunOptions(
        briefs=[slug], run_date=day, now=now, record_dir=record, replay_dir=replay, draft_min_items=min_items
    )
    report = asyncio.run(run_night(proj, options))
    line = next((b for b in report.briefs if b.slug == slug), None)
    proposal = ProposalStore(proj, slug).load()
    if proposal is None or line is None or not line.proposal:
        reasons = ([line.note] if line and line.note else []) + report.failures
        click.echo(f"no draft of {slug!r}: {'; '.join(reasons) or 'nothing collected'}", err=True)
        click.get_current_context().exit(1)
    click.echo(
        f"drafted v{proposal.candidate.version} of {slug!r}: {line.edits_applied} edit(s) applied, "
        f"{line.edits_rejected} rejected; review it with `briefbot review {slug}`"
    )


COMMANDS: list[click.Command] = [init_cmd, new_cmd, draft_cmd]
