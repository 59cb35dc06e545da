"""Running `briefbot run` as a subprocess for the chaos harness, and reading what it left: the
proposals (with the volatile fields blanked), digests of versions and trees, the run report, the
store's integrity and the live run ledger (to aim a SIGKILL at a stage)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _llm_server import LLMServer
from _world import BRIEFBOT, RUN_DATE, SLUGS

# Short HTTP timeouts so a "timeout" fault costs a second, and fast LLM retries.
HTTP = {"read_timeout": 1.0, "total_timeout": 2.0, "connect_timeout": 2.0}
LLM = {"retry_wait_initial": 0.05, "retry_wait_max": 0.2, "timeout": 10}
VOLATILE = ("created_at", "updated_at", "revision")


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)


LLM_FAULTS = ("429", "500", "junk-body", "junk-content")


class LLMFaults:
    """429 / 500 / junk body (a 200 that is not JSON) / junk content (JSON of the wrong shape) for
    `rate` of the calls, from a seeded RNG; at most `limit` faults when given."""

    def __init__(self, rate: float, seed: int, *, kinds: tuple[str, ...] = LLM_FAULTS) -> None:
        self.rate, self.rng, self.on, self.kinds = (
            rate,
            random.Random(seed),
            False,
            kinds,
        )
        self.limit: int | None = None
        self.script: list[str] = []  # answered first, in order, whatever the rate

    def __call__(self) -> str | None:
        if self.script:
            return self.script.pop(0)
        if not self.on or self.rng.random() >= self.rate or self.limit == 0:
            return None
        if self.limit is not None:
            self.limit -= 1
        return self.rng.choice(self.kinds)


def briefbot(root: Path, llm: LLMServer, *, timeout: float = 300) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="chaos-key",
        BRIEFBOT_LLM_MAX_CONCURRENCY="8",
    )
    log = open(root.parent / f"{root.name}.log", "ab")  # noqa: SIM115  # closed by finish()
    proc = subprocess.Popen(
        [BRIEFBOT, "--root", str(root), "run", "--date", RUN_DATE.isoformat()],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    proc.log = log  # type: ignore[attr-defined]  # Popen has no slot for it; finish() closes it
    return proc


def finish(proc: subprocess.Popen[bytes], *, timeout: float = 300) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        proc.log.close()  # type: ignore[attr-defined]  # set by the function that started it


def run_to_end(root: Path, llm: LLMServer) -> tuple[int, float]:
    started = time.perf_counter()
    code = finish(briefbot(root, llm))
    return code, time.perf_counter() - started


def _blind(data: Any) -> Any:
    """Drop where an item came from (origin, publisher): a feed that failed lets a search bring it first."""
    if isinstance(data, dict):
        return {k: (None if k in ("origin", "publisher") else _blind(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_blind(v) for v in data]
    return data


def proposals(root: Path, *, blind: bool = False) -> dict[str, str]:
    out = {}
    for slug in SLUGS:
        path = root / "briefs" / slug / "proposals" / "pending.json"
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            for key in VOLATILE:
                data[key] = None
            if blind:
                data = _blind(data)
            out[slug] = json.dumps(data, indent=1, ensure_ascii=False)
    return out


def versions_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "briefs").glob("*/versions/*"))
    }


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def latest_report(root: Path) -> dict[str, Any] | None:
    runs = sorted(
        (root / ".briefbot" / "runs").glob("*/report.json"),
        key=lambda p: int(p.parent.name),
    )
    return json.loads(runs[-1].read_text()) if runs else None


def store_checks(root: Path, out: Outcome, *, expect_urls: set[str] | None = None) -> set[str]:
    db = root / ".briefbot" / "state.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            out.problems.append(f"{db}: integrity_check says {ok}")
        urls = [row[0] for row in conn.execute("SELECT url FROM items")]
    finally:
        conn.close()
    articles: dict[str, int] = {}
    for url in urls:
        m = re.search(r"/(?:articles|syndicated)/(\d+)\.html", url)
        key = m.group(1) if m else url
        articles[key] = articles.get(key, 0) + 1
    twice = sorted(k for k, v in articles.items() if v > 1)
    if twice:
        out.problems.append(f"{root.name}: world articles stored more than once: {twice[:10]}")
    if expect_urls is not None and set(urls) != expect_urls:
        out.problems.append(
            f"{root.name}: stored items differ from the clean run's: "
            f"{len(set(urls) - expect_urls)} extra, {len(expect_urls - set(urls))} missing"
        )
    return set(urls)


def source_checks(root: Path, out: Outcome) -> None:
    for slug in SLUGS:
        path = root / "briefs" / slug / "proposals" / "pending.json"
        if not path.exists():
            continue
        sources = json.loads(path.read_text())["candidate"]["sources"]
        urls = [s["url"] for s in sources if s.get("url")]
        if len(urls) != len(set(urls)):
            out.problems.append(f"{slug}: a source URL appears twice in the candidate")


def fault_names(report: dict[str, Any], faults: list[tuple[str, str, str]], epoch: str, out: Outcome) -> None:
    text = "\n".join(report["failures"])
    for when, path, kind in faults:
        if when != epoch:
            continue
        parts = urlsplit(path)
        if parts.path.startswith("/feeds/"):
            name = parts.path[len("/feeds/") : -len(".xml")]
        else:
            name = parse_qs(parts.query).get("q", [""])[0]
        if name not in text:
            out.problems.append(
                f"run {report['run_id']}: fault {kind} on {path} not named in the report's failures"
            )


STAGES = ("collect", "extract", "triage", "propose", "merge")


def _ledger(root: Path, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Read the run ledger of a live run (WAL: a reader never blocks the writer); [] if not there yet."""
    db = root / ".briefbot" / "state.db"
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def last_run_id(root: Path) -> int:
    rows = _ledger(root, "SELECT max(id) FROM runs", ())
    return (rows[0][0] or 0) if rows else 0


def running_stage(root: Path, *, after: int) -> str | None:
    rows = _ledger(
        root,
        "SELECT stage, brief FROM run_stages WHERE run_id > ? AND status = 'running' "
        "ORDER BY started_at DESC LIMIT 1",
        (after,),
    )
    return f"{rows[0][0]} {rows[0][1]}".strip() if rows else None


def wait_for_stage(
    root: Path, proc: subprocess.Popen[bytes], stage: str, *, after: int, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if _ledger(
            root,
            "SELECT 1 FROM run_stages WHERE run_id > ? AND stage = ?",
            (after, stage),
        ):
            return True
        time.sleep(0.01)
    return False


def compare(name: str, clean: Path, root: Path, out: Outcome, *, blind: bool, strict: bool) -> None:
    reference, got = proposals(clean, blind=blind), proposals(root, blind=blind)
    how = "ignoring item origin/publisher" if blind else "byte for byte"
    for slug in sorted(set(reference) | set(got)):
        if reference.get(slug) != got.get(slug):
            message = (
                f"{name}: {slug}: the proposal differs from the clean run's {how} "
                f"({_first_difference(reference.get(slug), got.get(slug))})"
            )
            (out.problems if strict else out.notes).append(message)
        else:
            out.notes.append(f"{name}: {slug}: proposal equals the clean run's {how}")


def _first_difference(a: str | None, b: str | None) -> str:
    if a is None or b is None:
        return "missing in the " + ("clean run" if a is None else "chaos run")
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"first at char {k}: clean {a[max(0, k - 60) : k + 60]!r} vs chaos {b[max(0, k - 60) : k + 60]!r}"
