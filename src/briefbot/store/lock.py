"""Exclusive `flock`s: one run at a time per project root, one writer at a time per proposal.

The kernel drops an `flock` when its holder dies, even by SIGKILL, so a stale lock from a dead
process is taken over without any guessing about PIDs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType

from briefbot.errors import LockedError


@contextmanager
def flocked(path: Path, *, wait: bool = True) -> Iterator[int]:
    """Hold an exclusive `flock` on `path` (created, with its folder, if missing); yields its fd.

    `wait=False` raises BlockingIOError at once when another holder has it. Not re-entrant: a
    second `flocked` on the same path opens the file again and waits for the first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield fd
        finally:
            # Unlocked before the close: a child process that inherited the fd would hold it on.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# The project's run lock, in its state folder: `run` and `collect` each hold it while they work.
RUN_LOCK_FILE = "run.lock"


class RunLock:
    """`run.lock`, taken without waiting: a second run (`briefbot run` or `briefbot collect`) is
    refused with `LockedError` naming the PID and the command of the one in progress, which the
    holder writes into the file (`<pid> <command>`)."""

    def __init__(self, path: Path, *, command: str | None = None) -> None:
        self.path = path
        self.command = command
        self._held: ExitStack | None = None

    def __enter__(self) -> RunLock:
        with ExitStack() as stack:
            try:
                fd = stack.enter_context(flocked(self.path, wait=False))
            except BlockingIOError:
                raise LockedError(
                    f"another briefbot run ({self._holder()}) holds {self.path}; wait for it to finish"
                ) from None
            os.ftruncate(fd, 0)
            stamp = f"{os.getpid()} {self.command}" if self.command else str(os.getpid())
            os.pwrite(fd, f"{stamp}\n".encode(), 0)
            self._held = stack.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def _holder(self) -> str:
        """`pid 123, briefbot collect` from the file; what a holder wrote is only ever shown, so a
        file someone else wrote (or one being written right now) gives `pid unknown`."""
        try:
            text = self.path.read_bytes()[:64].decode("ascii", "replace")
        except OSError:
            text = ""
        pid, _, command = text.strip().partition(" ")
        if not pid.isdigit():
            return "pid unknown"
        command = command.strip()
        return f"pid {pid}, briefbot {command}" if command.isidentifier() else f"pid {pid}"
