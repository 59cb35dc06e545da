"""Typed configuration: `feeds.yaml` at the project root and `briefs/<slug>/brief.yaml`.

Both files are parsed into pydantic models that forbid unknown keys, so a typo is an error. Every
failure is a `ConfigError` whose message starts with the file, then the key path (`feeds[2].url`)
and what is wrong, or, for YAML syntax errors, the file and 1-based line.

`feeds.yaml`::

    feeds:
      - name: interconnects
        url: https://www.interconnects.ai/feed
        tags: [ai, open-models]
    search:
      - type: searxng
        name: searx
        base_url: https://searx.example.org
      - type: rss_search
        name: gnews
        url_template: https://news.example.com/rss/search?q={query}
    collect:           # at most this many items from one source in one run, the newest
      max_entries_per_feed: 200
      max_results_per_search: 50
    http:              # passed to the HTTP client settings (allow_private_networks, ...)
      allow_private_networks: false
    llm: {}            # owned by the LLM stage; kept as an opaque mapping here

Beside it, an optional `prompts/` folder holds the project's own prompt templates.

`briefs/<slug>/brief.yaml`::

    scope: How far open-weight models trail closed frontier models, and who says so.
    queries: ["open-weight model benchmark gap"]
    feeds: {tags: [ai]}          # or {names: [...]}; omitted = every enabled feed
    active: true
    fresh_days: 7                # items published before the latest version's date minus this
    draft_fresh_days: 30         #   are stored as `stale`, never weighed; before a first version,
                                 #   the window is this many days before the run date
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from briefbot.errors import ConfigError
from briefbot.http import HttpSettings
from briefbot.models import SLUG_PATTERN, StrictModel
from briefbot.project import Project

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# A project's own prompt templates, beside feeds.yaml; each overrides the packaged file of its name.
PROMPTS_DIR = "prompts"
_M = TypeVar("_M", bound=BaseModel)


class _Model(StrictModel):
    """Config models: strict, and an empty YAML mapping value means the defaults."""

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        # `feeds:` with every entry commented out is YAML null; read it as "none" rather than an error.
        if isinstance(data, dict):
            return {
                k: v
                for k, v in data.items()
                if not (v is None and k in cls.model_fields and not cls.model_fields[k].is_required())
            }
        return data


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    return value


class FeedConfig(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    url: str
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    _url = field_validator("url")(_check_http_url)


class SearxngProvider(_Model):
    """A SearXNG instance; `base_url` is where its `/search?format=json` API lives."""

    type: Literal["searxng"]
    name: str = Field(pattern=NAME_PATTERN)
    base_url: str
    enabled: bool = True
    # Optional SearXNG parameters, passed through as-is (e.g. `categories: news`).
    params: dict[str, str] = Field(default_factory=dict)

    _url = field_validator("base_url")(_check_http_url)


class RssSearchProvider(_Model):
    """A search engine that answers a query with a feed; `{query}` is replaced, URL-encoded."""

    type: Literal["rss_search"]
    name: str = Field(pattern=NAME_PATTERN)
    url_template: str
    enabled: bool = True

    @field_validator("url_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{query}" not in value:
            raise ValueError("must contain the placeholder {query}")
        _check_http_url(value.replace("{query}", "q"))
        return value


SearchProvider = Annotated[SearxngProvider | RssSearchProvider, Field(discriminator="type")]

# A feed's whole archive, or a firehose, seen at once is not a night's news: 100,000 entries from
# one feed would swamp dedupe, extraction and triage. The cut keeps the newest.
DEFAULT_MAX_ENTRIES_PER_FEED = 200
DEFAULT_MAX_RESULTS_PER_SEARCH = 50


class CollectSettings(_Model):
    """`collect:` in feeds.yaml: how much one source may add in one run (the newest first)."""

    max_entries_per_feed: int = Field(default=DEFAULT_MAX_ENTRIES_PER_FEED, ge=1, le=100_000, strict=True)
    max_results_per_search: int = Field(default=DEFAULT_MAX_RESULTS_PER_SEARCH, ge=1, le=10_000, strict=True)


class FeedsFile(_Model):
    """The whole of `feeds.yaml`."""

    feeds: list[FeedConfig] = Field(default_factory=list)
    search: list[SearchProvider] = Field(default_factory=list)
    collect: CollectSettings = Field(default_factory=CollectSettings)
    # Settings for the HTTP client factory; validated by `briefbot.http.client` when the client is made.
    http: dict[str, Any] = Field(default_factory=dict)
    # Owned by the LLM stage, which validates it; opaque here.
    llm: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> FeedsFile:
        for key, entries in (("feeds", self.feeds), ("search", self.search)):
            seen: set[str] = set()
            for index, entry in enumerate(entries):
                if entry.name in seen:
                    raise _KeyError((key, index, "name"), f"duplicate name {entry.name!r}")
                seen.add(entry.name)
        return self

    def enabled_feeds(self) -> list[FeedConfig]:
        return [f for f in self.feeds if f.enabled]

    def enabled_providers(self) -> list[SearxngProvider | RssSearchProvider]:
        return [p for p in self.search if p.enabled]


class FeedSelection(_Model):
    """Which feeds a brief reads: those with any of `tags` or named in `names`; both empty = all."""

    tags: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)

    @property
    def everything(self) -> bool:
        return not self.tags and not self.names

    def matches(self, feed: FeedConfig) -> bool:
        return self.everything or feed.name in self.names or bool(set(self.tags) & set(feed.tags))


class BriefConfig(_Model):
    """The whole of `briefs/<slug>/brief.yaml`."""

    scope: str = Field(min_length=1, description="One or two sentences; triage reads it.")
    queries: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    feeds: FeedSelection = Field(default_factory=FeedSelection)
    active: bool = True
    # Only fresh news is weighed: an item published before the latest version's date minus
    # `fresh_days` (before a first version: the run date minus `draft_fresh_days`) is stored as
    # `stale` and never triaged, so a feed's backlog seen for the first time is not news.
    fresh_days: int = Field(default=7, ge=0, le=3650, strict=True)
    draft_fresh_days: int = Field(default=30, ge=0, le=3650, strict=True)
    # A first version is drafted from at least this many relevant items, never from one or two.
    draft_min_items: int = Field(default=3, ge=1, le=1000, strict=True)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class Config(_Model):
    """feeds.yaml plus every brief's brief.yaml, cross-checked."""

    feeds: FeedsFile
    briefs: dict[str, BriefConfig]

    def feeds_for(self, slug: str) -> list[FeedConfig]:
        """The enabled feeds brief `slug` reads (collect's plan sends a feed's items to these briefs)."""
        selection = self.briefs[slug].feeds
        return [f for f in self.feeds.enabled_feeds() if selection.matches(f)]

    def active_briefs(self) -> list[str]:
        return [slug for slug, brief in sorted(self.briefs.items()) if brief.active]


class _KeyError(ValueError):
    """Raised inside validators to point the error at a precise key path."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def format_loc(loc: tuple[str | int, ...]) -> str:
    """`("feeds", 2, "url")` -> `feeds[2].url`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"duplicate key {key!r} (first on line {first}): the later one would silently win")
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing a key given twice in one mapping (YAML forbids it; PyYAML keeps the last,
    so a second `feeds:` would drop every feed of the first without a word). Keys a `<<` merge
    brings in may still be overridden, as YAML means them to be."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise _DuplicateKey(key, line, seen[key])
                seen[key] = line
            except TypeError:  # an unhashable key: the constructor reports it
                continue
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """A YAML file's data; unreadable, non-UTF-8 or malformed files are a ConfigError naming it (and the line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None


def validate_file(model: type[_M], data: Any, path: Path) -> _M:
    """`data` read from `path` as a `model`; errors name the file and the key path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping of keys, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, path)) from None


def describe_error(exc: ValidationError, path: Path, *, prefix: tuple[str | int, ...] = ()) -> str:
    """One line per problem: `<file>: <key path>: <what is wrong>`; `prefix` roots the key path."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        message = error["msg"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _KeyError):
            loc, message = loc + cause.loc, str(cause)
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        lines.append(f"{path}: {format_loc(loc)}: {message}")
    return "\n".join(lines)


def load_feeds_file(path: Path) -> FeedsFile:
    """Parse `feeds.yaml`; a missing file is an empty configuration (no feeds, no providers).

    The `llm:` mapping also gets `prompts_dir`, the project's own `prompts/` beside this file:
    every LLM client is made from that mapping, so the night and the commands alike render with
    the project's templates where it has them.
    """
    feeds = validate_file(FeedsFile, read_yaml(path), path) if path.exists() else FeedsFile()
    if "prompts_dir" in feeds.llm:
        raise ConfigError(
            f"{path}: llm.prompts_dir: not a setting; a project's prompt templates go in "
            f"{path.parent / 'prompts'}"
        )
    return feeds.model_copy(update={"llm": {**feeds.llm, "prompts_dir": path.parent / PROMPTS_DIR}})


def load_brief_config(path: Path) -> BriefConfig:
    if not path.exists():
        raise ConfigError(f"{path}: not found (every brief needs a brief.yaml with at least `scope:`)")
    return validate_file(BriefConfig, read_yaml(path), path)


def load_config(project: Project, *, only: str | None = None) -> Config:
    """Load feeds.yaml and the brief.yaml of every brief (or of `only`), cross-checked.

    A brief directory without brief.yaml is skipped when loading all (it may hold only versions),
    but asking for it by slug is an error.
    """
    feeds = load_feeds_file(project.feeds_file)
    briefs: dict[str, BriefConfig] = {}
    if only is not None:
        if not _slug_ok(only):
            raise ConfigError(f"invalid brief slug {only!r}: use lowercase letters, digits and '-'")
        briefs[only] = load_brief_config(project.brief_config_file(only))
    else:
        for slug in project.slugs():
            path = project.brief_config_file(slug)
            if path.exists():
                briefs[slug] = load_brief_config(path)
    for slug, brief in briefs.items():
        _cross_check(brief, feeds, project.brief_config_file(slug), project.feeds_file)
    return Config(feeds=feeds, briefs=briefs)


def _slug_ok(slug: str) -> bool:
    return re.match(SLUG_PATTERN, slug) is not None


def _cross_check(brief: BriefConfig, feeds: FeedsFile, path: Path, feeds_path: Path) -> None:
    # A selection that names nothing real is almost always a typo that would silently read no feed.
    names = {f.name for f in feeds.feeds}
    tags = {t for f in feeds.feeds for t in f.tags}
    for index, name in enumerate(brief.feeds.names):
        if name not in names:
            raise ConfigError(f"{path}: feeds.names[{index}]: no feed named {name!r} in {feeds_path}")
    for index, tag in enumerate(brief.feeds.tags):
        if tag not in tags:
            raise ConfigError(f"{path}: feeds.tags[{index}]: no feed in {feeds_path} has tag {tag!r}")


def http_settings(
    config: Config, project: Project, *, record: Path | None = None, replay: Path | None = None
) -> HttpSettings:
    """The HTTP settings of feeds.yaml's `http:` section plus a command's record/replay choice."""
    values = dict(config.feeds.http)
    if record is not None:
        values["record_dir"] = record
    if replay is not None:
        values["replay_dir"] = replay
    try:
        return HttpSettings(**values)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, project.feeds_file, prefix=("http",))) from None
