"""What an editor is told after an action: a notice at the top of the page they land on.

A POST redirects (303) to a page whose query says what happened (`?notice=accept&edit=3&undo=reset`).
The page turns the query into a sentence: only known words and edit numbers of the proposal are read
from it, and the sentence is built here, so a crafted link can show nothing but true notices worded
by us. Facts that are not in the query (what was published, by whom) come from the stored proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import QueryParams

from briefbot.merge.proposal import Proposal

DECISIONS = ("accept", "reject", "reset")  # a decide form's `decision`, and the undo of one
_DONE = {"accept": "accepted", "reject": "rejected", "reset": "back to undecided"}


@dataclass
class NoticeForm:
    """A button the notice offers (Undo, Restore): a POST form with these hidden fields."""

    action: str
    label: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    id: str = "notice-action"


@dataclass
class Notice:
    text: str
    form: NoticeForm | None = None
    kind: str = "done"  # done | error


def _numbers(query: QueryParams, proposal: Proposal) -> list[int]:
    numbers = []
    for raw in query.getlist("edit"):
        if raw.isdigit() and 1 <= int(raw) <= len(proposal.verdicts):
            numbers.append(int(raw))
    return sorted(set(numbers))


def _listed(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"Edit {numbers[0]}"
    return f"{len(numbers)} edits ({', '.join(str(n) for n in numbers)})"


def proposal_notice(
    query: QueryParams, proposal: Proposal, *, decide_action: str, show: str
) -> Notice | None:
    """The notice of the proposal page after a decision, an amendment, What's new or a restore."""
    kind = query.get("notice")
    numbers = _numbers(query, proposal)
    if kind in DECISIONS and numbers:
        text = f"{_listed(numbers)} {_DONE[kind]}."
        if kind == "reject":
            text += " The preview no longer has " + ("it." if len(numbers) == 1 else "them.")
        undo = query.get("undo")
        form = None
        if undo in DECISIONS:
            form = NoticeForm(
                decide_action,
                "Undo",
                [("decision", undo), ("show", show), *(("edit", str(n)) for n in numbers)],
                id="undo",
            )
        return Notice(text, form)
    if kind == "amended" and len(numbers) == 1:
        return Notice(
            f"Edit {numbers[0]} amended: it passed the merger's checks, and the preview shows it. "
            "The original is kept on its card."
        )
    if kind == "whats-new":
        return Notice("What's new saved; the preview shows it.")
    if kind == "restored":
        return Notice(
            f"The discarded proposal for v{proposal.candidate.version} is back, with its decisions."
        )
    return None


def closed_notice(query: QueryParams, last: Proposal | None, *, version: int | None) -> Notice | None:
    """The notice of a brief page after approving (`published`) or discarding (`discarded`)."""
    kind = query.get("notice")
    if last is None:
        return None
    applied = len(last.applied())
    rejected = len(last.verdicts) - applied
    amended = len({a.number for a in last.amendments})
    counts = f"{applied} of {len(last.verdicts)} edits applied, {rejected} rejected, {amended} amended"
    if kind == "published" and last.state == "approved" and last.published_version == version:
        return Notice(f"Published v{version} ({counts}), approved by {last.closed_by or 'an editor'}.")
    if kind == "discarded" and last.state == "discarded":
        return Notice(
            f"The proposal for v{last.candidate.version} was discarded by {last.closed_by or 'an editor'} "
            f"({counts}); it is kept in the archive and can be restored."
        )
    return None
