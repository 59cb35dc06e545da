"""The merger's checks on a single edit: pure functions, each failure a reason the editor reads.

Split from `merge.py` so the rules an edit must pass sit apart from the bookkeeping of applying it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from briefbot.models import (
    EDIT_CITATION_RE,
    AddPerspective,
    AddTimelineEntry,
    BatchItem,
    Brief,
    Edit,
    RetireOpenQuestion,
    ReviseSection,
    UpdatePerspective,
    check_partial_date,
)
from briefbot.untrusted import injection_flags

# Upper bounds on what one edit may write, in characters, so a runaway answer cannot bloat a brief.
MAX_CHARS = {"summary": 600, "actor": 120, "text": 1500, "stance": 1000, "evolution": 1200, "section": 4000}
# Capitalised words and model-like tokens (GLM-5.1, V4) that may name a person, lab or product.
_NAME_RE = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:[.'\-][A-Za-z0-9]+)*")
_WORD_RE = re.compile(r"[a-z0-9]+")
_POSSESSIVE_RE = re.compile(r"['\u2019]s$")
# Where a sentence or clause starts: the text's start, a line break, or after . ! ? : ; and a space.
_SENTENCE_START_RE = re.compile(r"(?:^|\n|[.!?:;]\s+)\s*[\"'(\u201c\u2018]?$")
# An ordinary word written with a capital only: a name usually has digits, hyphens or inner capitals.
_ORDINARY_WORD_RE = re.compile(r"^[A-Z][a-z]+$")
# A word opening a sentence is a name only if the next word is capitalised too ("Zorblax Labs").
_CAPITAL_NEXT_RE = re.compile(r"\s+[\"'(\u201c\u2018]?[A-Z]")
# Letters then digits joined by - . ' make a name (GLM-5.1, M2.5, V4, Q1): its digits are no figure.
_NAME_TOKEN_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:[-.'\u2019][A-Za-z0-9]+)*")
# ...except a rank written "No.3" and a prefixed year ("mid-2026").
_NOT_A_NAME_RE = re.compile(r"^(?:[Nn]o\.\d|(?:mid|early|late|pre|post)-\d)")
_WORD_BEFORE_RE = re.compile(r"\b([A-Z][A-Za-z0-9.'\-]*) $")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# Months and weekdays are capitalised but name no one; a date is the figures check's business.
_CALENDAR_RE = re.compile(rf"^(?:{_MONTH}|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day)$")
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
# Capitalised because they open a sentence, not because they name anyone.
_SENTENCE_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "as",
        "at",
        "after",
        "also",
        "although",
        "before",
        "both",
        "but",
        "can",
        "could",
        "despite",
        "do",
        "does",
        "either",
        "further",
        "how",
        "however",
        "if",
        "in",
        "instead",
        "it",
        "its",
        "many",
        "meanwhile",
        "most",
        "neither",
        "new",
        "no",
        "notably",
        "on",
        "or",
        "other",
        "separately",
        "several",
        "should",
        "since",
        "some",
        "still",
        "such",
        "that",
        "the",
        "these",
        "this",
        "those",
        "thus",
        "what",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "why",
        "will",
        "would",
        "yet",
    )
)


class Rejected(Exception):
    """An edit the merger refuses; the message is the reason the editor reads."""


def brief_texts(brief: Brief) -> list[str]:
    texts = [
        brief.title,
        *brief.what,
        *brief.why_it_matters,
        *brief.open_questions,
        *brief.narrative,
        *brief.tensions,
    ]
    texts += [e.text for e in brief.timeline]
    texts += [f"{p.actor} {p.stance} {p.evolution or ''}" for p in brief.perspectives]
    texts += [f"{s.title} {s.publisher or ''}" for s in brief.sources]
    if brief.status:
        texts.append(brief.status)
    if brief.whats_new:
        texts += brief.whats_new.paragraphs
    return texts


def vocabulary(texts: list[str]) -> tuple[set[str], set[str]]:
    joined = "\n".join(texts)
    return set(_NAME_RE.findall(joined)), set(_WORD_RE.findall(joined.lower()))


def text_fields(edit: Edit) -> list[tuple[str, str]]:
    """The (limit key, text) pairs an edit writes, in the order citations are numbered."""
    fields: list[tuple[str, str]] = []
    if isinstance(edit, (UpdatePerspective, AddPerspective)):
        fields.append(("actor", edit.actor))
        for name in ("stance", "evolution"):
            value = getattr(edit, name)
            if value is not None:
                fields.append((name, value))
    elif isinstance(edit, ReviseSection):
        fields.append(("section", edit.text))
    elif not isinstance(edit, RetireOpenQuestion):
        fields.append(("text", edit.text))
    return fields


def markers(edit: Edit) -> list[str]:
    found: list[str] = []
    for _, text in [*text_fields(edit), ("summary", edit.summary)]:
        found += EDIT_CITATION_RE.findall(text)
    return list(dict.fromkeys(found))


# -- checks ------------------------------------------------------------------------------------


def check_lengths(edit: Edit) -> None:
    for key, text in [("summary", edit.summary), *text_fields(edit)]:
        if not EDIT_CITATION_RE.sub("", text).strip():
            raise Rejected(f"{key} is empty")
        if len(text) > MAX_CHARS[key]:
            raise Rejected(f"{key} is {len(text)} characters, over the limit of {MAX_CHARS[key]}")
    if isinstance(edit, UpdatePerspective) and edit.stance is None and edit.evolution is None:
        raise Rejected("changes nothing: stance and evolution are both null")
    if isinstance(edit, (UpdatePerspective, AddPerspective)) and EDIT_CITATION_RE.search(edit.actor):
        # An actor is a name, not a claim; a citation in it would never be mapped to a source.
        raise Rejected(f"actor {edit.actor!r} contains a citation; cite in the stance or evolution")


def check_citations(cites: list[str], *, items: dict[str, BatchItem], base: Brief) -> None:
    if not cites:
        raise Rejected("cites nothing: an edit must cite a batch item [new:K] or a source [N]")
    for marker in cites:
        if marker.startswith("new:"):
            if marker not in items:
                known = ", ".join(sorted(items, key=lambda r: int(r[4:]))) or "none"
                raise Rejected(f"cites [{marker}], which is not an item of this batch (items: {known})")
        elif base.source(int(marker)) is None:
            raise Rejected(
                f"cites [{marker}], which is not a source of v{base.version} (sources 1-{base.next_source_number() - 1})"
            )


def edit_warnings(
    edit: Edit,
    cites: list[str],
    *,
    items: dict[str, BatchItem],
    base: Brief,
    known: tuple[set[str], set[str]],
) -> list[str]:
    """What the editor should check: names and figures no cited item or the brief mentions,
    instruction-like text in a cited item, a timeline date no cited item carries."""
    cited: list[str] = []
    dates: list[str] = []
    for marker in cites:
        if marker.startswith("new:"):
            item = items[marker]
            cited += [item.title, item.publisher or "", item.text or ""]
            dates.append(item.published or "")
        else:
            source = base.source(int(marker))  # known: check_citations ran first
            dates.append(source.date or "" if source is not None else "")
    plains = [EDIT_CITATION_RE.sub("", text) for _, text in text_fields(edit)]
    found_problems: list[str] = []
    for marker in dict.fromkeys(cites):
        if marker.startswith("new:"):
            # Fetched text that reads like instructions to the model: the editor should know.
            flags = injection_flags(items[marker].text or "")
            if flags:
                found_problems.append(
                    f"[{marker}] contains instruction-like text (treated as data): {'; '.join(flags)}"
                )
    names = unknown_names(plains, cited=vocabulary(cited), known=known)
    if names:
        found_problems.append(f"names found neither in the cited items nor in the brief: {', '.join(names)}")
    # The brief's own dates (timeline, sources, its date) count as mentioned, as the cited items' do.
    brief_side = [
        *brief_texts(base),
        *(e.date for e in base.timeline),
        *(s.date or "" for s in base.sources),
        base.date.isoformat(),
    ]
    unsupported = unknown_figures(plains, known=[*cited, *dates, *brief_side])
    if unsupported:
        found_problems.append(
            f"figures found neither in the cited items nor in the brief: {', '.join(unsupported)}"
        )
    if isinstance(edit, AddTimelineEntry):
        grounded = any(d.startswith(edit.date) for d in dates) or any(edit.date in text for text in cited)
        if not grounded:
            listed = ", ".join(d for d in dates if d) or "none"
            found_problems.append(f"date {edit.date} is not a date of a cited item (their dates: {listed})")
    return found_problems


# -- names -------------------------------------------------------------------------------------


def _opens_sentence(plain: str, start: int) -> bool:
    return _SENTENCE_START_RE.search(plain[:start]) is not None


def unknown_names(
    plains: list[str], *, cited: tuple[set[str], set[str]], known: tuple[set[str], set[str]]
) -> list[str]:
    """Capitalised words and model-like tokens of `plains` (texts without citation markers) that
    neither the cited items nor the brief mention, in order of first appearance.

    A name is known when it appears with the same spelling in the cited items or the brief, or when
    it is an ordinary word: one in the list of sentence words ("However", "The"), a month or weekday,
    or one that appears in lower case there. "GLM-5.1's" is the name GLM-5.1.

    The rule for a sentence's first word. A word opens a sentence when it stands at the start of the
    text or after . ! ? : ; and whitespace (or a line break), optionally behind an opening quote or
    bracket. Such a word is capitalised by grammar, so it is not read as a name ("Hardened: the
    union...", "Significantly, NVIDIA...", "Answered its critics") when both
    - it is shaped like an ordinary word: one capital, then lower-case letters only; no digit,
      hyphen, dot or inner capital (GLM-5.1, OpenAI and NVIDIA look like names wherever they stand),
    - and the next word is not capitalised: "Zorblax Labs disputes..." opens with a two-word name.
    A name that only ever opens a sentence is missed; one written mid-sentence anywhere in the text
    is flagged there.
    """
    names: list[str] = []
    for plain in plains:
        for match in _NAME_RE.finditer(plain):
            # "GLM-5.1's" names GLM-5.1: the possessive is grammar, not part of the name.
            name = _POSSESSIVE_RE.sub("", match.group(0))
            if (
                _opens_sentence(plain, match.start())
                and _ORDINARY_WORD_RE.match(name)
                and not _CAPITAL_NEXT_RE.match(plain[match.end() :])
            ):
                continue
            if name in known[0] or name in cited[0] or _CALENDAR_RE.match(name):
                continue
            lower = name.lower()
            # A capitalised ordinary word ("However") is known in lower case somewhere.
            if lower not in _SENTENCE_WORDS and lower not in known[1] and lower not in cited[1]:
                names.append(name)
    return list(dict.fromkeys(names))


# -- figures -----------------------------------------------------------------------------------


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


def unknown_figures(plains: list[str], *, known: list[str]) -> list[str]:
    """Figures of `plains` that no text of `known` mentions, as written, in order of appearance.

    A percent, rank or money figure needs the same key in `known` ("53%" is known from "53 percent",
    "#3" from "No. 3", "3rd place" or "third place", "$2 billion" from "$2bn"). A date needs a known
    date it is part of ("May 2026" is known from "2026-05-24"; "May 24" from "24 May 2026"). A plain
    number (a year too) is known when any known figure carries that value, scaled or as written
    ("8" and "8 billion" from "8B", "2026" from "2026-05", "3" from "#3"), or it is spelled out
    ("eight").
    """
    keys: set[Figure] = set()
    numbers: set[Decimal] = set()
    dates: set[str] = set()
    for text in known:
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


def _date_known(date: str, dates: set[str]) -> bool:
    if date.startswith("--"):
        return any(known.endswith(date[1:]) for known in dates)
    # A full date is also known from the same day written without a year ("May 24").
    return any(known.startswith(date) for known in dates) or (len(date) == 10 and f"--{date[5:]}" in dates)


def check_date(value: str, run_date: dt.date) -> None:
    try:
        check_partial_date(value)
    except ValueError as exc:
        raise Rejected(f"malformed date {value!r}: {exc}") from None
    year, month, day = (int(p) for p in (value + "-01-01")[:10].split("-"))
    if dt.date(year, month, day) > run_date:
        raise Rejected(f"date {value} is later than the run date {run_date.isoformat()}")
