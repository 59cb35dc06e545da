"""Chaos: the nightly run under faults and SIGKILL, on the SYNTHETIC world of bench/_world.py.

One world server and one LLM server (same ports for every root, so every root sees the same URLs):
1. a clean run on a fresh root gives the reference proposals;
2. a chaos root: feeds and searches fail at random (500, timeout, truncated body, garbage body;
   `--feed-faults`, seeded), the LLM answers 429/500/junk to a fifth of calls (seeded), and the run
   is SIGKILLed at a random moment `--kills` times, each followed by a restart; then one run is let
   finish under the faults, and (when feeds failed) one more after the world heals;
   a third root runs one night in two runs: every search and every other feed down in the
   first, all healed in the second (`split_night`);
3. checks: each brief's pending proposal equals the clean one byte for byte (after blanking the
   three fields that record when/how often it was written: created_at, updated_at, revision); no
   world article stored twice; no source URL twice in a candidate; `PRAGMA integrity_check` ok;
   published versions unchanged; every injected feed/search fault of a finished run named in its
   report;
4. disk: a root on a read-only mount and one on a full tmpfs give a clear error and corrupt
   nothing (skipped, with the reason, when tmpfs cannot be mounted, e.g. not root).

    python bench/chaos.py [--items 200] [--kills 5] [--feed-faults 0.25] [--llm-faults 0.2] [--seed 1]

Exit status 0 when every check holds; the problems are printed otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _world import RUN_DATE, SLUGS, Faults, LLMServer, World, WorldServer, write_root

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

    def __init__(
        self, rate: float, seed: int, *, kinds: tuple[str, ...] = LLM_FAULTS
    ) -> None:
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


def briefbot(
    root: Path, llm: LLMServer, *, timeout: float = 300
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_API_KEY="chaos-key",
        BRIEFBOT_LLM_MAX_CONCURRENCY="8",
    )
    log = open(root.parent / f"{root.name}.log", "ab")  # noqa: SIM115 - closed by finish()
    proc = subprocess.Popen(
        ["briefbot", "--root", str(root), "run", "--date", RUN_DATE.isoformat()],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc


def finish(proc: subprocess.Popen[bytes], *, timeout: float = 300) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        proc.log.close()  # type: ignore[attr-defined]


def run_to_end(root: Path, llm: LLMServer) -> tuple[int, float]:
    started = time.perf_counter()
    code = finish(briefbot(root, llm))
    return code, time.perf_counter() - started


def _blind(data: Any) -> Any:
    """Drop where an item came from (origin, publisher): a feed that failed lets a search bring it first."""
    if isinstance(data, dict):
        return {
            k: (None if k in ("origin", "publisher") else _blind(v))
            for k, v in data.items()
        }
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


def store_checks(
    root: Path, out: Outcome, *, expect_urls: set[str] | None = None
) -> set[str]:
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
        out.problems.append(
            f"{root.name}: world articles stored more than once: {twice[:10]}"
        )
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


def fault_names(
    report: dict[str, Any], faults: list[tuple[str, str, str]], epoch: str, out: Outcome
) -> None:
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


class ChaosLab:
    """The servers, the clean reference root and its proposals; scenarios run against it.

    `with ChaosLab(items=60, workdir=tmp) as lab:` then `lab.scenario(...)`, `lab.read_only(...)`,
    `lab.full_disk(...)`, each adding to an `Outcome`.
    """

    def __init__(
        self,
        *,
        items: int,
        workdir: Path,
        seed: int = 1,
        llm_faults: float = 0.2,
        llm_kinds: tuple[str, ...] = LLM_FAULTS,
        feed_size: int | None = None,
    ) -> None:
        self.world = World(items, relevant_share=0.15, **({"feed_size": feed_size} if feed_size else {}))
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.faults = Faults(rate=0.0, seed=seed, timeout_seconds=3.0)
        self.llm_chaos = LLMFaults(llm_faults, seed, kinds=llm_kinds)
        self.web = WorldServer(self.world, latency=0.01, faults=self.faults, hosts=4)
        self.llm = LLMServer(latency=0.02, faults=self.llm_chaos)
        self.clean = workdir / "clean"
        self.clean_seconds = 0.0
        self.reference: dict[str, str] = {}
        self.clean_urls: set[str] = set()

    def __enter__(self) -> ChaosLab:  # noqa: PYI034 - used only as a context manager, never subclassed
        self.web.__enter__()
        self.llm.__enter__()
        try:
            self.fresh(self.clean)
            code, self.clean_seconds = run_to_end(self.clean, self.llm)
            if code != 0:
                raise RuntimeError(f"the clean run exited {code}: see {self.clean}.log")
            self.reference = proposals(self.clean)
            if not self.reference:
                raise RuntimeError("the clean run made no proposal: nothing to compare")
            self.clean_urls = store_checks(self.clean, Outcome())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.llm.__exit__(None, None, None)
        self.web.__exit__(None, None, None)

    def fresh(self, root: Path) -> Path:
        write_root(root, self.world, self.web.base, http=HTTP, llm=LLM)
        return root

    def scenario(
        self,
        name: str,
        out: Outcome,
        *,
        feed_faults: float,
        kills: int,
    ) -> None:
        """A fresh root, `kills` SIGKILLed runs under the faults, one run to the end, a healed run;
        the proposals must then equal the clean run's byte for byte."""
        root = self.fresh(self.workdir / f"chaos-{name}")
        _scenario(
            name,
            root,
            llm=self.llm,
            faults=self.faults,
            llm_chaos=self.llm_chaos,
            feed_rate=feed_faults,
            kills=kills,
            rng=self.rng,
            clean_seconds=self.clean_seconds,
            out=out,
        )
        _compare(name, self.clean, root, out, blind=False, strict=True)
        if feed_faults:  # a second view: when bytes differ, does more than provenance differ?
            _compare(name, self.clean, root, out, blind=True, strict=True)
        store_checks(root, out, expect_urls=self.clean_urls)
        source_checks(root, out)

    def split_night(self, out: Outcome) -> dict[str, str]:
        """One night in two runs: the first with every search and every other feed down (it
        finishes, exit 1, with part of the night's items), the second after the world heals. The
        second must propose what one clean run proposes, byte for byte: the items of both runs
        weighed together and numbered as one batch."""
        root = self.fresh(self.workdir / "split-night")
        feeds = sorted(self.world.feeds())
        self.faults.down = {"/searxng/search"} | {f"/feeds/{name}.xml" for name in feeds[::2]}
        self.faults.epoch = "split-first"
        try:
            first, _ = run_to_end(root, self.llm)
        finally:
            self.faults.down = set()
        partial = proposals(root)
        out.notes.append(
            "split-night: after the first run, "
            f"{sum(partial.get(s) != self.reference.get(s) for s in SLUGS)} brief(s) stood apart from the clean run"
        )
        self.faults.epoch = "split-healed"
        second, _ = run_to_end(root, self.llm)
        out.runs.append({"scenario": "split-night", "first_exit": first, "healed_exit": second})
        if first != 1:
            out.problems.append(f"split-night: the run with feeds down exited {first}, not 1")
        if second != 0:
            out.problems.append(f"split-night: the healed run exited {second}: see {root}.log")
        _compare("split-night", self.clean, root, out, blind=False, strict=True)
        store_checks(root, out, expect_urls=self.clean_urls)
        source_checks(root, out)
        return partial

    def bad_answers(self, kinds: tuple[str, ...], out: Outcome) -> None:
        """A fresh root whose run's first LLM calls get one bad answer each (`kinds`, in order): it must
        finish with the clean run's proposals (each retried, like any transient failure)."""
        name = "bad-" + "+".join(kinds)
        root = self.fresh(self.workdir / name)
        self.llm_chaos.script = list(kinds)
        try:
            code, _ = run_to_end(root, self.llm)
        finally:
            self.llm_chaos.script = []
        out.runs.append({"scenario": name, "exit": code})
        if code != 0:
            log = Path(f"{root}.log").read_text(errors="replace")
            said = [line for line in log.splitlines() if line.strip()]
            last = said[-1][:200] if said else ""
            out.problems.append(f"{name}: the run exited {code}: {last}")
        _compare(name, self.clean, root, out, blind=False, strict=True)

    def read_only(self, out: Outcome) -> None:
        read_only_check(self.clean, self.llm, self.workdir, out)

    def full_disk(self, out: Outcome) -> None:
        size = sum(p.stat().st_size for p in self.clean.rglob("*") if p.is_file())
        full_disk_check(
            self.world,
            self.web,
            self.llm,
            self.workdir,
            out,
            reference=self.reference,
            root_bytes=size,
        )


def chaos(
    *,
    items: int,
    kills: int,
    feed_faults: float,
    llm_faults: float,
    seed: int,
    workdir: Path,
    disk: bool = True,
) -> Outcome:
    out = Outcome()
    with ChaosLab(
        items=items, workdir=workdir, seed=seed, llm_faults=llm_faults
    ) as lab:
        out.runs.append(
            {"root": "clean", "exit": 0, "seconds": round(lab.clean_seconds, 2)}
        )
        # A: SIGKILLs and LLM faults only: the proposal must come out byte for byte the clean one.
        # B: the same plus failing feeds and searches, then one healed run.
        lab.scenario("kills", out, feed_faults=0.0, kills=kills)
        lab.scenario("feeds", out, feed_faults=feed_faults, kills=kills)
        lab.split_night(out)  # C: one night in two runs, an outage in the first
        for kind in LLM_FAULTS:
            lab.bad_answers((kind,), out)
        if disk:
            lab.read_only(out)
            lab.full_disk(out)
    return out


def _scenario(
    name: str,
    root: Path,
    *,
    llm: LLMServer,
    faults: Faults,
    llm_chaos: LLMFaults,
    feed_rate: float,
    kills: int,
    rng: random.Random,
    clean_seconds: float,
    out: Outcome,
) -> None:
    published = versions_digest(root)
    faults.rate, llm_chaos.on = feed_rate, True
    killed = attempts = 0
    while killed < kills and attempts < 4 * kills:
        attempts += 1
        faults.epoch = f"{name}-{attempts}"
        # A random stage, then a random moment inside it: kills land in every stage, not in the
        # interpreter's start-up (about a second), where they would prove nothing.
        stage = rng.choice(STAGES)
        offset = rng.uniform(0.0, 0.4)
        last = _last_run_id(root)
        proc = briefbot(root, llm)
        reached = _wait_for_stage(
            root, proc, stage, after=last, timeout=clean_seconds * 3 + 10
        )
        if reached:
            time.sleep(offset)
        alive = proc.poll() is None
        hit = _running_stage(root, after=last) if alive else None
        if alive:
            os.killpg(
                proc.pid, signal.SIGKILL
            )  # the run's own session: itself and any child
            killed += 1
        code = finish(proc)
        out.runs.append(
            {
                "scenario": name,
                "target": stage,
                "offset_s": round(offset, 2),
                "killed": alive,
                "killed_in": hit,
                "exit": code,
            }
        )
        if not alive and (report := latest_report(root)):
            fault_names(report, faults.log, faults.epoch, out)
    if killed < kills:
        out.problems.append(
            f"{name}: only {killed} of {kills} kills landed (runs finished first)"
        )
    faults.epoch = f"{name}-finish"
    code, seconds = run_to_end(root, llm)
    out.runs.append(
        {
            "scenario": name,
            "to_the_end": True,
            "faults": True,
            "exit": code,
            "seconds": round(seconds, 2),
        }
    )
    report = latest_report(root)
    if report is None or code not in (0, 1):
        out.problems.append(
            f"{name}: the run after the kills exited {code}: see {root}.log"
        )
    else:
        fault_names(report, faults.log, faults.epoch, out)
    injected = [f for f in faults.log if f[0].startswith(name)]
    faults.rate, llm_chaos.on = 0.0, False
    if (
        injected
    ):  # the world heals: the next run catches up with what the failed feeds held
        code, seconds = run_to_end(root, llm)
        out.runs.append(
            {
                "scenario": name,
                "healed": True,
                "exit": code,
                "seconds": round(seconds, 2),
            }
        )
    out.notes.append(
        f"{name}: injected feed/search faults: {len(injected)} "
        f"({', '.join(sorted({k for _, _, k in injected})) or 'none'}); "
        f"LLM faults so far: {len(llm.fault_log)} ({', '.join(sorted(set(llm.fault_log))) or 'none'})"
    )
    if versions_digest(root) != published:
        out.problems.append(f"{name}: a published version changed")


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


def _last_run_id(root: Path) -> int:
    rows = _ledger(root, "SELECT max(id) FROM runs", ())
    return (rows[0][0] or 0) if rows else 0


def _running_stage(root: Path, *, after: int) -> str | None:
    rows = _ledger(
        root,
        "SELECT stage, brief FROM run_stages WHERE run_id > ? AND status = 'running' "
        "ORDER BY started_at DESC LIMIT 1",
        (after,),
    )
    return f"{rows[0][0]} {rows[0][1]}".strip() if rows else None


def _wait_for_stage(
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


def _compare(
    name: str, clean: Path, root: Path, out: Outcome, *, blind: bool, strict: bool
) -> None:
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
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"first at char {k}: clean {a[max(0, k - 60) : k + 60]!r} vs chaos {b[max(0, k - 60) : k + 60]!r}"


def _mount(target: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` on target; the reason when that is impossible."""
    if os.geteuid() != 0:
        return "not root: cannot mount a tmpfs"
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    return (
        None if done.returncode == 0 else f"mount tmpfs failed: {done.stderr.strip()}"
    )


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def read_only_check(clean: Path, llm: LLMServer, workdir: Path, out: Outcome) -> None:
    # Read-only: a root that already ran once, mounted read-only; the next run must refuse cleanly.
    mnt = workdir / "ro-mount"
    why = _mount(mnt, "64m")
    if why:
        out.notes.append(f"read-only disk check skipped: {why}")
    else:
        try:
            root = mnt / "root"
            # A root that has run before (state, documents, proposals): a copy of the clean one.
            shutil.copytree(clean, root, symlinks=True)
            before = tree_digest(root)
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            code = finish(_quiet_run(root, llm, workdir / "ro.log"))
            said = (workdir / "ro.log").read_text(errors="replace")
            _judge_disk("read-only", code, said, out, cause=r"read-only")
            if tree_digest(root) != before:
                out.problems.append("read-only root: files changed")
        finally:
            _umount(mnt)


def full_disk_check(
    world: World,
    web: WorldServer,
    llm: LLMServer,
    workdir: Path,
    out: Outcome,
    *,
    reference: dict[str, str],
    root_bytes: int,
) -> None:
    # Full disk: a tmpfs with room for the root and little else; the run fails, then space is freed
    # and the next run must finish with the clean run's proposals and an intact store.
    mnt = workdir / "full-mount"
    # Room for three finished roots once the filler goes; while it is there, half a root's worth.
    why = _mount(mnt, f"{(3 * root_bytes + 2_000_000) // 1024}k")
    if why:
        out.notes.append(f"full disk check skipped: {why}")
        return
    try:
        root = mnt / "root"
        write_root(root, world, web.base, http=HTTP, llm=LLM)
        published = versions_digest(root)
        filler = mnt / "filler"
        _fill(filler, leave=root_bytes // 2)  # the run gets going, then runs out of space
        code = finish(_quiet_run(root, llm, workdir / "full.log"))
        said = (workdir / "full.log").read_text(errors="replace")
        _judge_disk(
            "full disk", code, said, out, cause=r"no space|disk is full|disk full"
        )
        filler.unlink()
        if versions_digest(root) != published:
            out.problems.append("full disk: a published version changed")
        code = finish(_quiet_run(root, llm, workdir / "full-after.log"))
        if code not in (0, 1):
            out.problems.append(f"full disk: the run after freeing space exited {code}")
        store_checks(root, out)
        if proposals(root) != reference:
            out.problems.append(
                "full disk: after freeing space the proposals differ from the clean run's"
            )
    finally:
        _umount(mnt)


def _fill(filler: Path, *, leave: int) -> None:
    """Fill the filesystem holding `filler` until about `leave` bytes are free.

    Unbuffered writes of what `statvfs` says is free (a buffered file re-raises ENOSPC when it
    is closed, with bytes still in its buffer), then shrunk to leave the room asked for."""
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"\0" * (1 << 20)
        while True:
            stat = os.statvfs(filler)
            free = stat.f_bavail * stat.f_frsize
            if free <= leave:
                break
            try:
                os.write(fd, block[: min(len(block), free - leave)])
            except OSError:  # ENOSPC: full (tmpfs counts whole pages)
                break
        stat = os.statvfs(filler)
        short = leave - stat.f_bavail * stat.f_frsize
        if short > 0:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - short))
    finally:
        os.close(fd)


def _quiet_run(root: Path, llm: LLMServer, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="chaos-key")
    handle = open(log, "wb")  # noqa: SIM115 - closed by finish()
    proc = subprocess.Popen(
        ["briefbot", "--root", str(root), "run", "--date", RUN_DATE.isoformat()],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    proc.log = handle  # type: ignore[attr-defined]
    return proc


def _judge_disk(what: str, code: int, said: str, out: Outcome, *, cause: str) -> None:
    last = [line for line in said.splitlines() if line.strip()][-1:] or ["(no output)"]
    out.notes.append(f"{what}: exit {code}, said: {last[0][:200]}")
    if code == 0:
        out.problems.append(f"{what}: the run claimed success")
    if "Traceback" in said:
        out.problems.append(
            f"{what}: a traceback instead of a clear error: {last[0][:200]}"
        )
    errors = [line for line in said.splitlines() if line.startswith("error:")]
    if not errors:
        out.problems.append(f"{what}: no `error:` line")
    elif not re.search(cause, errors[-1], re.IGNORECASE):
        out.problems.append(
            f"{what}: the error does not name the cause ({cause!r}): {errors[-1][:200]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--feed-faults", type=float, default=0.25)
    parser.add_argument("--llm-faults", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-disk", action="store_true")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (printed)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    try:
        started = time.perf_counter()
        outcome = chaos(
            items=args.items,
            kills=args.kills,
            feed_faults=args.feed_faults,
            llm_faults=args.llm_faults,
            seed=args.seed,
            workdir=workdir,
            disk=not args.no_disk,
        )
        for run in outcome.runs:
            print("run", json.dumps(run))
        for note in outcome.notes:
            print("note:", note)
        for problem in outcome.problems:
            print("PROBLEM:", problem)
        print(
            f"chaos: {len(outcome.problems)} problem(s) in {time.perf_counter() - started:.0f}s; work folder {workdir}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if outcome.problems else 0)


if __name__ == "__main__":
    main()
