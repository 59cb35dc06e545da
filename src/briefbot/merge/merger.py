"""PURE: a brief and a batch of edits in, a proposal (verdicts, candidate next version) out.

No clock, no I/O: the run date is an argument, and identical input gives byte-identical output.
Indexes in edits are the positions a reader sees in the *base* brief, so several edits in one batch
can address the same brief without counting each other's insertions.

A first draft is a batch merged into a brief's v0 skeleton: the same checks, plus one of its own,
since nothing in the brief vouches for a draft's text yet: every sentence it writes cites (the
status line and open questions excepted, which are a label and questions, not claims).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process, utils

from briefbot.errors import MergeError
from briefbot.merge import whats_new
from briefbot.merge.checks import (
    Rejected,
    brief_known_figures,
    brief_texts,
    check_citations,
    check_date,
    check_draft_sentences,
    check_lengths,
    edit_warnings,
    markers,
    paragraphs,
    vocabulary,
)
from briefbot.merge.figures import KnownFigures
from briefbot.merge.proposal import EDITOR_REJECTED, EditVerdict, Proposal
from briefbot.merge.whats_new import Summary
from briefbot.merge.whats_new_checks import item_texts, text_warnings
from briefbot.models import (
    EDIT_CITATION_RE,
    AddNarrativeParagraph,
    AddOpenQuestion,
    AddPerspective,
    AddTension,
    AddTimelineEntry,
    BatchItem,
    Brief,
    Edit,
    EditBatch,
    Perspective,
    RetireOpenQuestion,
    ReviseNarrativeParagraph,
    ReviseOpenQuestion,
    ReviseSection,
    ReviseTension,
    ReviseTimelineEntry,
    Source,
    TimelineEntry,
    UpdatePerspective,
    WhatsNew,
    check_partial_date,
    date_sort_key,
)

# The state of a candidate that is not yet published; `approve` publishes it as `closed`.
CANDIDATE_STATE = "open"
# Two timeline entries on one date whose texts are this similar (0-100) say the same thing.
DUPLICATE_RATIO = 90.0


@dataclass
class _Slot:
    """An element of a list section: its 1-based position in the base brief (None when added)."""

    base_index: int | None
    value: Any
    changed_by: int | None = None
    retired_by: int | None = None


@dataclass
class _Work:
    base: Brief
    run_date: dt.date
    items: dict[str, BatchItem]
    known_names: set[str]
    known_words: set[str]
    numbers: dict[str, int] = field(default_factory=dict)
    url_numbers: dict[str, int] = field(default_factory=dict)
    new_sources: list[Source] = field(default_factory=list)
    lists: dict[str, list[_Slot]] = field(default_factory=dict)
    sections: dict[str, tuple[Any, int | None]] = field(default_factory=dict)
    tension_added: bool = False


def merge(brief: Brief, batch: EditBatch, *, run_date: dt.date, accepted: set[int] | None = None) -> Proposal:
    """Apply every acceptable edit of `batch` to `brief`; edits outside `accepted` (1-based) are left out."""
    items = _index_items(batch)
    names, words = vocabulary(brief_texts(brief))
    brief_figures = brief_known_figures(brief)
    item_figures: dict[str, KnownFigures] = {}  # each cited item's figures, read once per merge
    work = _Work(base=brief, run_date=run_date, items=items, known_names=names, known_words=words)
    work.url_numbers = {s.url: s.number for s in brief.sources if s.url}
    work.lists = {
        "timeline": [_Slot(i, e) for i, e in enumerate(brief.timeline, 1)],
        "tensions": [_Slot(i, t) for i, t in enumerate(brief.tensions, 1)],
        "open_questions": [_Slot(i, q) for i, q in enumerate(brief.open_questions, 1)],
        "narrative": [_Slot(i, p) for i, p in enumerate(brief.narrative, 1)],
        "perspectives": [_Slot(i, p) for i, p in enumerate(brief.perspectives, 1)],
    }
    work.sections = {
        "what": (brief.what, None),
        "why_it_matters": (brief.why_it_matters, None),
        "status": (brief.status, None),
    }

    verdicts: list[EditVerdict] = []
    summaries: list[Summary] = []
    for number, edit in enumerate(batch.edits, 1):
        cites = markers(edit)
        if accepted is not None and number not in accepted:
            verdicts.append(
                EditVerdict(number=number, op=edit.op, status="rejected", reason=EDITOR_REJECTED, cites=cites)
            )
            continue
        try:
            check_lengths(edit)
            check_citations(cites, items=items, base=brief)
            if brief.version == 0:
                check_draft_sentences(edit)
            warnings = edit_warnings(
                edit,
                cites,
                items=items,
                base=brief,
                known=(names, words),
                brief_figures=brief_figures,
                item_figures=item_figures,
            )
            warnings += _apply(work, number, edit)
        except Rejected as exc:
            verdicts.append(
                EditVerdict(number=number, op=edit.op, status="rejected", reason=str(exc), cites=cites)
            )
            continue
        sources = [_assign(work, marker) for marker in cites]
        sources = list(dict.fromkeys(sources))
        verdicts.append(
            EditVerdict(
                number=number, op=edit.op, status="applied", warnings=warnings, cites=cites, sources=sources
            )
        )
        summaries.append(Summary(edit.significance == "major", _map_text(work, edit.summary), sources))
        _map_applied(work, number)

    outcome = None
    if summaries:
        outcome = whats_new.decide(
            batch.whats_new, summaries, markers_to_sources=work.numbers, tension_added=work.tension_added
        )
    candidate = _candidate(work, run_date=run_date, outcome=outcome)
    draft_warnings: list[str] = []
    if outcome is not None and outcome.origin == "draft":
        draft_warnings = _draft_warnings(batch.whats_new or [], outcome.paragraphs, work, candidate)
    return Proposal(
        base_version=brief.version,
        run_date=run_date,
        batch=batch,
        verdicts=verdicts,
        candidate=candidate,
        whats_new=candidate.whats_new if outcome else None,
        whats_new_origin=outcome.origin if outcome else None,
        whats_new_note=outcome.note if outcome else None,
        whats_new_warnings=draft_warnings,
    )


def _draft_warnings(draft: list[str], paragraphs: list[str], work: _Work, candidate: Brief) -> list[str]:
    """The names and figures checks on the draft the merger kept, against the items and sources its
    markers cite and the candidate."""
    cited: list[str] = []
    for marker in dict.fromkeys(m for p in draft for m in EDIT_CITATION_RE.findall(p)):
        if marker.startswith("new:"):
            cited += item_texts(work.items[marker])  # it resolved: an applied edit cites it
        elif (source := work.base.source(int(marker))) is not None:
            cited += [source.title, source.date or ""]
    return text_warnings(paragraphs, cited=cited, brief=candidate)


# -- inputs ----------------------------------------------------------------------------------


def _index_items(batch: EditBatch) -> dict[str, BatchItem]:
    items: dict[str, BatchItem] = {}
    for position, item in enumerate(batch.items):
        if item.ref in items:
            raise MergeError(f"items[{position}].ref: {item.ref!r} is used by two batch items")
        items[item.ref] = item
    return items


def _bare(text: str) -> str:
    return EDIT_CITATION_RE.sub("", text)


# -- applying --------------------------------------------------------------------------------


def _slot(work: _Work, key: str, index: int, noun: str) -> _Slot:
    count = sum(1 for s in work.lists[key] if s.base_index is not None)
    for slot in work.lists[key]:
        if slot.base_index == index:
            if slot.retired_by is not None:
                raise Rejected(f"{noun} {index} is retired by edit {slot.retired_by}")
            if slot.changed_by is not None:
                raise Rejected(f"{noun} {index} is already changed by edit {slot.changed_by}")
            return slot
    raise Rejected(f"{noun} {index} does not exist (v{work.base.version} has {count})")


def _actor_key(actor: str) -> str:
    return " ".join(actor.split()).casefold()


def _perspective(work: _Work, actor: str) -> _Slot:
    slots = work.lists["perspectives"]
    for slot in slots:
        if _actor_key(slot.value.actor) == _actor_key(actor):
            if slot.changed_by is not None:
                raise Rejected(
                    f"the perspective of {slot.value.actor!r} is already changed by edit {slot.changed_by}"
                )
            return slot
    actors = [s.value.actor for s in slots]
    best = process.extractOne(actor, actors, scorer=fuzz.WRatio, processor=utils.default_process)
    nearest = f"; nearest is {best[0]!r}" if best else "; the brief has no perspectives"
    raise Rejected(f"unknown actor {actor!r}{nearest}")


def _timeline_position(slots: list[_Slot], edit: AddTimelineEntry) -> tuple[int, str | None]:
    """Where a new entry goes: after the entry the proposer named, if the dates stay in order there;
    otherwise after every entry dated at or before it. Existing entries are never reordered."""
    sort_key = date_sort_key(edit.date)
    by_date = 0
    for i, slot in enumerate(slots):
        if date_sort_key(slot.value.date) <= sort_key:
            by_date = i + 1
    if edit.after is None:
        return by_date, None
    anchor = next(
        (i for i, s in enumerate(slots) if s.base_index == edit.after and s.retired_by is None), None
    )
    if anchor is None:
        return by_date, f"after={edit.after}: there is no timeline entry {edit.after}; placed by date"
    position = anchor + 1
    while position < len(slots) and slots[position].base_index is None:
        position += 1  # an entry another edit put after the same anchor stays first
    # The neighbours it would have in the timeline as built so far (an entry another edit put after
    # the same anchor included), not the base's: two entries after one anchor keep the order too.
    follows = date_sort_key(slots[position - 1].value.date) <= sort_key
    precedes = position == len(slots) or sort_key <= date_sort_key(slots[position].value.date)
    if follows and precedes:
        return position, None
    before = slots[position - 1]
    previous = (
        f"entry {edit.after} ({before.value.date})"
        if position - 1 == anchor
        else f"the entry edit {before.changed_by} put after it ({before.value.date})"
    )
    return (
        by_date,
        f"after={edit.after}: {edit.date} does not fit between {previous} and the next; placed by date",
    )


def _apply(work: _Work, number: int, edit: Edit) -> list[str]:
    """Apply one edit to the work in progress; the warnings it earned on the way (placement)."""
    lists = work.lists
    if isinstance(edit, AddTimelineEntry):
        check_date(edit.date, work.run_date)
        for slot in lists["timeline"]:
            entry = slot.value
            ratio = fuzz.ratio(_bare(entry.text), _bare(edit.text), processor=utils.default_process)
            if entry.date == edit.date and ratio >= DUPLICATE_RATIO:
                where = (
                    f"entry {slot.base_index}"
                    if slot.base_index
                    else f"the entry added by edit {slot.changed_by}"
                )
                raise Rejected(f"duplicates timeline {where} ({entry.date}, {ratio:.0f}% similar)")
        position, warning = _timeline_position(lists["timeline"], edit)
        lists["timeline"].insert(position, _Slot(None, TimelineEntry(date=edit.date, text=edit.text), number))
        return [warning] if warning else []
    elif isinstance(edit, ReviseTimelineEntry):
        slot = _slot(work, "timeline", edit.index, "timeline entry")
        slot.value, slot.changed_by = slot.value.model_copy(update={"text": edit.text}), number
    elif isinstance(edit, UpdatePerspective):
        slot = _perspective(work, edit.actor)
        update = {k: v for k, v in (("stance", edit.stance), ("evolution", edit.evolution)) if v is not None}
        slot.value, slot.changed_by = slot.value.model_copy(update=update), number
    elif isinstance(edit, AddPerspective):
        for slot in lists["perspectives"]:
            if _actor_key(slot.value.actor) == _actor_key(edit.actor):
                raise Rejected(f"{slot.value.actor!r} already has a perspective; use update_perspective")
        perspective = Perspective(
            actor=" ".join(edit.actor.split()), stance=edit.stance, evolution=edit.evolution
        )
        lists["perspectives"].append(_Slot(None, perspective, number))
    elif isinstance(edit, (AddTension, AddOpenQuestion, AddNarrativeParagraph)):
        key = {AddTension: "tensions", AddOpenQuestion: "open_questions", AddNarrativeParagraph: "narrative"}[
            type(edit)
        ]
        lists[key].append(_Slot(None, edit.text, number))
        work.tension_added = work.tension_added or isinstance(edit, AddTension)
    elif isinstance(edit, (ReviseTension, ReviseOpenQuestion, ReviseNarrativeParagraph)):
        key, noun = {
            ReviseTension: ("tensions", "tension"),
            ReviseOpenQuestion: ("open_questions", "open question"),
            ReviseNarrativeParagraph: ("narrative", "narrative paragraph"),
        }[type(edit)]
        slot = _slot(work, key, edit.index, noun)
        slot.value, slot.changed_by = edit.text, number
    elif isinstance(edit, RetireOpenQuestion):
        _slot(work, "open_questions", edit.index, "open question").retired_by = number
    elif isinstance(edit, ReviseSection):
        previous = work.sections[edit.section][1]
        if previous is not None:
            raise Rejected(f"section {edit.section} is already revised by edit {previous}")
        text: Any = edit.text.strip() if edit.section == "status" else paragraphs(edit.text)
        work.sections[edit.section] = (text, number)
    else:  # pragma: no cover - the Edit union is closed
        raise MergeError(f"unknown edit op {edit.op!r}")
    return []


def _assign(work: _Work, marker: str) -> int:
    """The source number of a citation marker, making a new source the first time an item is cited."""
    if not marker.startswith("new:"):
        return int(marker)
    if marker in work.numbers:
        return work.numbers[marker]
    item = work.items[marker]
    number = work.url_numbers.get(item.url)
    if number is None:
        number = work.base.next_source_number() + len(work.new_sources)
        published = _valid_date(item.published)
        found_by_search = (item.origin or "").startswith("reactive:")
        work.new_sources.append(
            Source(
                number=number,
                title=item.title,
                publisher=item.publisher,
                date=None if found_by_search else published,
                origin=item.origin,
                url=item.url,
                published=published,
            )
        )
        work.url_numbers[item.url] = number
    work.numbers[marker] = number
    return number


def _valid_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_partial_date(value)
    except ValueError:
        return None


def _map_text(work: _Work, text: str) -> str:
    # One line per text: the brief's text format has no line breaks inside an entry.
    text = " ".join(text.split())
    return EDIT_CITATION_RE.sub(lambda m: f"[{work.numbers.get(m.group(1), m.group(1))}]", text)


def _map_applied(work: _Work, number: int) -> None:
    """Rewrite `[new:K]` in what edit `number` wrote, now that its items have source numbers."""
    for slots in work.lists.values():
        for slot in slots:
            if slot.changed_by != number:
                continue
            value = slot.value
            if isinstance(value, str):
                slot.value = _map_text(work, value)
            elif isinstance(value, TimelineEntry):
                slot.value = value.model_copy(update={"text": _map_text(work, value.text)})
            else:
                slot.value = value.model_copy(
                    update={
                        "stance": _map_text(work, value.stance),
                        "evolution": None if value.evolution is None else _map_text(work, value.evolution),
                    }
                )
    for name, (value, by) in work.sections.items():
        if by == number:
            mapped = _map_text(work, value) if isinstance(value, str) else [_map_text(work, p) for p in value]
            work.sections[name] = (mapped, by)


def _candidate(work: _Work, *, run_date: dt.date, outcome: whats_new.Outcome | None) -> Brief:
    base = work.base
    lists = {key: [s.value for s in slots if s.retired_by is None] for key, slots in work.lists.items()}
    news = base.whats_new
    if outcome is not None:
        news = WhatsNew(version=base.version + 1, paragraphs=outcome.paragraphs)
    return base.model_copy(
        update={
            "state": CANDIDATE_STATE,
            "version": base.version + 1,
            "date": run_date,
            "item_count": base.item_count + len(work.new_sources),
            "whats_new": news,
            "what": work.sections["what"][0],
            "why_it_matters": work.sections["why_it_matters"][0],
            "status": work.sections["status"][0],
            "sources": [*base.sources, *work.new_sources],
            **lists,
        }
    )
