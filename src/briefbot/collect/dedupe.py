"""Deciding whether a found item is one we already hold.

Checked in order, cheapest and surest first:
1. canonical URL (courlan: scheme/host case, default ports, tracking parameters; plus no fragment),
   including the URLs of copies already recognised as duplicates in earlier runs;
2. GUID (global GUIDs as-is; feed-local ones like "123" only within the same origin);
3. content hash of the normalised title + summary (only when there is enough text to mean it);
4. near-duplicate title and summary (rapidfuzz) for syndicated copies at other URLs.
Pure: the caller loads what is already known and stores what is new.

The near-duplicate check must not score every new title against every known one (quadratic: 27 s
at 10,000 items). Known titles are indexed by blocking keys, and a new title is scored only
against the titles that share a key with it (see `_NearIndex`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from math import ceil
from typing import Literal
from urllib.parse import urldefrag, urlsplit

import courlan
from rapidfuzz import fuzz, process

from briefbot.models import CandidateItem, KnownItem, StrictModel, guid_key

__all__ = ["Deduper", "DupMatch", "KnownItem", "canonical_url", "guid_key"]

DupReason = Literal["url", "guid", "hash", "near", "source"]

# Below this much normalised text, equal hashes are as likely to be two terse different items.
MIN_HASH_CHARS = 40
# Syndicated copies keep the headline (maybe re-punctuated) and mostly the standfirst.
TITLE_CUTOFF = 90.0
SUMMARY_CUTOFF = 80.0
# Without summaries to compare, only a long, nearly identical title counts.
TITLE_ALONE_CUTOFF = 97.0
MIN_NEAR_TITLE_CHARS = 20
MIN_TITLE_ALONE_CHARS = 40
MIN_SUMMARY_CHARS = 40

_WORD_RE = re.compile(r"\w+")
_DIGITS_RE = re.compile(r"\d+")
# Blocking keys are word stems this long: "model"/"models", "releases"/"released" share one.
STEM_CHARS = 5
# A syndicated copy's title keeps at least this share of each title's word stems (see _NearIndex).
MIN_SHARED_STEMS = 0.6


def canonical_url(url: str) -> str:
    """The dedupe key of a URL; raises ValueError for anything but an absolute http(s) URL."""
    base, _fragment = urldefrag(url.strip())
    parts = urlsplit(base)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    try:
        return courlan.normalize_url(base, strict=False, trailing_slash=True)
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"cannot normalise URL {url!r}: {exc}") from exc


def _normal(text: str | None) -> str:
    return " ".join(_WORD_RE.findall((text or "").casefold()))


class DupMatch(StrictModel):
    reason: DupReason
    item_id: int | None
    url: str  # the canonical URL of the item this one duplicates


class Deduper:
    """An in-memory index of known items; `check` then `add` each new item in a fixed order."""

    def __init__(self, known: Iterable[KnownItem] = (), *, upcoming: Iterable[str] = ()) -> None:
        """`upcoming`: titles about to be checked; they make the near-duplicate index fast."""
        known = list(known)
        self._by_url: dict[str, KnownItem] = {}
        self._by_guid: dict[str, KnownItem] = {}
        self._by_hash: dict[str, KnownItem] = {}
        fuzzy_titles = (_normal(entry.title) for entry in known if entry.fuzzy)
        self._near_index = _NearIndex([*fuzzy_titles, *map(_normal, upcoming)])
        for entry in known:
            self.add(entry)

    def add(self, entry: KnownItem) -> None:
        for url in (entry.url, *entry.aliases):
            self._by_url.setdefault(url, entry)
        key = guid_key(entry.guid, entry.origin)
        if key:
            self._by_guid.setdefault(key, entry)
        if len(_normal(entry.title)) + len(_normal(entry.summary)) >= MIN_HASH_CHARS:
            self._by_hash.setdefault(entry.content_hash, entry)
        if entry.fuzzy:
            self._near_index.add(entry)

    def check(self, item: CandidateItem) -> DupMatch | None:
        """The known item `item` duplicates, and why; None if it is new."""
        found = self._by_url.get(item.url)
        if found:
            return DupMatch(reason="url", item_id=found.id, url=found.url)
        key = guid_key(item.guid, item.origin)
        if key and key in self._by_guid:
            found = self._by_guid[key]
            return DupMatch(reason="guid", item_id=found.id, url=found.url)
        if len(_normal(item.title)) + len(_normal(item.summary)) >= MIN_HASH_CHARS:
            found = self._by_hash.get(item.content_hash)
            if found:
                return DupMatch(reason="hash", item_id=found.id, url=found.url)
        found = self._near(item)
        if found:
            return DupMatch(reason="near", item_id=found.id, url=found.url)
        return None

    @property
    def titles_scored(self) -> int:
        """How many known titles the near-duplicate check has scored so far (its cost)."""
        return self._near_index.scored

    def _near(self, item: CandidateItem) -> KnownItem | None:
        title = _normal(item.title)
        if len(title) < MIN_NEAR_TITLE_CHARS:
            return None
        candidates = self._near_index.candidates(title)
        if not candidates:
            return None
        titles = [self._near_index.titles[index] for index in candidates]
        self._near_index.scored += len(titles)
        matches = process.extract(
            title, titles, scorer=fuzz.token_sort_ratio, score_cutoff=TITLE_CUTOFF, limit=5
        )
        for _choice, score, position in matches:
            other = self._near_index.owners[candidates[position]]
            if is_near_duplicate(item.title, item.summary, other.title, other.summary, title_score=score):
                return other
        return None


def _stems(title: str) -> set[str]:
    return {word[:STEM_CHARS] for word in title.split()}


class _NearIndex:
    """Known titles blocked by (digits in the title, word stem), so a check scores few of them.

    Two blocking rules, and why they keep recall:
    - digits: `is_near_duplicate` refuses titles whose digit runs differ ("#12" vs "#13"), so only
      titles with exactly the same digits can match; that part is exact.
    - stems, by prefix filtering (Chaudhuri et al. 2006): fix one order of all stems, rarest
      first. If two titles share at least `MIN_SHARED_STEMS` of the stems of each, then the first
      k - ceil(share * k) + 1 stems of the one and of the other have a stem in common, whatever the
      order (pigeonhole). So each title is indexed, and looked up, under that prefix only, and with
      the rarest-first order the common words ("the", "new") sit outside every prefix. A copy whose
      headline changed more than that would score below TITLE_CUTOFF anyway; truncating words to
      stems keeps plurals and tenses ("model"/"models") from counting as changed words.
    The order comes from stem counts over the known titles and the `upcoming` ones (the batch about
    to be checked), fixed at construction: any fixed order is correct; counts make it fast.
    """

    def __init__(self, titles: Iterable[str]) -> None:
        self.titles: list[str] = []
        self.owners: list[KnownItem] = []
        self.scored = 0
        self._count: dict[str, int] = {}
        for title in titles:
            for stem in _stems(title):
                self._count[stem] = self._count.get(stem, 0) + 1
        self._postings: dict[tuple[tuple[str, ...], str], list[int]] = {}

    def _prefix(self, title: str) -> tuple[tuple[str, ...], list[str]]:
        stems = sorted(_stems(title), key=lambda stem: (self._count.get(stem, 0), stem))
        probe = len(stems) - ceil(MIN_SHARED_STEMS * len(stems)) + 1
        return tuple(_DIGITS_RE.findall(title)), stems[:probe]

    def add(self, entry: KnownItem) -> None:
        title = _normal(entry.title)
        if len(title) < MIN_NEAR_TITLE_CHARS:
            return  # too short to ever be a near-duplicate (is_near_duplicate refuses it)
        index = len(self.titles)
        self.titles.append(title)
        self.owners.append(entry)
        digits, prefix = self._prefix(title)
        for stem in prefix:
            self._postings.setdefault((digits, stem), []).append(index)

    def candidates(self, title: str) -> list[int]:
        """Indexes of the known titles worth scoring against `title`, in the order they were added."""
        digits, prefix = self._prefix(title)
        found: set[int] = set()
        for stem in prefix:
            found.update(self._postings.get((digits, stem), ()))
        return sorted(found)


def is_near_duplicate(
    title_a: str,
    summary_a: str | None,
    title_b: str,
    summary_b: str | None,
    *,
    title_score: float | None = None,
) -> bool:
    """Two items are copies of one story: near-equal titles and, when both have them, summaries."""
    ta, tb = _normal(title_a), _normal(title_b)
    if min(len(ta), len(tb)) < MIN_NEAR_TITLE_CHARS:
        return False
    # "Roundup #12" and "Roundup #13" are different stories however similar the words.
    if _DIGITS_RE.findall(ta) != _DIGITS_RE.findall(tb):
        return False
    score = title_score if title_score is not None else fuzz.token_sort_ratio(ta, tb)
    if score < TITLE_CUTOFF:
        return False
    sa, sb = _normal(summary_a), _normal(summary_b)
    if len(sa) >= MIN_SUMMARY_CHARS and len(sb) >= MIN_SUMMARY_CHARS:
        # Copies often trim or extend the standfirst, so compare the shorter against the longer.
        return fuzz.token_set_ratio(sa, sb) >= SUMMARY_CUTOFF
    return score >= TITLE_ALONE_CUTOFF and min(len(ta), len(tb)) >= MIN_TITLE_ALONE_CHARS
