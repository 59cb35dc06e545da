"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The new content goes to a temporary file next to the target, which then replaces it. Two things
that makes easy to get wrong (issue 17, item 3):

- Replacing renames over whatever is at the path: a symbolic link, FIFO or device node would
  become a regular file (as root, `render -o /dev/full` replaced the device). So the target must
  be absent or a regular file; anything else is refused with `NotRegularFileError`, before any
  file is opened or created.
- `tempfile.mkstemp` creates its file 0600, and the rename carries that mode over. The temporary
  file is created with mode 0666 instead, which the kernel narrows by the umask (0644 with the
  usual 022), and a file being replaced passes its own mode on. No file briefbot writes is meant
  to be private to its owner: the project's folder is where access is decided.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISSOCK, "socket"),
)


class NotRegularFileError(OSError):
    """The path to be replaced exists and is not a regular file (a symlink, FIFO, device...)."""


def _existing(path: Path) -> os.stat_result | None:
    """The target's own status (a link is not followed), or None if there is nothing there.
    Raises NotRegularFileError if it is anything but a regular file."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISREG(info.st_mode):
        return info
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "special file")
    raise NotRegularFileError(
        errno.EINVAL,
        f"is a {kind}, not a regular file; briefbot never replaces one, nor writes through it",
        str(path),
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file beside `path`, mode 0666 less the umask (never mkstemp's 0600)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            # O_EXCL: never an existing file, and O_NOFOLLOW: never through a planted link.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def _write_temp(path: Path, data: bytes, *, mode: int | None = None, durable: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace `path` atomically with `data`.

    `path` must be absent or a regular file (else NotRegularFileError, an OSError, and nothing is
    written); a replaced file keeps its permission bits, a new one gets 0666 less the umask.

    `durable=False` skips the two fsyncs: the file is still never seen half-written by a reader
    (nor after the writer is killed), but a power cut may lose or tear it. Only for files whose
    content can be checked and fetched again, like the content-addressed page store."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    existing = _existing(path)
    mode = None if existing is None else stat.S_IMODE(existing.st_mode)
    tmp = _write_temp(path, raw, mode=mode, durable=durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_create(path: Path, data: bytes | str) -> None:
    """Create `path` atomically; raise FileExistsError if it already exists (never overwrite).
    The new file gets 0666 less the umask."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _write_temp(path, raw)
    try:
        # link() fails if the target exists, so two publishers cannot both win.
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
