"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes, *, durable: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace `path` atomically with `data`.

    `durable=False` skips the two fsyncs: the file is still never seen half-written by a reader
    (nor after the writer is killed), but a power cut may lose or tear it. Only for files whose
    content can be checked and fetched again, like the content-addressed page store."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _write_temp(path, raw, durable=durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_create(path: Path, data: bytes | str) -> None:
    """Create `path` atomically; raise FileExistsError if it already exists (never overwrite)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = _write_temp(path, raw)
    try:
        # link() fails if the target exists, so two publishers cannot both win.
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
