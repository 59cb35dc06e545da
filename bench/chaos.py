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

Exit status 0 when every check holds; the problems are printed otherwise. Running briefbot and
reading what it left is in `_chaos_runs.py`; the read-only / full-disk checks in `_chaos_disk.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _chaos_disk import full_disk_check, read_only_check
from _chaos_runs import (
    HTTP,
    LLM,
    LLM_FAULTS,
    STAGES,
    LLMFaults,
    Outcome,
    briefbot,
    compare,
    fault_names,
    finish,
    last_run_id,
    latest_report,
    proposals,
    run_to_end,
    running_stage,
    source_checks,
    store_checks,
    versions_digest,
    wait_for_stage,
)
from _llm_server import LLMServer
from _world import SLUGS, World, write_root
from _world_server import Faults, WorldServer


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

    def __enter__(self) -> ChaosLab:
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
        compare(name, self.clean, root, out, blind=False, strict=True)
        if feed_faults:  # a second view: when bytes differ, does more than provenance differ?
            compare(name, self.clean, root, out, blind=True, strict=True)
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
        compare("split-night", self.clean, root, out, blind=False, strict=True)
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
        compare(name, self.clean, root, out, blind=False, strict=True)

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
    with ChaosLab(items=items, workdir=workdir, seed=seed, llm_faults=llm_faults) as lab:
        out.runs.append({"root": "clean", "exit": 0, "seconds": round(lab.clean_seconds, 2)})
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
        last = last_run_id(root)
        proc = briefbot(root, llm)
        reached = wait_for_stage(root, proc, stage, after=last, timeout=clean_seconds * 3 + 10)
        if reached:
            time.sleep(offset)
        alive = proc.poll() is None
        hit = running_stage(root, after=last) if alive else None
        if alive:
            os.killpg(proc.pid, signal.SIGKILL)  # the run's own session: itself and any child
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
        out.problems.append(f"{name}: only {killed} of {kills} kills landed (runs finished first)")
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
        out.problems.append(f"{name}: the run after the kills exited {code}: see {root}.log")
    else:
        fault_names(report, faults.log, faults.epoch, out)
    injected = [f for f in faults.log if f[0].startswith(name)]
    faults.rate, llm_chaos.on = 0.0, False
    if injected:  # the world heals: the next run catches up with what the failed feeds held
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--feed-faults", type=float, default=0.25)
    parser.add_argument("--llm-faults", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-disk", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
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
