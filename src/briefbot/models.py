"""The shared data models: the brief and its parts, and the edit batch the merger consumes.

Every model forbids unknown fields, so a typo in a stored file or an LLM answer is an error that
names the field rather than silently lost data.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

# A timeline date is a full day, a month or a year, as a reader writes it.
PARTIAL_DATE_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
FULL_DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
# Inline citations as they appear in brief text: `[12]`; in edit text also `[new:3]`.
CITATION_RE = re.compile(r"\[(\d+)\]")
EDIT_CITATION_RE = re.compile(r"\[(new:\d+|\d+)\]")


def check_partial_date(value: str) -> str:
    """Validate a `YYYY-MM-DD` | `YYYY-MM` | `YYYY` date, including that the day exists."""
    if not re.match(PARTIAL_DATE_PATTERN, value):
        raise ValueError(f"date {value!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    if len(value) == 10:
        dt.date.fromisoformat(value)
    return value


def date_sort_key(value: str) -> tuple[int, int, int]:
    """Sort key for partial dates: a partial date sorts after the full dates of its period.

    `2026-05` sorts after `2026-05-31`, and `2026` after `2026-12`, as in the seed brief.
    """
    parts = [int(p) for p in value.split("-")]
    while len(parts) < 3:
        parts.append(99)
    return (parts[0], parts[1], parts[2])


def _missing_is_null(data: Any, name: str) -> Any:
    """A field added to a strict schema is required there (strict mode wants every property), yet a
    file written before it existed stays valid: a missing value reads as null."""
    if isinstance(data, dict) and name not in data:
        return {**data, name: None}
    return data


class StrictModel(BaseModel):
    """The base of every model the project defines: an unknown field is an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# The brief
# --------------------------------------------------------------------------------------------


class WhatsNew(StrictModel):
    version: int = Field(ge=1)
    paragraphs: list[str] = Field(min_length=1)


class TimelineEntry(StrictModel):
    date: str
    text: str

    _check_date = field_validator("date")(check_partial_date)


class Perspective(StrictModel):
    actor: str
    stance: str
    evolution: str | None = None


class Source(StrictModel):
    number: int = Field(ge=1)
    title: str
    publisher: str | None = None
    # The date the source line shows. The seed shows a feed item's date and, as a rule, not a
    # search find's ("Title — reactive:<slug>"), whose date is kept in `published` instead.
    date: str | None = None
    # `feed:<name>` for a feed item, `reactive:<brief-slug>` for a search find.
    origin: str | None = None
    url: str | None = None
    # When the item was published, as far as briefbot knows: in JSON, HTML and the review cards.
    published: str | None = None

    @field_validator("date", "published")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        return None if value is None else check_partial_date(value)

    @property
    def label(self) -> str | None:
        """What the text format shows after the title's last ` — `."""
        return self.publisher or self.origin


class Brief(StrictModel):
    site: str = "The Information Machine"
    title: str
    state: str = Field(pattern=r"^[A-Za-z][A-Za-z -]*$")
    # 0 is the skeleton of a brief not yet drafted (project.empty_brief); published versions start at 1.
    version: int = Field(ge=0)
    date: dt.date
    item_count: int = Field(ge=0)
    # The header of the text format ends with a `history` link; kept so the round trip is exact.
    history_link: bool = True
    # Whether the text file ended with a newline (the seed does not; most editors add one).
    final_newline: bool = False
    whats_new: WhatsNew | None = None
    what: list[str] = Field(default_factory=list)
    why_it_matters: list[str] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    narrative: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    perspectives: list[Perspective] = Field(default_factory=list)
    tensions: list[str] = Field(default_factory=list)
    status: str | None = None
    sources: list[Source] = Field(default_factory=list)

    def source(self, number: int) -> Source | None:
        for source in self.sources:
            if source.number == number:
                return source
        return None

    def next_source_number(self) -> int:
        return max((s.number for s in self.sources), default=0) + 1


# --------------------------------------------------------------------------------------------
# The edit batch: what the propose stage (LLM) produces and the merger consumes.
# Strict-structured-output friendly: no defaults, every property required, nullable not optional,
# a plain Union (anyOf) tagged by a Literal `op`.
# --------------------------------------------------------------------------------------------

Significance = Literal["major", "minor"]
SectionName = Literal["what", "why_it_matters", "status"]


class _Edit(StrictModel):
    summary: str = Field(description="One line for What's new, citing like the text does.")
    significance: Significance


class AddTimelineEntry(_Edit):
    op: Literal["add_timeline_entry"]
    date: str = Field(description="YYYY-MM-DD, YYYY-MM or YYYY")
    text: str
    after: StrictInt | None = Field(
        description="1-based number of the existing timeline entry this one follows (where the story "
        "groups it); null to place it after every entry of the same or an earlier date",
    )

    @model_validator(mode="before")
    @classmethod
    def _after_optional(cls, data: Any) -> Any:
        return _missing_is_null(data, "after")


class ReviseTimelineEntry(_Edit):
    op: Literal["revise_timeline_entry"]
    index: StrictInt = Field(description="1-based position in the timeline")
    text: str


class UpdatePerspective(_Edit):
    op: Literal["update_perspective"]
    actor: str
    stance: str | None
    evolution: str | None


class AddPerspective(_Edit):
    op: Literal["add_perspective"]
    actor: str
    stance: str
    evolution: str


class AddTension(_Edit):
    op: Literal["add_tension"]
    text: str


class ReviseTension(_Edit):
    op: Literal["revise_tension"]
    index: StrictInt = Field(description="1-based position among the tensions")
    text: str


class AddOpenQuestion(_Edit):
    op: Literal["add_open_question"]
    text: str


class ReviseOpenQuestion(_Edit):
    op: Literal["revise_open_question"]
    index: StrictInt = Field(description="1-based position among the open questions")
    text: str


class RetireOpenQuestion(_Edit):
    op: Literal["retire_open_question"]
    index: StrictInt = Field(description="1-based position among the open questions")


class ReviseSection(_Edit):
    op: Literal["revise_section"]
    section: SectionName
    text: str


class AddNarrativeParagraph(_Edit):
    op: Literal["add_narrative_paragraph"]
    text: str


class ReviseNarrativeParagraph(_Edit):
    op: Literal["revise_narrative_paragraph"]
    index: StrictInt = Field(description="1-based position among the narrative paragraphs")
    text: str


# A plain Union, not `X | Y`: it becomes `anyOf` in a strict JSON schema (see DESIGN.md).
Edit = Union[  # noqa: UP007  # the schema's anyOf, see above
    AddTimelineEntry,
    ReviseTimelineEntry,
    UpdatePerspective,
    AddPerspective,
    AddTension,
    ReviseTension,
    AddOpenQuestion,
    ReviseOpenQuestion,
    RetireOpenQuestion,
    ReviseSection,
    AddNarrativeParagraph,
    ReviseNarrativeParagraph,
]

EDIT_TYPES: tuple[type[_Edit], ...] = Edit.__args__  # type: ignore[attr-defined]  # a Union alias, read at runtime


class BatchItem(StrictModel):
    """A candidate item an edit may cite as `[new:K]` (K from `ref`)."""

    ref: str = Field(pattern=r"^new:\d+$")
    url: str
    title: str
    publisher: str | None
    published: str | None = Field(description="YYYY-MM-DD or null")
    origin: str = Field(pattern=r"^(feed|reactive):\S+$")
    text: str | None


WHATS_NEW_DESCRIPTION = (
    "The What's new of the next version, 1-2 paragraphs, at most ~120 words: the news and why it "
    "matters, not a list of edits; cite like the edits, at most 3 citations per sentence; when no "
    "edit adds a tension, close with 'No new fault lines emerged this pass.'"
)


class EditList(StrictModel):
    """The propose stage's structured output: the edits and a draft What's new."""

    edits: list[Edit]
    whats_new: list[str] | None = Field(description=WHATS_NEW_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _whats_new_optional(cls, data: Any) -> Any:
        return _missing_is_null(data, "whats_new")


class EditBatch(StrictModel):
    items: list[BatchItem]
    edits: list[Edit]
    # The proposer's What's new draft (paragraphs); null = the merger assembles one.
    whats_new: list[str] | None = Field(description=WHATS_NEW_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _whats_new_optional(cls, data: Any) -> Any:
        return _missing_is_null(data, "whats_new")


# --------------------------------------------------------------------------------------------
# Pipeline items: what collect finds and extract makes of it.
# --------------------------------------------------------------------------------------------


class CandidateItem(StrictModel):
    """One item found by a feed or a search provider, after URL canonicalisation."""

    id: int | None = None  # row id in the state database once stored
    url: str  # canonical URL (dedupe key)
    link: str  # the URL as the feed or provider gave it
    guid: str | None = None
    title: str
    summary: str | None = None
    published: dt.datetime  # UTC; falls back from published to updated to fetch time
    # True when `published` is only the fetch time (the feed gave no date): never a source's date.
    published_is_fetch_time: bool = False
    origin: str = Field(pattern=r"^(feed|reactive):\S+$")
    publisher: str | None = None
    content_hash: str  # sha256 of normalised title + summary


class Document(StrictModel):
    """The extracted text and metadata of an item's page (or the fallback used instead)."""

    item_id: int | None = None
    url: str
    title: str | None = None
    author: str | None = None
    date: str | None = None  # original publication date, YYYY-MM-DD
    sitename: str | None = None
    language: str | None = None
    text: str
    # Where `text` came from: the page itself, or the feed's summary as a recorded fallback.
    text_source: Literal["page", "summary"]
    fallback_reason: str | None = None
    error: str | None = None
    raw_sha256: str | None = None
    content_type: str | None = None


# -- what dedupe knows of a stored item (collect/dedupe.py matches against it; store/items.py loads it)
_GLOBAL_GUID_RE = re.compile(r"^(https?://|urn:|tag:)", re.IGNORECASE)


def guid_key(guid: str | None, origin: str) -> str | None:
    """GUIDs that are URLs/URNs are global; others ("123") only mean something within one feed."""
    if not guid:
        return None
    return guid if _GLOBAL_GUID_RE.match(guid) else f"{origin}#{guid}"


class KnownItem(StrictModel):
    """What dedupe needs to know of an item already held."""

    id: int | None
    url: str
    origin: str
    guid: str | None
    content_hash: str
    title: str
    summary: str | None
    aliases: list[str] = []
    # Old items keep their exact keys but leave the near-duplicate comparison set.
    fuzzy: bool = True

    @classmethod
    def of(cls, item: CandidateItem, *, item_id: int | None = None) -> KnownItem:
        return cls(
            id=item_id if item_id is not None else item.id,
            url=item.url,
            origin=item.origin,
            guid=item.guid,
            content_hash=item.content_hash,
            title=item.title,
            summary=item.summary,
        )
