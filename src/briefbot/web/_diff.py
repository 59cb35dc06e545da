"""The word-level diff of two briefs (`briefbot.brief.diff`), shaped for the diff template.

Shape: the sections that changed, each `{"title", "blocks": [{"kind", "label", "chunks"}]}`, where
`kind` is added|removed|changed and `chunks` is `[(equal|insert|delete, text)]`.
"""

from __future__ import annotations

from typing import Any

from briefbot.brief.diff import DiffOp, ItemDiff
from briefbot.brief.diff import diff_briefs as word_diff_briefs
from briefbot.models import Brief


def _chunks(item: ItemDiff) -> list[tuple[str, str]]:
    # The grouping (and the rewrite rule: a text that keeps under a third of its words is one
    # deletion and one insertion) is brief.diff's alone, so the web shows what `briefbot diff` shows.
    ops: list[DiffOp] = item.ops
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
