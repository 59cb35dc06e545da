"""PURE: the rules of an editor's amendment of one edit: which fields may change, whether the
amended edit is still a valid edit, and whether the merger's verdicts on the re-merge allow it.
`briefbot.review.amend` applies them under the proposal store's guard."""

from __future__ import annotations

from pydantic import ValidationError

from briefbot.batch import json_path
from briefbot.errors import ReviewError
from briefbot.merge.proposal import EditVerdict
from briefbot.models import Edit

# What an editor may rewrite in an edit, where its op has the field. Indexes, sections and the
# position of a timeline entry are left alone: changing them makes another edit, not a better one.
AMENDABLE_FIELDS = ("text", "date", "actor", "stance", "evolution", "summary")


def amended_edit(original: Edit, number: int, changes: dict[str, str]) -> Edit:
    fields = type(original).model_fields
    for name in changes:
        if name not in fields:
            has = ", ".join(f for f in AMENDABLE_FIELDS if f in fields)
            raise ReviewError(f"edit {number} ({original.op}) has no {name}; it has: {has}")
    try:
        return type(original).model_validate({**original.model_dump(), **changes})
    except ValidationError as exc:
        problems = "; ".join(f"{json_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ReviewError(f"edit {number} as amended is not a valid {original.op}: {problems}") from None


class AmendmentWarningError(ReviewError):
    """An amendment the merger would apply, but with a warning the edit did not have (a figure or a
    name no cited item has, a date no cited item carries): the editor confirms it or rewrites it."""


def check_amendment(
    number: int, old: list[EditVerdict], new: list[EditVerdict], *, allow_warnings: bool
) -> None:
    """Refuse an amendment of edit `number` the merger refuses: the edit itself is rejected, or it
    knocks out another edit that applied (a duplicate, a clash), or (unless the editor allows it)
    it raises a warning the edit did not have."""
    verdict = new[number - 1]
    refused = f"edit {number} as amended is refused"
    if verdict.status == "rejected":
        raise ReviewError(f"{refused}: {verdict.reason}; nothing was changed")
    for before, after in zip(old, new, strict=True):
        if after.number != number and before.status == "applied" and after.status == "rejected":
            raise ReviewError(
                f"{refused}: edit {after.number} would no longer apply ({after.reason}); nothing was changed"
            )
    fresh = [w for w in verdict.warnings if w not in old[number - 1].warnings]
    if fresh and not allow_warnings:
        raise AmendmentWarningError(
            f"{refused}: {'; '.join(fresh)}; nothing was changed "
            "(check it, and confirm the amendment to keep it)"
        )
