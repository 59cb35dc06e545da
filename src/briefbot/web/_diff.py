"""The word-level diff of two briefs (`briefbot.brief.diff`), shaped for the diff template.

Shape: the sections that changed, each `{"title", "blocks": [{"kind", "label", "chunks"}]}`, where
`kind` is added|removed|changed and `chunks` is `[(equal|insert|delete, text)]`.
"""

from __future__ import annotations

from typing import Any

from briefbot.brief.diff import DiffOp, ItemDiff
from briefbot.brief.diff import diff_briefs as word_diff_briefs
from briefbot.models import Brief

# Below this share of unchanged text a word diff is confetti; show the old and new text whole.
_MIN_KEPT = 0.4


def _chunks(item: ItemDiff) -> list[tuple[str, str]]:
    ops: list[DiffOp] = item.ops
    if item.status == "changed":
        kept = sum(len(op.text) for op in ops if op.kind == "equal")
        old = "".join(op.text for op in ops if op.kind != "insert")
        new = "".join(op.text for op in ops if op.kind != "delete")
        if kept < _MIN_KEPT * max(len(old), len(new), 1):
            return [("delete", old), ("equal", " "), ("insert", new)]
    return [(op.kind, op.text) for op in ops]


def diff_briefs(old: Brief, new: Brief) -> list[dict[str, Any]]:
    sections = []
    for section in word_diff_briefs(old, new).sections:
        blocks = [
            {"kind": item.status, "label": item.label, "chunks": _chunks(item)}
            for item in section.items
            if item.status != "unchanged"
        ]
        if blocks:
            sections.append({"title": section.section, "blocks": blocks})
    return sections
