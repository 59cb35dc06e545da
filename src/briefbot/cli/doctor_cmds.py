"""`briefbot doctor`: is this project ready for a night? Each check one line, ok or FAIL and why.

The checks use the night's own code paths, so a pass means the night will get that far: the
config through `load_config`, the LLM endpoint through the real `LLMClient` (one tiny structured
call per configured model, logged in the call log like any call), the search providers through the
project's HTTP client and `fetch` (its address rule included), the state folder with an atomic write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sqlite3
import time
from dataclasses import asdict, dataclass

import click

from briefbot._fs import atomic_write
from briefbot.cli._common import json_logs, project
from briefbot.collect.search import make_provider
from briefbot.config import Config, FeedsFile, http_settings, load_config, load_feeds_file
from briefbot.errors import BriefbotError
from briefbot.http import HttpSettings, fetch, make_client
from briefbot.llm import LLMClient, LLMSettings
from briefbot.llm.output import OUTPUT_MODES
from briefbot.llm.ping import ping, probe
from briefbot.llm.prompts import Prompts
from briefbot.llm.settings import KEY_VAR
from briefbot.project import Project
from briefbot.store import connect

# A check answers within this, whatever the night's own timeout: a hanging endpoint is the finding.
_LLM_TIMEOUT = 30.0
_SEARCH_QUERY = "briefbot"


@dataclass(frozen=True)
class Check:
    check: str
    ok: bool
    detail: str


@dataclass
class _Loaded:
    """What the config check could read; None where it could not."""

    feeds: FeedsFile | None = None
    llm: LLMSettings | None = None
    http: HttpSettings | None = None


def _one_line(exc: BaseException) -> str:
    # A config error lists one problem a line; a check's reason is one line.
    return "; ".join(line for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


# -- the checks ---------------------------------------------------------------------------------
def check_state(proj: Project) -> Check:
    """The state folder takes an atomic write (made if missing, as a night makes it)."""
    state = proj.state_dir
    if not proj.root.is_dir():
        return Check("state", False, f"{proj.root}: the project folder does not exist")
    if state.exists() and not state.is_dir():
        return Check(
            "state",
            False,
            f"{state}: is a file, not a folder; move it away so briefbot can keep its state there",
        )
    probe = state / f".doctor-{os.getpid()}.tmp"
    try:
        atomic_write(probe, "briefbot doctor: a write test, removed at once\n")
        probe.unlink()
    except OSError as exc:
        return Check("state", False, f"{exc.filename or state}: cannot write: {exc.strerror or exc}")
    return Check("state", True, f"{state} is writable")


def check_config(proj: Project) -> tuple[list[Check], _Loaded]:
    """feeds.yaml (with its `llm:` and `http:` sections) and every brief.yaml, each brief on its own
    so that every broken file is named, not just the first."""
    loaded = _Loaded()
    if not proj.feeds_file.is_file():
        return [
            Check("config", False, f"{proj.feeds_file}: not found (is {proj.root} a briefbot project?)")
        ], loaded
    try:
        feeds = load_feeds_file(proj.feeds_file)
        loaded.llm = LLMSettings.load(feeds.llm, source=str(proj.feeds_file), require_key=False)
        loaded.http = http_settings(Config(feeds=feeds, briefs={}), proj)
    except BriefbotError as exc:
        return [Check("config", False, _one_line(exc))], loaded
    loaded.feeds = feeds
    failed: list[Check] = []
    slugs = [slug for slug in proj.slugs() if proj.brief_config_file(slug).exists()]
    for slug in slugs:
        try:
            load_config(proj, only=slug)
        except BriefbotError as exc:
            failed.append(Check("config", False, _one_line(exc)))
    if failed:
        return failed, loaded
    return [Check("config", True, f"{proj.feeds_file.name} and {len(slugs)} brief.yaml file(s) load")], loaded


def check_prompts(proj: Project) -> Check:
    """The project's own prompt templates read as UTF-8, parse, and include only templates that
    exist; a night would otherwise fail at its first LLM call."""
    if proj.prompts_dir.exists() and not proj.prompts_dir.is_dir():
        return Check(
            "prompts",
            False,
            f"{proj.prompts_dir}: not a folder, so no template is read from it; move it away",
        )
    try:
        prompts = Prompts(proj.prompts_dir)
        own = [info for info in map(prompts.info, prompts.names()) if not info.origin.startswith("builtin:")]
        problems = prompts.problems()
    except BriefbotError as exc:
        return Check("prompts", False, _one_line(exc))
    if problems:
        return Check("prompts", False, "; ".join(problems))
    if not own:
        return Check("prompts", True, "the packaged templates (the project overrides none)")
    return Check("prompts", True, f"{len(own)} project template(s) in {proj.prompts_dir} parse")


def check_key(settings: LLMSettings | None) -> Check:
    """Whether the key is set; its value is never read out, let alone printed."""
    if settings is None:
        state = "set" if os.environ.get(KEY_VAR, "").strip() else "missing"
        return Check(
            "key",
            state == "set",
            f"{KEY_VAR} {state} (whether the endpoint needs it is unknown: the config does not load)",
        )
    if settings.key_set:
        return Check("key", True, f"{KEY_VAR} set")
    if settings.key_needed:
        why = "llm.api_key_required is true" if settings.api_key_required else "it is api.openai.com"
        return Check(
            "key", False, f"{KEY_VAR} missing: the endpoint {settings.endpoint_shown} needs it ({why})"
        )
    return Check(
        "key",
        True,
        f"{KEY_VAR} missing, not needed: {settings.endpoint_shown} is not api.openai.com "
        "(set llm.api_key_required: true if it does need one)",
    )


async def check_llm(
    settings: LLMSettings | None, http: HttpSettings | None, conn: sqlite3.Connection
) -> list[Check]:
    """One tiny structured call per distinct configured model, through the night's own client."""
    if settings is None:
        return [Check("llm", False, "not tried: the config does not load")]
    names = {model: "llm " + "+".join(stages) for model, stages in _roles(settings).items()}
    if settings.key_needed and not settings.key_set:
        return [Check(name, False, f"not tried: {KEY_VAR} missing") for name in names.values()]
    # One attempt and a short timeout: the doctor reports a failing endpoint, it does not wait it out.
    quick = settings.model_copy(update={"retry_attempts": 1, "timeout": min(settings.timeout, _LLM_TIMEOUT)})
    checks = []
    async with LLMClient(quick, conn=conn, http_settings=http) as llm:
        for model, name in names.items():
            started = time.monotonic()
            try:
                await ping(llm, model=model, now=dt.datetime.now(dt.UTC))
            except BriefbotError as exc:
                checks.append(Check(name, False, f"{model} at {settings.endpoint_shown}: {_one_line(exc)}"))
                continue
            ms = int((time.monotonic() - started) * 1000)
            checks.append(
                Check(
                    name, True, f"{model} at {settings.endpoint_shown} answered a structured call in {ms} ms"
                )
            )
    return checks


def _roles(settings: LLMSettings) -> dict[str, list[str]]:
    """Each distinct configured model and the roles it plays (fallbacks included)."""
    roles: dict[str, list[str]] = {}
    roles.setdefault(settings.triage_model, []).append("triage")
    roles.setdefault(settings.propose_model, []).append("propose")
    if settings.triage_fallback_model:
        roles.setdefault(settings.triage_fallback_model, []).append("triage-fallback")
    if settings.propose_fallback_model:
        roles.setdefault(settings.propose_fallback_model, []).append("propose-fallback")
    return roles


async def check_probe(
    settings: LLMSettings | None, http: HttpSettings | None, conn: sqlite3.Connection
) -> list[Check]:
    """`--probe`: each structured-output mode tried per configured model; which works, and how to
    choose it. A mode works when its first answer validates (a re-ask can paper over a server
    that never saw the schema, so it does not count)."""
    if settings is None:
        return [Check("probe", False, "not tried: the config does not load")]
    if settings.key_needed and not settings.key_set:
        return [Check("probe", False, f"not tried: {KEY_VAR} missing")]
    checks = []
    for model, roles in _roles(settings).items():
        results: dict[str, str] = {}
        for mode in OUTPUT_MODES:
            quick = settings.model_copy(
                update={
                    "output_mode": mode,
                    "triage_output_mode": None,
                    "propose_output_mode": None,
                    "retry_attempts": 1,
                    "timeout": min(settings.timeout, _LLM_TIMEOUT),
                }
            )
            async with LLMClient(quick, conn=conn, http_settings=http) as llm:
                try:
                    result = await probe(llm, model=model, now=dt.datetime.now(dt.UTC))
                except BriefbotError as exc:
                    results[mode] = f"fails ({_reason(_one_line(exc), llm.endpoint)[:160]})"
                    continue
            results[mode] = "works" if result.stats.calls == 1 else "valid only after the re-ask"
        working = [mode for mode in OUTPUT_MODES if results[mode] == "works"]
        configured = sorted(
            {settings.output_mode_for(r.removesuffix("-fallback")) for r in roles}, key=OUTPUT_MODES.index
        )
        tried = "; ".join(f"{mode}: {outcome}" for mode, outcome in results.items())
        name = f"probe {model}"
        if not working:
            checks.append(Check(name, False, f"no structured-output mode works: {tried}"))
        elif all(mode in working for mode in configured):
            checks.append(Check(name, True, f"configured {', '.join(configured)} works; {tried}"))
        else:
            best = working[0]
            checks.append(
                Check(
                    name,
                    False,
                    f"configured {', '.join(configured)} does not work, {best} does: set `output_mode: {best}` "
                    f"under `llm:` in feeds.yaml (or BRIEFBOT_LLM_OUTPUT_MODE={best}); {tried}",
                )
            )
    return checks


def _reason(message: str, endpoint: str) -> str:
    """An LLMError's reason without the call's name and endpoint, which the check line already gives."""
    for marker in ("failed after a re-ask: ", f"{endpoint}: "):
        if marker in message:
            return message.split(marker, 1)[1]
    return message


async def check_search(feeds: FeedsFile | None, http: HttpSettings | None) -> list[Check]:
    """One query to each enabled search provider, through `fetch` and the provider's own parser."""
    if feeds is None or http is None:
        return [Check("search", False, "not tried: the config does not load")]
    providers = feeds.enabled_providers()
    if not providers:
        return [Check("search", True, "no search provider enabled")]
    checks = []
    async with make_client(http) as client:
        for config in providers:
            provider = make_provider(config)
            url = provider.request_url(_SEARCH_QUERY)
            name = f"search {config.name}"
            try:
                result = await fetch(client, url)
                parsed = provider.parse(
                    result.body,
                    url=result.final_url,
                    headers=result.headers,
                    origin="reactive:doctor",  # the shape of a search origin; nothing is stored
                    fetched_at=dt.datetime.now(dt.UTC),
                )
            except (BriefbotError, ValueError) as exc:  # ValueError: an item the parser cannot use
                checks.append(Check(name, False, _one_line(exc)))
                continue
            checks.append(Check(name, True, f"{url}: HTTP {result.status}, {parsed.entries} result(s)"))
    return checks


def run_checks(proj: Project, *, probe_modes: bool = False) -> list[Check]:
    """Every check, in the order a night needs them; `probe_modes` adds the structured-output probe."""
    checks = [check_state(proj)]
    config_checks, loaded = check_config(proj)
    checks += config_checks
    checks.append(check_prompts(proj))
    checks.append(check_key(loaded.llm))
    # The doctor's calls are logged where the night's are; a state folder that takes no write
    # still lets the endpoint be checked, with the log kept in memory.
    try:
        conn = connect(proj.state_db if checks[0].ok else ":memory:")
    except BriefbotError as exc:  # a state database that cannot be opened or migrated
        checks.append(Check("state", False, _one_line(exc)))
        conn = connect(":memory:")
    try:
        checks += asyncio.run(check_llm(loaded.llm, loaded.http, conn))
        if probe_modes:
            checks += asyncio.run(check_probe(loaded.llm, loaded.http, conn))
    finally:
        conn.close()
    checks += asyncio.run(check_search(loaded.feeds, loaded.http))
    return checks


# -- the command --------------------------------------------------------------------------------
@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
@click.option(
    "--probe",
    "probe_modes",
    is_flag=True,
    help="Also try each structured-output mode (json_schema_strict, json_schema, json_object) on "
    "each configured model and say which works and how to set it (llm.output_mode).",
)
def doctor_cmd(as_json: bool, probe_modes: bool) -> None:
    """Check that this project is ready for a night: config valid, API key present (never printed),
    the LLM endpoint answering each configured model (one tiny structured call each, logged with
    `briefbot calls`), every enabled search provider answering, the state folder writable.

    Each check is one line, `ok` or `FAIL` and the reason, naming the file, model or URL. With
    `--log-format json` each check is a JSON line on stderr (`doctor_check`), then one closing
    `doctor_finished` line; stdout stays empty unless --json asks for the document.
    Exit status: 0 every check passed, 1 at least one failed (an unreadable config included: it
    is a FAIL line like any other, and the checks that need it say "not tried").
    """
    checks = run_checks(project(), probe_modes=probe_modes)
    passed = all(c.ok for c in checks)
    if json_logs():
        _log_checks(checks)
    if as_json:
        click.echo(json.dumps({"ok": passed, "checks": [asdict(c) for c in checks]}, indent=2))
    elif not json_logs():  # with JSON logs, stdout carries nothing but what --json asks for
        width = max(len(c.check) for c in checks)
        for c in checks:
            click.echo(f"{'ok' if c.ok else 'FAIL':<4}  {c.check:<{width}}  {c.detail}")
        failed = sum(not c.ok for c in checks)
        click.echo(f"{len(checks)} checks, {failed} failed" if failed else f"{len(checks)} checks, all ok")
    click.get_current_context().exit(0 if passed else 1)


def _log_checks(checks: list[Check]) -> None:
    """`--log-format json`: one line per check (a FAIL is a warning), then a closing line with the
    exit status, as `run` closes a night with `run_finished`."""
    log = logging.getLogger("briefbot.doctor")
    for c in checks:
        log.log(
            logging.INFO if c.ok else logging.WARNING,
            "%s %s: %s",
            "ok" if c.ok else "FAIL",
            c.check,
            c.detail,
            extra={"event": "doctor_check", "check": c.check, "ok": c.ok, "detail": c.detail},
        )
    failed = sum(not c.ok for c in checks)
    log.log(
        logging.WARNING if failed else logging.INFO,
        "doctor: %s checks, %s failed",
        len(checks),
        failed,
        extra={
            "event": "doctor_finished",
            "checks": len(checks),
            "failed": failed,
            "exit_code": 1 if failed else 0,
        },
    )


COMMANDS: list[click.Command] = [doctor_cmd]

__all__ = ["COMMANDS", "Check", "doctor_cmd", "run_checks"]
