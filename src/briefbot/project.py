"""The project root on disk: `feeds.yaml`, `briefs/<slug>/versions/vNNNN.json`, proposals, state.

Published versions are immutable JSON files written atomically; publishing over one is refused.
A brief with no published version has a v0 skeleton (`skeleton.json`, written by `briefbot new`):
its title and nothing else, the base a first draft is merged into.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from briefbot._fs import atomic_create, atomic_write
from briefbot.brief.render import brief_json
from briefbot.errors import ConfigError, NotFoundError, StoreError, VersionExistsError
from briefbot.models import SLUG_PATTERN, Brief

_VERSION_FILE = re.compile(r"^v(\d{4,})\.json$")
SKELETON_FILE = "skeleton.json"
# A slug names a folder and appears in file names and URLs: short enough for every file system.
MAX_SLUG_LENGTH = 120
# The state a skeleton shows; it is never published (the merger's candidate is `open`).
SKELETON_STATE = "draft"
# A skeleton written by hand or lost carries no date of its own; the candidate takes the run date.
_SKELETON_DATE = dt.date(1970, 1, 1)


_M = TypeVar("_M", bound=BaseModel)
# A damaged file is named with its first few problems, not pydantic's whole report.
_MAX_PROBLEMS = 5


def read_json_model(path: Path, model: type[_M], what: str) -> _M | None:
    """The `model` stored as JSON in `path`, None when there is no such file. A file that cannot be
    read, is not UTF-8, is not JSON (cut short by a crash, edited by hand) or does not hold a `what`
    is a `StoreError` naming the file and each field wrong, one line, never a traceback."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(
            f"{path}: not a valid {what}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise StoreError(f"{path}: not a valid {what}: {describe_problems(exc)}") from None


def describe_problems(exc: ValidationError) -> str:
    """`field.path: what is wrong` for each problem, `; `-joined; broken JSON as `not JSON (...)`."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "json_invalid":
            cause = (error.get("ctx") or {}).get("error") or error["msg"]
            problems.append(f"not JSON ({cause}): the file is cut short or damaged")
            continue
        loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        problems.append(f"{loc.lstrip('.') or '(top level)'}: {error['msg']}")
    more = len(problems) - _MAX_PROBLEMS
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    return f"{shown}; and {more} more" if more > 0 else shown


def version_filename(version: int) -> str:
    return f"v{version:04d}.json"


class Project:
    """A briefbot project root. Holds no state beyond its path."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @classmethod
    def from_env(cls, root: Path | str | None = None) -> Project:
        return cls(root or os.environ.get("BRIEFBOT_ROOT") or Path.cwd())

    # -- paths ---------------------------------------------------------------------------
    @property
    def briefs_dir(self) -> Path:
        return self.root / "briefs"

    @property
    def feeds_file(self) -> Path:
        return self.root / "feeds.yaml"

    @property
    def state_dir(self) -> Path:
        return self.root / ".briefbot"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"

    def brief_dir(self, slug: str) -> Path:
        if len(slug) > MAX_SLUG_LENGTH:
            # Checked before any path is made of it: a name past the file system's limit is an
            # OSError ("File name too long") from the first stat.
            raise NotFoundError(
                f"invalid brief slug {slug[:20]!r}... ({len(slug)} characters): at most "
                f"{MAX_SLUG_LENGTH}, lowercase letters, digits and '-'"
            )
        if not re.match(SLUG_PATTERN, slug):
            hint = _did_you_mean(slug, self.slugs())
            raise NotFoundError(f"invalid brief slug {slug!r}: use lowercase letters, digits and '-'{hint}")
        return self.briefs_dir / slug

    def versions_dir(self, slug: str) -> Path:
        return self.brief_dir(slug) / "versions"

    def proposals_dir(self, slug: str) -> Path:
        # Proposals belong to an existing brief; taking the proposal lock would otherwise create
        # the folder of a mistyped slug and with it a phantom brief.
        return self.require_brief(slug) / "proposals"

    def brief_config_file(self, slug: str) -> Path:
        return self.brief_dir(slug) / "brief.yaml"

    @property
    def prompts_dir(self) -> Path:
        return self.root / "prompts"

    # -- is this a project? ----------------------------------------------------------------
    def is_project(self) -> bool:
        """A project root is a folder with a `feeds.yaml` (`briefbot init` writes one)."""
        return self.feeds_file.is_file()

    def require_project(self) -> None:
        """Refuse a root that is not a project, naming `briefbot init`."""
        if not self.root.is_dir():
            raise ConfigError(
                f"{self.root}: no such folder; create a project there with `briefbot init {self.root}`"
            )
        if not self.is_project():
            raise ConfigError(
                f"{self.root}: not a briefbot project (no feeds.yaml); create one with `briefbot init {self.root}`"
            )

    # -- versions ------------------------------------------------------------------------
    def slugs(self) -> list[str]:
        if not self.briefs_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.briefs_dir.iterdir()
            if p.is_dir() and re.match(SLUG_PATTERN, p.name) and len(p.name) <= MAX_SLUG_LENGTH
        )

    def versions(self, slug: str) -> list[int]:
        """The published version numbers, oldest first; `unknown_brief` if there is no such brief."""
        directory = self.require_brief(slug) / "versions"
        if not directory.is_dir():
            return []
        found = (_VERSION_FILE.match(p.name) for p in directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def unknown_brief(self, slug: str) -> NotFoundError:
        """The error for a slug that names no brief: the nearest names, then every brief, so a typo
        is fixed from the message alone."""
        known = self.slugs()
        if not known:
            return NotFoundError(f"no brief {slug!r}: there are no briefs under {self.briefs_dir} yet")
        hint = _did_you_mean(slug, known) or ";"
        return NotFoundError(f"no brief {slug!r}{hint} briefs: {', '.join(known)}")

    def require_brief(self, slug: str) -> Path:
        """The brief's folder; `unknown_brief` when there is none."""
        directory = self.brief_dir(slug)
        if not directory.is_dir():
            raise self.unknown_brief(slug)
        return directory

    def latest_version(self, slug: str) -> int:
        versions = self.versions(slug)
        if not versions:
            raise NotFoundError(
                f"brief {slug!r} has no published version yet: `briefbot draft {slug}` drafts v1 for "
                "review (as the next `briefbot run` does)"
            )
        return versions[-1]

    def version_path(self, slug: str, version: int) -> Path:
        return self.versions_dir(slug) / version_filename(version)

    # -- the v0 skeleton of a brief not yet drafted ------------------------------------------
    def skeleton(self, slug: str) -> Brief:
        """The empty version 0 a first draft is merged into: the stored one, else one titled after the slug."""
        path = self.require_brief(slug) / SKELETON_FILE
        skeleton = read_json_model(path, Brief, "brief skeleton")
        if skeleton is None:
            title = slug.replace("-", " ").capitalize()
            return empty_brief(title, date=_SKELETON_DATE)
        return skeleton

    def write_skeleton(self, slug: str, brief: Brief) -> Path:
        if brief.version != 0:
            raise StoreError(f"a skeleton is version 0, not {brief.version}")
        path = self.brief_dir(slug) / SKELETON_FILE
        atomic_write(path, brief_json(brief))
        return path

    def current(self, slug: str) -> Brief:
        """The latest published version, or the v0 skeleton when none is published yet."""
        versions = self.versions(slug)
        return self.load(slug, versions[-1]) if versions else self.skeleton(slug)

    def load(self, slug: str, version: int | None = None) -> Brief:
        """A published version (the latest by default); version 0 is the brief's skeleton."""
        if version == 0:
            return self.skeleton(slug)
        number = self.latest_version(slug) if version is None else version
        path = self.version_path(slug, number)
        brief = read_json_model(path, Brief, "brief")
        if brief is None:
            known = ", ".join(str(v) for v in self.versions(slug)) or "none"
            raise NotFoundError(f"brief {slug!r} has no version {number} (published: {known})")
        if brief.version != number:
            # A copied or hand-renamed file: trusting either number would publish over, or skip, a version.
            raise StoreError(
                f"{path}: version: the file holds version {brief.version}, but its name says "
                f"{number}; rename it or correct its `version`"
            )
        return brief

    def publish(self, slug: str, brief: Brief) -> Path:
        """Store `brief` as an immutable published version; refuse to overwrite one."""
        path = self.version_path(slug, brief.version)
        try:
            atomic_create(path, brief_json(brief))
        except FileExistsError:
            raise VersionExistsError(
                f"brief {slug!r} version {brief.version} is already published ({path}); published versions are immutable"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return path


def empty_brief(title: str, *, date: dt.date) -> Brief:
    """A v0 skeleton: a title, no content, no sources."""
    return Brief(title=title, state=SKELETON_STATE, version=0, date=date, item_count=0, history_link=True)


def _did_you_mean(slug: str, known: list[str]) -> str:
    """` — did you mean 'x'?` (or 'x' or 'y') for the names close to `slug`, else nothing."""
    close = difflib.get_close_matches(slug.lower(), known, n=3, cutoff=0.6)
    if not close:
        return ""
    return " — did you mean " + " or ".join(repr(name) for name in close) + "?"
