"""Word shapes the names and figures checks share: what a name looks like, months, and where a
sentence starts. Pure."""

from __future__ import annotations

import re

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


def _opens_sentence(plain: str, start: int) -> bool:
    return _SENTENCE_START_RE.search(plain[:start]) is not None
