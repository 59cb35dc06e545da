"""One card per proposed edit: what it does, where, with which evidence, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from briefbot.merge.proposal import EDITOR_REJECTED, Amendment, Proposal
from briefbot.merge.targets import edit_target
from briefbot.models import Brief, Edit

SNIPPET_CHARS = 400

_OP_LABELS = {
    "add_timeline_entry": "Add timeline entry",
    "revise_timeline_entry": "Revise timeline entry",
    "update_perspective": "Update perspective",
    "add_perspective": "Add perspective",
    "add_tension": "Add tension",
    "revise_tension": "Revise tension",
    "add_open_question": "Add open question",
    "revise_open_question": "Revise open question",
    "retire_open_question": "Retire open question",
    "revise_section": "Revise section",
    "add_narrative_paragraph": "Add narrative paragraph",
    "revise_narrative_paragraph": "Revise narrative paragraph",
}


@dataclass
class CitedItem:
    marker: str  # `new:2` or `12`
    title: str
    publisher: str | None
    date: str | None
    url: str | None
    snippet: str | None
    is_new: bool
    source_number: int | None = None  # the number a new item became, once applied


@dataclass
class AmendField:
    """One field of an edit the editor may rewrite, as the amend form shows it."""

    name: str
    label: str
    value: str
    multiline: bool


@dataclass
class AmendNote:
    by: str | None
    at: str
    original: list[tuple[str, str]]


@dataclass
class Card:
    number: int
    op: str
    op_label: str
    target: str
    current: str | None  # the text the edit would replace, when it revises something
    fields: list[tuple[str, str]]  # proposed text, labelled (Text, Stance, Evolution)
    summary: str
    significance: str
    status: str
    decision: str | None
    reason: str | None
    decision_reason: str | None  # the editor's, when they gave one
    warnings: list[str]
    items: list[CitedItem] = field(default_factory=list)
    amend_fields: list[AmendField] = field(default_factory=list)
    amendments: list[AmendNote] = field(default_factory=list)

    @property
    def editor_rejected(self) -> bool:
        return self.reason == EDITOR_REJECTED

    @property
    def merger_rejected(self) -> bool:
        return self.status == "rejected" and not self.editor_rejected

    @property
    def pending(self) -> bool:
        """Applied by the merger and not yet decided by the editor: what is left to review."""
        return self.status == "applied" and self.decision is None

    @property
    def state(self) -> str:
        """One word for the filter and the keyboard: pending, accepted, rejected (by either)."""
        if self.pending:
            return "pending"
        return "accepted" if self.status == "applied" else "rejected"


def _fields(edit: Edit) -> list[tuple[str, str]]:
    out = []
    for name, label in (
        ("date", "Date"),
        ("text", "Text"),
        ("stance", "Stance"),
        ("evolution", "Evolution"),
    ):
        value = getattr(edit, name, None)
        if value is not None:
            out.append((label, value))
    return out


_AMENDABLE = (
    ("date", "Date", False),
    ("actor", "Actor", False),
    ("text", "Text", True),
    ("stance", "Stance", True),
    ("evolution", "Evolution", True),
    ("summary", "Summary line", True),
)


def _amend_fields(edit: Edit) -> list[AmendField]:
    """The fields of this op the editor may rewrite (see `review.AMENDABLE_FIELDS`)."""
    present = type(edit).model_fields
    return [
        AmendField(name, label, getattr(edit, name) or "", multiline)
        for name, label, multiline in _AMENDABLE
        if name in present
    ]


def _amend_notes(amendments: list[Amendment], number: int) -> list[AmendNote]:
    return [
        AmendNote(a.by, a.at.strftime("%Y-%m-%d %H:%M UTC"), _fields(a.original))
        for a in amendments
        if a.number == number
    ]


def _snippet(text: str | None) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def _items(proposal: Proposal, base: Brief, cites: list[str], sources: list[int]) -> list[CitedItem]:
    batch_items = {item.ref: item for item in proposal.batch.items}
    numbers = dict(zip(cites, sources, strict=False)) if len(cites) == len(sources) else {}
    items = []
    for marker in cites:
        if marker.startswith("new:"):
            item = batch_items.get(marker)
            if item is None:
                items.append(CitedItem(marker, "(unknown item)", None, None, None, None, True))
                continue
            items.append(
                CitedItem(
                    marker,
                    item.title,
                    item.publisher,
                    item.published,
                    item.url,
                    _snippet(item.text),
                    True,
                    numbers.get(marker),
                )
            )
        else:
            source = base.source(int(marker))
            if source is None:
                items.append(CitedItem(marker, "(unknown source)", None, None, None, None, False))
                continue
            items.append(
                CitedItem(
                    marker,
                    source.title,
                    source.label,
                    source.date or source.published,
                    source.url,
                    None,
                    False,
                    source.number,
                )
            )
    return items


def edit_cards(proposal: Proposal, base: Brief) -> list[Card]:
    cards = []
    for verdict, edit in zip(proposal.verdicts, proposal.batch.edits, strict=False):
        # The label is `merge.targets`' one, which the terminal's review shows too.
        target, current = edit_target(edit, base)
        cards.append(
            Card(
                number=verdict.number,
                op=edit.op,
                op_label=_OP_LABELS.get(edit.op, edit.op),
                target=target,
                current=current,
                fields=_fields(edit),
                summary=edit.summary,
                significance=edit.significance,
                status=verdict.status,
                decision=verdict.decision,
                decision_reason=verdict.decision_reason,
                reason=verdict.reason,
                warnings=list(verdict.warnings),
                items=_items(proposal, base, verdict.cites, verdict.sources),
                amend_fields=_amend_fields(edit),
                amendments=_amend_notes(proposal.amendments, verdict.number),
            )
        )
    return cards
