"""Where an edit lands, in the reader's words: the one label the web's review cards and the
terminal's `review`, `amend` and `decide` show ("Timeline, after entry 7, dated 2026-05",
"Perspective: Z.ai / GLM team, stance and evolution"), and the base text the edit would replace.

Pure, like the rest of `merge`: it reads the brief the edit is made against and nothing else. It
sits here, below both faces, so that the terminal does not reach into the web package for it.
"""

from __future__ import annotations

from typing import NamedTuple

from briefbot.models import (
    AddNarrativeParagraph,
    AddOpenQuestion,
    AddPerspective,
    AddTension,
    AddTimelineEntry,
    Brief,
    Edit,
    RetireOpenQuestion,
    ReviseNarrativeParagraph,
    ReviseOpenQuestion,
    ReviseSection,
    ReviseTension,
    ReviseTimelineEntry,
    UpdatePerspective,
)

SECTION_LABELS = {
    "what": "What",
    "why_it_matters": "Why it matters",
    "status": "Status",
}


class EditTarget(NamedTuple):
    label: str
    current: str | None  # the base text the edit would replace; None when it adds


def _at(values: list[str], index: int) -> str | None:
    return values[index - 1] if 1 <= index <= len(values) else None


def edit_target(edit: Edit, base: Brief) -> EditTarget:
    """Where `edit` lands in `base`, and the text of `base` it would replace (None when it adds,
    or when its index or actor is not in `base`: the merger rejects such an edit, and its card
    still needs a label)."""
    if isinstance(edit, AddTimelineEntry):
        where = f"after entry {edit.after}" if edit.after is not None else "new entry"
        return EditTarget(f"Timeline, {where}, dated {edit.date}", None)
    if isinstance(edit, ReviseTimelineEntry):
        ok = 1 <= edit.index <= len(base.timeline)
        entry = base.timeline[edit.index - 1] if ok else None
        return EditTarget(f"Timeline, entry {edit.index}", f"{entry.date}: {entry.text}" if entry else None)
    if isinstance(edit, UpdatePerspective):
        found = next((p for p in base.perspectives if p.actor == edit.actor), None)
        current = None
        if found is not None:
            current = found.stance + (f" Evolution: {found.evolution}" if found.evolution else "")
        changed = " and ".join(n for n in ("stance", "evolution") if getattr(edit, n) is not None)
        return EditTarget(f"Perspective: {edit.actor}, {changed or 'unchanged'}", current)
    if isinstance(edit, AddPerspective):
        return EditTarget(f"Perspective: {edit.actor}, new", None)
    if isinstance(edit, AddTension):
        return EditTarget("Tensions, new", None)
    if isinstance(edit, ReviseTension):
        return EditTarget(f"Tensions, entry {edit.index}", _at(base.tensions, edit.index))
    if isinstance(edit, AddOpenQuestion):
        return EditTarget("Open questions, new", None)
    if isinstance(edit, RetireOpenQuestion):
        return EditTarget(
            f"Open questions, retire question {edit.index}", _at(base.open_questions, edit.index)
        )
    if isinstance(edit, ReviseOpenQuestion):
        return EditTarget(f"Open questions, question {edit.index}", _at(base.open_questions, edit.index))
    if isinstance(edit, ReviseSection):
        if edit.section == "status":
            return EditTarget("Status", base.status)
        return EditTarget(SECTION_LABELS[edit.section], "\n\n".join(getattr(base, edit.section)))
    if isinstance(edit, AddNarrativeParagraph):
        return EditTarget("Narrative, new paragraph", None)
    if isinstance(edit, ReviseNarrativeParagraph):
        return EditTarget(f"Narrative, paragraph {edit.index}", _at(base.narrative, edit.index))
    return EditTarget(edit.op, None)
