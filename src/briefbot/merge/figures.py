"""The figures check: numbers, percents, ranks, money and dates an edit writes, and whether the
cited items or the brief mention them. Pure; the merger builds the brief's side once per merge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from briefbot.merge._text import (
    _MONTH,
    _NAME_TOKEN_RE,
    _NOT_A_NAME_RE,
    _ORDINARY_WORD_RE,
    _WORD_BEFORE_RE,
    _opens_sentence,
)
from briefbot.models import EDIT_CITATION_RE

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_YEAR = r"(?:19|20)\d\d(?!\d)"
_YEAR_ONLY_RE = re.compile(r"^(?:19|20)\d\d$")
_SCALE = r"(?i:thousand|million|billion|trillion|k|mn?|bn?|tn?)"
_SCALES = {"k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6, "b": 9, "bn": 9, "billion": 9}
_SCALES |= {"t": 12, "tn": 12, "trillion": 12}
_CURRENCIES = {"$": "$", "us$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "eur": "€"}
_CURRENCIES |= {"euro": "€", "euros": "€", "£": "£", "gbp": "£", "pound": "£", "pounds": "£"}
_CURRENCIES |= {"¥": "¥", "yen": "¥"}
_PER = r"(?:\s?(?:/|per\s)\s?[a-z]+)?"
# One alternative per kind of figure, tried in this order at each position; the lookbehinds keep a
# match from starting inside a word or a longer number.
_FIGURE_RE = re.compile(
    rf"""
    (?P<iso>(?<![\w.\-]){_YEAR}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?(?!\d|-\d))
  | (?P<md>\b(?P<md_month>{_MONTH})\b\.?(?:\s+(?P<md_day>\d{{1,2}})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<md_year>{_YEAR}))?)
  | (?P<dm>(?<![\w.,])(?P<dm_day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dm_month>{_MONTH})\b\.?(?:,?\s+(?P<dm_year>{_YEAR}))?)
  | (?P<money>(?P<money_cur>US\$|[$€£¥]|\b(?:USD|EUR|GBP)\s?)(?P<money_num>{_NUM})(?:\s?(?P<money_scale>{_SCALE})\b)?{_PER})
  | (?P<money2>(?<![\w.,])(?P<money2_num>{_NUM})(?:\s?(?P<money2_scale>{_SCALE}))?\s+(?P<money2_cur>dollars?|euros?|pounds?|yen|USD|EUR|GBP)\b{_PER})
  | (?P<percent>(?<![\w.,])(?P<percent_num>{_NUM})\s?(?:%|(?:percent|per\s?cent|pct|percentage\spoints?)\b))
  | (?P<rank>(?:\#|\b[Nn]o\.\s?)(?P<rank_num>\d+)\b)
  | (?P<ordinal>(?<![\w.,])(?P<ordinal_num>\d+)(?:st|nd|rd|th)\s+(?:place|position|spot)\b)
  | (?P<num>(?<![\w.,])(?P<num_num>{_NUM})(?:\s+(?P<num_scale>thousand|million|billion|trillion)\b|(?P<num_suffix>[A-Za-z]+)\b)?)
    """,
    re.VERBOSE,
)
_DIGITS_RE = re.compile(_NUM)
# Spelled-out numbers count as mentioned ("eight labs" grounds "8 labs"); an edit's are not checked.
_CARDINALS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_CARDINAL_RE = re.compile(rf"\b({'|'.join(_CARDINALS)})\b")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_ORDINAL_RANK_RE = re.compile(rf"\b({'|'.join(_ORDINALS)})\s+(?:place|position|spot)\b")


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _scaled(value: Decimal, scale: str | None) -> Decimal:
    return value if scale is None else value.scaleb(_SCALES[scale.lower()])


def _date_key(month: str, day: str | None, year: str | None) -> str | None:
    number = _MONTHS.index(month[:3].lower()) + 1
    if day is not None and not 1 <= int(day) <= 31:
        return None
    if year is None:
        return None if day is None else f"--{number:02d}-{int(day):02d}"
    return f"{year}-{number:02d}" + ("" if day is None else f"-{int(day):02d}")


def _mask_name(match: re.Match[str]) -> str:
    token = match.group(0)
    if not any(c.isdigit() for c in token) or _NOT_A_NAME_RE.match(token):
        return token
    # A capitalised stand-in, so a number after it still reads as the name's version ("GLM-5.1 7B").
    return "NAME"


def _is_version(plain: str, start: int) -> bool:
    """Whether the number at `start` follows a name with one space, as in "Gemma 4" or "Apache 2.0"."""
    word = _WORD_BEFORE_RE.search(plain[:start])
    if word is None:
        return False
    return not _opens_sentence(plain, word.start()) or not _ORDINARY_WORD_RE.match(word.group(1))


Figure = tuple[str, Decimal | str]


def figures(text: str, *, skip_versions: bool = False) -> list[tuple[str, Figure]]:
    """The figures of `text` as (as written, key): the key is what two spellings of one figure share.

    Keys: ("number", value), ("percent", value), ("rank", value), ("$" or "€" or "£" or "¥", value)
    and ("date", "YYYY-MM", "YYYY-MM-DD" or "--MM-DD"), values as Decimals, so "1,000" and "1000",
    "$2bn" and "2 billion dollars", "53%" and "53 percent", "#3" and "No. 3" share a key. A money
    figure's rate ("/hour") is kept as written but not compared. A year is a number.

    Not figures: citation markers ([12], [new:3]); digits inside a name token (GLM-5.1, M2.5, V4,
    Q1: a word that starts with a letter); with `skip_versions`, a number that follows a name with
    one space ("Gemma 4", "Apache 2.0"), unless it is a year or the word opens a sentence and is
    shaped like an ordinary word ("About 40 labs").
    """
    plain = _NAME_TOKEN_RE.sub(_mask_name, EDIT_CITATION_RE.sub(" ", text))
    found: list[tuple[str, Figure]] = []
    for m in _FIGURE_RE.finditer(plain):
        key: Figure | None
        if m.group("iso"):
            key = ("date", m.group("iso"))
        elif m.group("md"):
            date = _date_key(m.group("md_month"), m.group("md_day"), m.group("md_year"))
            key = None if date is None else ("date", date)
        elif m.group("dm"):
            date = _date_key(m.group("dm_month"), m.group("dm_day"), m.group("dm_year"))
            key = None if date is None else ("date", date)
        elif m.group("money"):
            value = _scaled(_number(m.group("money_num")), m.group("money_scale"))
            key = (_CURRENCIES[m.group("money_cur").strip().lower()], value)
        elif m.group("money2"):
            value = _scaled(_number(m.group("money2_num")), m.group("money2_scale"))
            key = (_CURRENCIES[m.group("money2_cur").lower()], value)
        elif m.group("percent"):
            key = ("percent", _number(m.group("percent_num")))
        elif m.group("rank"):
            key = ("rank", _number(m.group("rank_num")))
        elif m.group("ordinal"):
            key = ("rank", _number(m.group("ordinal_num")))
        else:
            raw = m.group("num_num")
            suffix = m.group("num_scale") or m.group("num_suffix")
            scale = suffix if suffix is not None and suffix.lower() in _SCALES else None
            is_year = _YEAR_ONLY_RE.match(m.group("num")) is not None
            if skip_versions and not is_year and _is_version(plain, m.start()):
                key = None
            else:
                key = ("number", _scaled(_number(raw), scale))
        if key is not None:
            found.append((" ".join(m.group(0).split()), key))
    return found


@dataclass(frozen=True)
class KnownFigures:
    """The figures some texts mention, ready to ground an edit's: keys, values and dates."""

    keys: frozenset[Figure] = frozenset()
    numbers: frozenset[Decimal] = frozenset()
    dates: frozenset[str] = frozenset()

    def __or__(self, other: KnownFigures) -> KnownFigures:
        return KnownFigures(self.keys | other.keys, self.numbers | other.numbers, self.dates | other.dates)


def known_figures(texts: list[str]) -> KnownFigures:
    """What `texts` mention. The brief's side is built once per merge: scanning its ~20 KB for
    every edit made the check the slowest step of a merge."""
    keys: set[Figure] = set()
    numbers: set[Decimal] = set()
    dates: set[str] = set()
    for text in texts:
        for written, key in figures(text):
            keys.add(key)
            value = key[1]
            if isinstance(value, str):
                dates.add(value)
                if not value.startswith("--"):
                    numbers.add(Decimal(value[:4]))
            else:
                numbers.add(value)
                numbers.update(_number(n) for n in _DIGITS_RE.findall(written))
        lower = text.lower()
        numbers.update(Decimal(_CARDINALS.index(w)) for w in _CARDINAL_RE.findall(lower))
        keys.update(("rank", Decimal(_ORDINALS.index(w) + 1)) for w in _ORDINAL_RANK_RE.findall(lower))
    return KnownFigures(frozenset(keys), frozenset(numbers), frozenset(dates))


def unknown_figures(plains: list[str], *, known: list[str] | KnownFigures) -> list[str]:
    """Figures of `plains` that no text of `known` mentions, as written, in order of appearance.

    A percent, rank or money figure needs the same key in `known` ("53%" is known from "53 percent",
    "#3" from "No. 3", "3rd place" or "third place", "$2 billion" from "$2bn"). A date needs a known
    date it is part of ("May 2026" is known from "2026-05-24"; "May 24" from "24 May 2026"). A plain
    number (a year too) is known when any known figure carries that value, scaled or as written
    ("8" and "8 billion" from "8B", "2026" from "2026-05", "3" from "#3"), or it is spelled out
    ("eight").
    """
    seen = known if isinstance(known, KnownFigures) else known_figures(known)
    keys, numbers, dates = seen.keys, seen.numbers, seen.dates
    unknown: list[str] = []
    for plain in plains:
        for written, key in figures(plain, skip_versions=True):
            kind, value = key
            if isinstance(value, str):
                grounded = _date_known(value, dates)
            elif kind == "number":
                grounded = value in numbers
            else:
                grounded = key in keys
            if not grounded:
                unknown.append(written)
    return list(dict.fromkeys(unknown))


def _date_known(date: str, dates: frozenset[str]) -> bool:
    if date.startswith("--"):
        return any(known.endswith(date[1:]) for known in dates)
    # A full date is also known from the same day written without a year ("May 24").
    return any(known.startswith(date) for known in dates) or (len(date) == 10 and f"--{date[5:]}" in dates)
