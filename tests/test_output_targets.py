"""What `render -o` and `site` write to (issue 17, item 3), through the real `briefbot` binary: a
target that is not a regular file (symlink, FIFO, device node) is refused with exit 2 and left as
it was; a replaced file keeps its mode; a new file gets the umask's mode, never 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from briefbot.brief.textformat import parse_text
from briefbot.project import Project
from conftest import SEED, as_project

BRIEFBOT = Path(sys.executable).parent / "briefbot"
SLUG = "gap"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = as_project(tmp_path / "project")
    Project(project).publish(SLUG, parse_text(SEED.read_text(encoding="utf-8")))
    return project


def _run(root: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    # The umask is set by a shell that then becomes briefbot: the test process keeps its own.
    return subprocess.run(
        ["/bin/sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", str(BRIEFBOT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO opened for writing with no reader would block: fail, never hang
        check=False,
    )


def _render(root: Path, target: Path, **kwargs: int) -> subprocess.CompletedProcess[str]:
    return _run(root, "render", SLUG, "--format", "html", "-o", str(target), **kwargs)


def _refused(result: subprocess.CompletedProcess[str], target: Path, kind: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {target}: "), result.stderr
    assert f"is a {kind}" in result.stderr, result.stderr
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_a_symlink_target_is_refused_and_what_it_points_to_untouched(root: Path, tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "out.html"
    link.symlink_to(victim)
    _refused(_render(root, link), link, "symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_text(encoding="utf-8") == "keep me\n"


def test_a_dangling_symlink_target_is_refused(root: Path, tmp_path: Path):
    link = tmp_path / "out.html"
    link.symlink_to(tmp_path / "nowhere.html")
    _refused(_render(root, link), link, "symbolic link")
    assert link.is_symlink() and not (tmp_path / "nowhere.html").exists()


def test_a_fifo_target_is_refused_without_blocking(root: Path, tmp_path: Path):
    fifo = tmp_path / "out.html"
    os.mkfifo(fifo)
    _refused(_render(root, fifo), fifo, "FIFO")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_device_node_target_is_refused(root: Path, tmp_path: Path):
    # A node with /dev/null's numbers in tmp_path: a regression replaces this one, not /dev/null.
    device = tmp_path / "null"
    if os.geteuid() != 0:
        pytest.skip(
            "needs root: creating a device node (CI runs as root; the FIFO test covers the same check)"
        )
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:  # root in a container without CAP_MKNOD
        pytest.skip("root cannot create a device node here (needs CAP_MKNOD; the FIFO test covers the check)")
    _refused(_render(root, device), device, "character device")
    assert stat.S_ISCHR(device.lstat().st_mode)


def test_a_replaced_file_keeps_its_mode(root: Path, tmp_path: Path):
    out = tmp_path / "out.html"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o640)
    result = _render(root, out)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002], ids=oct)
def test_a_new_file_gets_the_umasks_mode(root: Path, tmp_path: Path, umask: int):
    out = tmp_path / "new" / "out.html"
    result = _render(root, out, umask=umask)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_published_versions_get_the_umasks_mode_too(tmp_path: Path):
    """The same atomic write stores versions: in a clone they are files of the repository."""
    root = as_project(tmp_path / "project")
    result = _run(root, "import", str(SEED), "--slug", SLUG, umask=0o022)
    assert result.returncode == 0, result.stderr
    version = root / "briefs" / SLUG / "versions" / "v0007.json"
    assert stat.S_IMODE(version.stat().st_mode) == 0o644


def test_site_refuses_a_symlink_among_its_files_and_keeps_modes(root: Path, tmp_path: Path):
    out = tmp_path / "site"
    first = _run(root, "site", str(out), umask=0o022)
    assert first.returncode == 0, first.stderr
    index = out / "index.html"
    assert stat.S_IMODE(index.stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "static" / "style.css").stat().st_mode) == 0o644
    index.chmod(0o640)
    again = _run(root, "site", str(out), umask=0o022)
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE(index.stat().st_mode) == 0o640
    victim = tmp_path / "victim.html"
    victim.write_text("keep me\n", encoding="utf-8")
    feed = out / "b" / SLUG / "feed.atom"
    feed.unlink()
    feed.symlink_to(victim)
    refused = _run(root, "site", str(out))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"error: cannot write {feed}: is a symbolic link"), refused.stderr
    assert feed.is_symlink() and victim.read_text(encoding="utf-8") == "keep me\n"


def test_site_refuses_a_fifo_among_its_static_files(root: Path, tmp_path: Path):
    out = tmp_path / "site"
    assert _run(root, "site", str(out)).returncode == 0
    style = out / "static" / "style.css"
    style.unlink()
    os.mkfifo(style)
    refused = _run(root, "site", str(out))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"error: cannot write {style}: is a FIFO"), refused.stderr
    assert stat.S_ISFIFO(style.lstat().st_mode)
