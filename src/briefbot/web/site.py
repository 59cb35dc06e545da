"""`briefbot site OUT_DIR`: the published briefs as a static site (HTML + Atom) for any web server.

Links are relative, so the directory can be served from any path (or opened from disk). Pending
proposals are never part of the static site: it shows only what an editor has approved.

Every file is replaced atomically (`_fs.atomic_write`): one that exists keeps its mode, a new one
gets the umask's, and a path that is a symlink, FIFO or device is refused, not replaced.
"""

from __future__ import annotations

from pathlib import Path

from briefbot._fs import atomic_write
from briefbot.errors import StoreError
from briefbot.project import Project
from briefbot.web import pages
from briefbot.web.templating import STATIC_DIR, SiteLinks, environment


def _write(path: Path, data: str | bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc


def build_site(project: Project, out_dir: Path, *, base_url: str = "") -> list[Path]:
    """Write every published version of every brief under `out_dir`; return the files written.

    `base_url` (e.g. `https://briefs.example.org`) makes the Atom feeds' links absolute.
    """
    env = environment()
    written: list[Path] = []

    def put(relative: str, data: str | bytes) -> None:
        path = out_dir / relative
        _write(path, data)
        written.append(path)

    put("index.html", pages.index_page(env, SiteLinks(0), project))
    for name in sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file()):
        # Through the same atomic write as the pages (not shutil.copyfile, which writes through a
        # symlink and blocks on a FIFO): a target that is not a regular file is refused.
        put(f"static/{name}", (STATIC_DIR / name).read_bytes())
    deep = SiteLinks(2)
    for slug in project.slugs():
        versions = project.versions(slug)
        if not versions:
            continue
        base = f"b/{slug}/"
        put(base + "index.html", pages.version_page(env, deep, project, slug))
        put(base + "history.html", pages.history_page(env, deep, project, slug))
        for previous, version in zip([None, *versions], versions, strict=False):
            put(
                base + f"v{version}.html",
                pages.version_page(env, deep, project, slug, version),
            )
            if previous is not None:
                put(
                    base + f"diff-{previous}-{version}.html",
                    pages.diff_page(env, deep, project, slug, previous, version),
                )
        feed_links = SiteLinks(2) if not base_url else SiteLinks(0)
        prefix = base_url.rstrip("/") + "/" if base_url else ""
        put(
            base + "feed.atom",
            pages.feed_xml(project, slug, feed_links, base_url=prefix),
        )
    return written
