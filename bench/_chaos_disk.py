"""The chaos harness's disk checks: a root on a read-only mount and one on a full tmpfs must give a
clear error and corrupt nothing (skipped, with the reason, when tmpfs cannot be mounted)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from _chaos_runs import (
    HTTP,
    LLM,
    Outcome,
    finish,
    proposals,
    store_checks,
    tree_digest,
    versions_digest,
)
from _llm_server import LLMServer
from _world import BRIEFBOT, RUN_DATE, World, write_root
from _world_server import WorldServer


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
    return None if done.returncode == 0 else f"mount tmpfs failed: {done.stderr.strip()}"


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
        _judge_disk("full disk", code, said, out, cause=r"no space|disk is full|disk full")
        filler.unlink()
        if versions_digest(root) != published:
            out.problems.append("full disk: a published version changed")
        code = finish(_quiet_run(root, llm, workdir / "full-after.log"))
        if code not in (0, 1):
            out.problems.append(f"full disk: the run after freeing space exited {code}")
        store_checks(root, out)
        if proposals(root) != reference:
            out.problems.append("full disk: after freeing space the proposals differ from the clean run's")
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
    handle = open(log, "wb")  # noqa: SIM115  # closed by finish()
    proc = subprocess.Popen(
        [BRIEFBOT, "--root", str(root), "run", "--date", RUN_DATE.isoformat()],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    proc.log = handle  # type: ignore[attr-defined]  # Popen has no slot for it; finish() closes it
    return proc


def _judge_disk(what: str, code: int, said: str, out: Outcome, *, cause: str) -> None:
    last = [line for line in said.splitlines() if line.strip()][-1:] or ["(no output)"]
    out.notes.append(f"{what}: exit {code}, said: {last[0][:200]}")
    if code == 0:
        out.problems.append(f"{what}: the run claimed success")
    if "Traceback" in said:
        out.problems.append(f"{what}: a traceback instead of a clear error: {last[0][:200]}")
    errors = [line for line in said.splitlines() if line.startswith("error:")]
    if not errors:
        out.problems.append(f"{what}: no `error:` line")
    elif not re.search(cause, errors[-1], re.IGNORECASE):
        out.problems.append(f"{what}: the error does not name the cause ({cause!r}): {errors[-1][:200]}")
