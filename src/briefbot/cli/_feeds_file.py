"""Adding and removing feeds in `feeds.yaml` as text, so its comments and layout survive.

An entry is appended at the end of the `feeds:` block in the style of the entries already there,
or cut out from its `- ` line to the next entry. The edited text is then loaded with
`load_feeds_file` and must give exactly the expected feeds; if it does not (a layout this editor
does not understand, such as a flow list `feeds: [...]`), the file is re-dumped from the
expected data instead, which loses its comments, and the caller is told so.
The file is replaced atomically and only with text that loads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from briefbot._fs import atomic_write
from briefbot.config import FeedConfig, FeedsFile, load_feeds_file
from briefbot.errors import ConfigError

_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_FEEDS_KEY = re.compile(r"^feeds\s*:\s*(#.*)?$")
_ENTRY = re.compile(r"^(\s*)-\s")
_EMPTY_FEEDS = re.compile(r"^feeds\s*:\s*\[\s*\]\s*(#.*)?$")


def _scalar(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _entry_lines(feed: FeedConfig, indent: str) -> list[str]:
    inner = indent + "  "
    lines = [f"{indent}- name: {_scalar(feed.name)}", f"{inner}url: {_scalar(feed.url)}"]
    if feed.tags:
        lines.append(f"{inner}tags: {_scalar(list(feed.tags))}")
    if not feed.enabled:
        lines.append(f"{inner}enabled: false")
    return lines


def _feeds_block(lines: list[str]) -> tuple[int, int] | None:
    """(index of the `feeds:` line, index after the block's last content line), or None."""
    start = next((i for i, line in enumerate(lines) if _FEEDS_KEY.match(line)), None)
    if start is None:
        return None
    end = start + 1
    last_content = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t", "-", "#")) and _TOP_KEY.match(line):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            last_content = end + 1
        end += 1
    return start, last_content


def _text_with(text: str, feeds: list[FeedConfig]) -> str:
    """`text` with `feeds` appended to its feeds block in one pass (an import may add thousands)."""
    lines = text.splitlines()
    block = _feeds_block(lines)
    empty = next(((i, m) for i, line in enumerate(lines) if (m := _EMPTY_FEEDS.match(line))), None)
    if block is None and empty is not None:
        # `feeds: []` (as `briefbot init` writes it) becomes a block list; its comment stays.
        at, comment = empty[0], empty[1].group(1) or ""
        head = "feeds:" + (f"  {comment}" if comment else "")
        return "\n".join([*lines[:at], head, *_entries(feeds, "  "), *lines[at + 1 :]]) + "\n"
    if block is None and re.search(r"(?m)^feeds\s*:", text):
        return text  # a flow-style `feeds: [...]`: left to the re-dump (a second key would shadow it)
    if block is None:
        body = "\n".join(lines).rstrip("\n")
        prefix = body + "\n" if body else ""
        return prefix + "\n".join(["feeds:", *_entries(feeds, "  ")]) + "\n"
    start, after = block
    indents = [m.group(1) for line in lines[start + 1 : after] if (m := _ENTRY.match(line))]
    indent = indents[0] if indents else "  "
    return "\n".join(lines[:after] + _entries(feeds, indent) + lines[after:]) + "\n"


def _entries(feeds: list[FeedConfig], indent: str) -> list[str]:
    return [line for feed in feeds for line in _entry_lines(feed, indent)]


def _text_without(text: str, name: str) -> str:
    lines = text.splitlines()
    block = _feeds_block(lines)
    if block is None:
        return text
    start, after = block
    entries = [(i, m.group(1)) for i in range(start + 1, after) if (m := _ENTRY.match(lines[i]))]
    for position, (first, indent) in enumerate(entries):
        end = entries[position + 1][0] if position + 1 < len(entries) else after
        chunk = [first, *range(first + 1, end)]
        entry = yaml.safe_load("\n".join(lines[i][len(indent) :] for i in chunk)) or []
        if isinstance(entry, list) and entry and isinstance(entry[0], dict) and entry[0].get("name") == name:
            # Comment lines right before the next entry belong to it, not to the one removed.
            while end - 1 > first and lines[end - 1].lstrip().startswith("#"):
                end -= 1
            return "\n".join(lines[:first] + lines[end:]) + "\n"
    return text


def _dump(text: str, feeds: list[FeedConfig]) -> str:
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        data = {}
    data["feeds"] = [f.model_dump(exclude_defaults=True) | {"name": f.name, "url": f.url} for f in feeds]
    dumped: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    return dumped


def _same(a: FeedsFile, feeds: list[FeedConfig]) -> bool:
    return [f.model_dump() for f in a.feeds] == [f.model_dump() for f in feeds]


def write_feeds(path: Path, text: str, edited: str, expected: list[FeedConfig]) -> bool:
    """Replace `path` with `edited` when it loads as `expected` feeds, else with a re-dump of
    `text` carrying them. Returns True when the comments were kept (the text edit was used)."""
    scratch = path.with_name(f".{path.name}.check")
    for candidate, kept in ((edited, True), (_dump(text, expected), False)):
        atomic_write(scratch, candidate, durable=False)
        try:
            loaded = load_feeds_file(scratch)
        except ConfigError:
            continue
        finally:
            scratch.unlink(missing_ok=True)
        if _same(loaded, expected):
            atomic_write(path, candidate)
            return kept
    raise ConfigError(f"{path}: the edited file would not load; left unchanged")


def add_feeds(path: Path, feeds: list[FeedConfig]) -> bool:
    """Append `feeds` to `path`'s feeds; True when the file's comments were kept."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    current = load_feeds_file(path)
    return write_feeds(path, text, _text_with(text, feeds), [*current.feeds, *feeds])


def remove_feed(path: Path, name: str) -> bool:
    """Remove the feed called `name` from `path`; True when the file's comments were kept."""
    text = path.read_text(encoding="utf-8")
    current = load_feeds_file(path)
    remaining = [f for f in current.feeds if f.name != name]
    return write_feeds(path, text, _text_without(text, name), remaining)
