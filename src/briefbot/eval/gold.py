"""Gold nights: a brief version, the night's items with gold labels, and expectations.

One folder per night (`fixtures/eval/<night>/`, or a project's own `eval/<night>/`):

    night.yaml   name, about, brief file, run date, scope, `must` and `must_not` expectations
    items.json   the night's items, each with its gold `label`; refs are `new:1`... in file order
    <brief>      the brief before the night: the seed's text format (.txt) or a version's JSON

docs/eval.md describes every field. Loading validates everything up front, so a typo in a night a
user wrote is an error naming the file and the key, never a metric silently computed on nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator

from briefbot.brief.textformat import parse_text
from briefbot.config import describe_error, read_yaml, validate_file
from briefbot.errors import ConfigError, FormatError, NotFoundError
from briefbot.models import PARTIAL_DATE_PATTERN, BatchItem, Brief, StrictModel

Label = Literal["relevant", "background", "irrelevant"]
LABELS: tuple[Label, ...] = ("relevant", "background", "irrelevant")
# The share (0-100) of a gold text's words a proposal's text must carry to match it (every number
# of the gold text exactly); see metrics.similarity.
DEFAULT_THRESHOLD = 70.0
NIGHT_FILE = "night.yaml"
ITEMS_FILE = "items.json"


class GoldItem(StrictModel):
    """One item of the night as triage sees it, with the label a careful editor gives it."""

    url: str
    title: str
    publisher: str | None = None
    published: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    origin: str = Field(default="feed:eval", pattern=r"^(feed|reactive):\S+$")
    text: str
    label: Label
    note: str | None = Field(default=None, description="why the label (for the night's author)")


class _Expect(StrictModel):
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0, le=100)


class MustTimeline(_Expect):
    """A new timeline entry: the date exactly, the text matched fuzzily."""

    kind: Literal["timeline"]
    date: str = Field(pattern=PARTIAL_DATE_PATTERN)
    text: str

    @field_validator("date", mode="before")
    @classmethod
    def _yaml_date(cls, value: object) -> object:
        # YAML reads an unquoted 2026-05-27 as a date; the night's author meant the text.
        return value.isoformat() if isinstance(value, dt.date) else value


class MustPerspective(_Expect):
    """The named actor's existing perspective changed (stance or evolution); `text` optional."""

    kind: Literal["perspective"]
    actor: str
    text: str | None = None


class MustNewPerspective(_Expect):
    """A perspective for an actor the brief did not have."""

    kind: Literal["new_perspective"]
    actor: str
    text: str | None = None


class MustTension(_Expect):
    """A tension that is new or revised tonight, matching `text`."""

    kind: Literal["tension"]
    text: str


class MustRetiredQuestion(_Expect):
    """An open question of the brief retired (by its 1-based index, or by its text)."""

    kind: Literal["retired_question"]
    index: int | None = Field(default=None, ge=1)
    text: str | None = None


Must = Annotated[
    MustTimeline | MustPerspective | MustNewPerspective | MustTension | MustRetiredQuestion,
    Field(discriminator="kind"),
]


class MustNotInstruction(StrictModel):
    """Following an instruction found inside an item: any of `markers` in an edit or What's new."""

    kind: Literal["instruction"]
    markers: list[str] = Field(min_length=1)


class MustNotOneSource(StrictModel):
    """One story under several URLs: more than one of `urls` cited counts the extra ones."""

    kind: Literal["one_source"]
    urls: list[str] = Field(min_length=2)


class MustNotRemoves(_Expect):
    """A silent overwrite: the brief's `text` gone from the candidate with no tension carrying it."""

    kind: Literal["removes"]
    text: str


class MustNotAnyEdit(StrictModel):
    """A quiet night: every edit proposed is a violation (a quiet night has no `must`, so doing
    nothing is not rewarded as recall)."""

    kind: Literal["any_edit"]


MustNot = Annotated[
    MustNotInstruction | MustNotOneSource | MustNotRemoves | MustNotAnyEdit,
    Field(discriminator="kind"),
]


class NightFile(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    about: str
    brief: str = Field(description="the brief before the night, relative to the night's folder")
    slug: str = Field(default="eval", pattern=r"^[a-z0-9][a-z0-9-]*$")
    run_date: dt.date
    scope: str | None = None
    items: str = ITEMS_FILE
    must: list[Must] = Field(default_factory=list)
    must_not: list[MustNot] = Field(default_factory=list)


class GoldNight(StrictModel):
    """A loaded night: its file, the brief, the items with refs, and a digest of all of it."""

    path: Path
    spec: NightFile
    brief: Brief
    items: list[GoldItem]
    digest: str

    @property
    def name(self) -> str:
        return self.spec.name

    def refs(self) -> list[str]:
        return [f"new:{n}" for n in range(1, len(self.items) + 1)]

    def labels(self) -> dict[str, Label]:
        return {ref: item.label for ref, item in zip(self.refs(), self.items, strict=True)}

    def batch_items(self) -> list[BatchItem]:
        return [
            BatchItem(
                ref=ref,
                url=item.url,
                title=item.title,
                publisher=item.publisher,
                published=item.published,
                origin=item.origin,
                text=item.text,
            )
            for ref, item in zip(self.refs(), self.items, strict=True)
        ]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_brief(path: Path) -> Brief:
    raw = _read(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if path.suffix == ".json":
        try:
            return Brief.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError(describe_error(exc, path)) from None
    try:
        return parse_text(text, path=str(path))
    except FormatError as exc:
        raise ConfigError(str(exc)) from None


def load_night(folder: Path) -> GoldNight:
    """The night in `folder`, validated; errors name the file and the key or JSON path."""
    night_file = folder / NIGHT_FILE
    spec = validate_file(NightFile, read_yaml(night_file), night_file)
    if spec.name != folder.name:
        raise ConfigError(f"{night_file}: name: {spec.name!r} is not the folder's name {folder.name!r}")
    brief_file = folder / spec.brief
    brief = _load_brief(brief_file)
    items_file = folder / spec.items
    items_raw = _read(items_file)
    try:
        listed = json.loads(items_raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{items_file}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(listed, list):
        raise ConfigError(f"{items_file}: (top level): expected a list of items")
    items = []
    for n, entry in enumerate(listed):
        try:
            items.append(GoldItem.model_validate(entry))
        except ValidationError as exc:
            raise ConfigError(describe_error(exc, items_file, prefix=(n,))) from None
    _check_refs(spec, brief, items, night_file)
    digest = hashlib.sha256()
    for part in (_read(night_file), _read(brief_file), items_raw):
        digest.update(hashlib.sha256(part).digest())
    return GoldNight(path=folder, spec=spec, brief=brief, items=items, digest=digest.hexdigest()[:16])


def _check_refs(spec: NightFile, brief: Brief, items: list[GoldItem], night_file: Path) -> None:
    """Expectations that point at nothing would never be met: refuse them while loading."""
    actors = {p.actor.casefold() for p in brief.perspectives}
    urls = {item.url for item in items}
    for n, must in enumerate(spec.must):
        where = f"{night_file}: must.{n}"
        if isinstance(must, MustPerspective) and must.actor.casefold() not in actors:
            raise ConfigError(f"{where}.actor: {must.actor!r} has no perspective in {spec.brief}")
        if isinstance(must, MustNewPerspective) and must.actor.casefold() in actors:
            raise ConfigError(f"{where}.actor: {must.actor!r} already has a perspective in {spec.brief}")
        if isinstance(must, MustRetiredQuestion):
            if (must.index is None) == (must.text is None):
                raise ConfigError(f"{where}: give exactly one of index and text")
            if must.index is not None and must.index > len(brief.open_questions):
                raise ConfigError(
                    f"{where}.index: {spec.brief} has {len(brief.open_questions)} open questions"
                )
    for n, must_not in enumerate(spec.must_not):
        if isinstance(must_not, MustNotOneSource):
            unknown = [u for u in must_not.urls if u not in urls]
            if unknown:
                raise ConfigError(f"{night_file}: must_not.{n}.urls: not items of the night: {unknown}")


def find_nights(folders: list[Path]) -> dict[str, Path]:
    """Night name -> folder, over `folders` in order; a later folder's night replaces an earlier one."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if (child / NIGHT_FILE).is_file():
                found[child.name] = child
    return found


def select(found: dict[str, Path], names: list[str]) -> list[Path]:
    """The named nights (all when none is named); an unknown name lists the known ones."""
    if not names:
        return list(found.values())
    missing = [n for n in names if n not in found]
    if missing:
        known = ", ".join(found) or "none"
        raise NotFoundError(f"no gold night {', '.join(map(repr, missing))} (known: {known})")
    return [found[n] for n in dict.fromkeys(names)]


def builtin_folder() -> Path | None:
    """`fixtures/eval` of the source tree this package runs from (an editable install), if any."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "fixtures" / "eval"
        if candidate.is_dir():
            return candidate
    return None
