"""A readable word-level diff between two briefs, section by section.

`diff_briefs` returns plain pydantic data (usable as JSON by a web page); `diff_plain` renders it as
text with `[-removed-]{+added+}` markers and `diff_rich` as a coloured rich `Text` for terminals.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from rich.text import Text

from briefbot.brief.textformat import header_line, source_rest
from briefbot.models import Brief, StrictModel

_TOKEN = re.compile(r"\s+|[^\s]+")

OpKind = Literal["equal", "insert", "delete"]
ItemStatus = Literal["added", "removed", "changed", "unchanged"]


class DiffOp(StrictModel):
    kind: OpKind
    text: str


class ItemDiff(StrictModel):
    """One paragraph, bullet, perspective field or source line, old against new."""

    label: str  # e.g. "paragraph 2", "2026-05", "CAISI (NIST) · stance", "[12]"
    status: ItemStatus
    ops: list[DiffOp]


class SectionDiff(StrictModel):
    section: str
    items: list[ItemDiff]

    @property
    def changed(self) -> bool:
        return any(item.status != "unchanged" for item in self.items)


class BriefDiff(StrictModel):
    old_version: int
    new_version: int
    sections: list[SectionDiff]

    @property
    def changed(self) -> bool:
        return any(section.changed for section in self.sections)


def word_diff(old: str, new: str) -> list[DiffOp]:
    """Word-level operations turning `old` into `new`; whitespace runs count as words."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _push(ops, "equal", "".join(a[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            _push(ops, "delete", "".join(a[i1:i2]))
        if tag in ("insert", "replace"):
            _push(ops, "insert", "".join(b[j1:j2]))
    return ops


def _push(ops: list[DiffOp], kind: OpKind, text: str) -> None:
    if not text:
        return
    if ops and ops[-1].kind == kind:
        ops[-1] = DiffOp(kind=kind, text=ops[-1].text + text)
    else:
        ops.append(DiffOp(kind=kind, text=text))


def _item(label: str, old: str | None, new: str | None) -> ItemDiff:
    if old is None:
        return ItemDiff(label=label, status="added", ops=[DiffOp(kind="insert", text=new or "")])
    if new is None:
        return ItemDiff(label=label, status="removed", ops=[DiffOp(kind="delete", text=old)])
    if old == new:
        return ItemDiff(label=label, status="unchanged", ops=[DiffOp(kind="equal", text=old)])
    return ItemDiff(label=label, status="changed", ops=word_diff(old, new))


_PARAGRAPH = "paragraph {n}"


def _sequence(name: str, old: list[str], new: list[str], *, label: str) -> SectionDiff:
    """Align two lists of texts (kept items match exactly; replaced runs pair up in order)."""
    items: list[ItemDiff] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        olds, news = old[i1:i2], new[j1:j2]
        for k in range(max(len(olds), len(news))):
            before = olds[k] if k < len(olds) else None
            after = news[k] if k < len(news) else None
            number = j1 + k + 1 if after is not None else i1 + k + 1
            items.append(_item(label.format(n=number), before, after))
    return SectionDiff(section=name, items=items)


def _keyed(name: str, old: dict[str, str], new: dict[str, str]) -> SectionDiff:
    keys = list(old) + [key for key in new if key not in old]
    return SectionDiff(section=name, items=[_item(key, old.get(key), new.get(key)) for key in keys])


def diff_briefs(old: Brief, new: Brief) -> BriefDiff:
    """Section-by-section word diff of two briefs (typically two versions of one brief)."""

    def perspectives(brief: Brief) -> dict[str, str]:
        fields: dict[str, str] = {}
        for p in brief.perspectives:
            fields[f"{p.actor} · stance"] = p.stance
            if p.evolution is not None:
                fields[f"{p.actor} · evolution"] = p.evolution
        return fields

    def whats_new(brief: Brief) -> list[str]:
        return [] if brief.whats_new is None else brief.whats_new.paragraphs

    sections = [
        _keyed(
            "Header",
            {"title": old.title, "header": header_line(old)},
            {"title": new.title, "header": header_line(new)},
        ),
        _sequence("What's new", whats_new(old), whats_new(new), label=_PARAGRAPH),
        _sequence("What", old.what, new.what, label=_PARAGRAPH),
        _sequence("Why it matters", old.why_it_matters, new.why_it_matters, label=_PARAGRAPH),
        _sequence("Open questions", old.open_questions, new.open_questions, label="question {n}"),
        _sequence("Narrative", old.narrative, new.narrative, label=_PARAGRAPH),
        _sequence(
            "Timeline",
            [f"{e.date}: {e.text}" for e in old.timeline],
            [f"{e.date}: {e.text}" for e in new.timeline],
            label="entry {n}",
        ),
        _keyed("Perspectives", perspectives(old), perspectives(new)),
        _sequence("Tensions", old.tensions, new.tensions, label="tension {n}"),
        _keyed(
            "Status",
            {"status": old.status} if old.status else {},
            {"status": new.status} if new.status else {},
        ),
        _keyed(
            "Sources",
            {f"[{s.number}]": source_rest(s) for s in old.sources},
            {f"[{s.number}]": source_rest(s) for s in new.sources},
        ),
    ]
    return BriefDiff(old_version=old.version, new_version=new.version, sections=sections)


_MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}


def diff_plain(diff: BriefDiff, *, context: bool = False) -> str:
    """Plain text: one block per changed section; `[-old-]` and `{+new+}` mark changed words."""
    lines = [f"--- v{diff.old_version}", f"+++ v{diff.new_version}"]
    for section in diff.sections:
        shown = [item for item in section.items if context or item.status != "unchanged"]
        if not shown:
            continue
        lines += ["", f"## {section.section}"]
        for item in shown:
            body = "".join(
                op.text
                if op.kind == "equal"
                else f"[-{op.text}-]"
                if op.kind == "delete"
                else f"{{+{op.text}+}}"
                for op in item.ops
            )
            if item.status in ("added", "removed"):
                body = item.ops[0].text
            lines.append(f"{_MARK[item.status]} {item.label}: {body}")
    if not diff.changed:
        lines += ["", "(no differences)"]
    return "\n".join(lines) + "\n"


def diff_rich(diff: BriefDiff, *, context: bool = False) -> Text:
    """The same diff coloured for a terminal: removals red and struck through, additions green."""
    styles = {"equal": "", "delete": "red strike", "insert": "green underline"}
    out = Text()
    out.append(f"v{diff.old_version} → v{diff.new_version}\n", style="bold")
    for section in diff.sections:
        shown = [item for item in section.items if context or item.status != "unchanged"]
        if not shown:
            continue
        out.append(f"\n{section.section}\n", style="bold cyan")
        for item in shown:
            colour = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}[
                item.status
            ]
            out.append(f"{_MARK[item.status]} {item.label}: ", style=colour)
            for op in item.ops:
                out.append(op.text, style=styles[op.kind])
            out.append("\n")
    if not diff.changed:
        out.append("\n(no differences)\n", style="dim")
    return out
