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


# Capitalised because they open a sentence, not because they name anyone: articles, pronouns,
# prepositions, conjunctions, and the adverbs and connectives a sentence opens with ("Moreover
# NVIDIA rose."). Such a word is never read as a name, even when a name follows it.
_SENTENCE_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "according",
        "across",
        "after",
        "afterwards",
        "again",
        "against",
        "all",
        "also",
        "although",
        "among",
        "an",
        "and",
        "another",
        "any",
        "anyway",
        "are",
        "around",
        "as",
        "at",
        "before",
        "behind",
        "below",
        "beside",
        "besides",
        "between",
        "beyond",
        "both",
        "but",
        "by",
        "can",
        "certainly",
        "clearly",
        "consequently",
        "could",
        "currently",
        "despite",
        "do",
        "does",
        "during",
        "each",
        "earlier",
        "either",
        "else",
        "elsewhere",
        "especially",
        "even",
        "eventually",
        "every",
        "everyone",
        "finally",
        "first",
        "for",
        "formerly",
        "from",
        "further",
        "furthermore",
        "had",
        "has",
        "have",
        "he",
        "hence",
        "her",
        "here",
        "his",
        "how",
        "however",
        "if",
        "in",
        "including",
        "indeed",
        "initially",
        "inside",
        "instead",
        "is",
        "it",
        "its",
        "just",
        "last",
        "lastly",
        "later",
        "likewise",
        "many",
        "may",
        "meanwhile",
        "more",
        "moreover",
        "most",
        "much",
        "nevertheless",
        "new",
        "next",
        "no",
        "nonetheless",
        "nor",
        "not",
        "notably",
        "now",
        "of",
        "often",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "over",
        "overall",
        "perhaps",
        "previously",
        "rather",
        "recently",
        "regardless",
        "reportedly",
        "second",
        "separately",
        "several",
        "she",
        "should",
        "similarly",
        "since",
        "so",
        "some",
        "still",
        "subsequently",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "thereafter",
        "therefore",
        "these",
        "they",
        "third",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "to",
        "today",
        "together",
        "tomorrow",
        "too",
        "two",
        "ultimately",
        "under",
        "unlike",
        "until",
        "unsurprisingly",
        "upon",
        "was",
        "we",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whereas",
        "whether",
        "which",
        "while",
        "who",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "yesterday",
    ]
)


# -- sentences -----------------------------------------------------------------------------------

# A sentence ends at . ! or ?, with the citations right after it ("... rose. [3][4] Then"), before
# a space and a capital, a digit, an opening quote or bracket.
_SENTENCE_END_RE = re.compile(r"[.!?]((?:\s*\[(?:new:\d+|\d+)\])*)\s+(?=[A-Z0-9\"“‘(\[])")
# A full stop that closes an abbreviation, not a sentence: initialisms ("U.S.", "e.g."), a single
# initial ("John F. Kennedy") and the common short forms. A citation right after it still ends one.
_ABBREVIATION_RE = re.compile(
    r"[\"'(\u201c\u2018]?(?:(?:[A-Za-z]\.){2,}|[A-Z]\.|(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|Inc|Corp|Co"
    r"|Ltd|Bros|vs|etc|approx|est|No|Nos|Fig|Gen|Sen|Rep|Gov|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept"
    r"|Oct|Nov|Dec)\.)"
)


def sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences, in order, each keeping the citations that follow its full stop.

    The one sentence splitter of the merger: the first-draft check (every sentence cites) and the
    What's new (markers per sentence, the assembly's sentences) both read sentences through it."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(paragraph):
        stop = match.start() + 1
        if not match.group(1):
            last_word = paragraph[start:stop].rsplit(None, 1)[-1]
            if _ABBREVIATION_RE.fullmatch(last_word):
                continue
        out.append(paragraph[start : match.end(1) if match.group(1) else stop])
        start = match.end()
    out.append(paragraph[start:])
    return [s.strip() for s in out if s.strip()]
