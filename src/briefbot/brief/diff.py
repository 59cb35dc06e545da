"""A readable word-level diff between two briefs, section by section.

`diff_briefs` returns plain pydantic data (usable as JSON by a web page); `diff_plain` renders it as
text with `[-removed-] {+added+}` markers and `diff_rich` as a coloured rich `Text` for terminals.

`word_diff` groups changes the way a reader reads them, not the way an edit script is shortest. A
minimal word diff of a rewritten sentence alternates word by word (`[-Strengthened:-]{+Significantly+}
[-GLM-4.7-]{+strengthened:+} [-and-]{+GLM-5.1+} ...`), which no one can read. So each word and each
whitespace run is encoded as one character (diff-match-patch's "lines-to-chars" trick applied to
words, so no word is ever split), difflib aligns the two strings, and diff-match-patch's
`diff_cleanupSemantic` turns an equality no longer (in words and spaces) than the changes on both
sides of it into part of one deletion and one insertion. A last rule catches what that leaves:
changes separated by nothing but one or two short words (`a`, `on`, `top`) or citations merge too.
Every group reads deletion first, then insertion, and the renderers keep a space between them.
Last, the rewrite rule: a text that keeps less than a third of its words unchanged (unchanged words
divided by the word count of the longer of old and new, words split on whitespace) reads best as
what it is, a rewrite, and is shown as one deletion of the whole old text and one insertion of the
whole new one.
"""

from __future__ import annotations

import difflib
import re
from fractions import Fraction
from typing import Literal

from diff_match_patch import diff_match_patch  # type: ignore[import-untyped]  # no stubs published
from rich.text import Text

from briefbot.brief.textformat import header_line, source_rest
from briefbot.models import Brief, StrictModel

_TOKEN = re.compile(r"\s+|[^\s]+")
_LEADING_SPACE = re.compile(r"\A\s+")
_TRAILING_SPACE = re.compile(r"\s+\Z")

# Tokens are encoded as characters of the supplementary private use planes: none is a letter, space
# or line break, so diff-match-patch's boundary scoring (which reads the characters, made for prose)
# finds every token boundary alike and slides an edit only by whole tokens, as far as it goes.
_FIRST_CODE = 0xF0000
_CODES = 0x110000 - _FIRST_CODE
# An equality of at most `_SHORT_RUN` short words never separates two changes (`[-a top position on
# a-] {+top positions on+}`). A short word has a letter or digit and at most `_SHORT_WORD` characters,
# or is a citation, which reads as part of the claim around it (`[-position [10] is-] {+positions
# [10] are+}`). A name such as `Z.ai` is not short; a separator such as `·` or `—` is not a word, so
# a header's fields stay apart.
_SHORT_RUN = 2
_SHORT_WORD = 3
_CITATIONS = re.compile(r"(?:\[\d+\])+[.,;:]?")
# A changed text keeping less than this share of its words unchanged (unchanged words over the word
# count of the longer of the two texts) is a rewrite: one deletion, one insertion (`_rewritten`).
_KEPT = Fraction(1, 3)

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
    """Word-level operations turning `old` into `new`, grouped for reading.

    Whitespace runs count as words, so the equal and deleted texts joined in order are exactly `old`
    and the equal and inserted texts exactly `new`. Within a group the deletion comes first, and
    when a deletion and an insertion meet with no whitespace between them, the whitespace that
    follows (or else precedes) the group is moved into both, so that text shown without markers
    (struck and underlined, as in the web preview) never runs the old words into the new ones.
    """
    codes: dict[str, str] = {}
    tokens: list[str] = []

    def encode(text: str) -> str:
        chars = []
        for token in _TOKEN.findall(text):
            if token not in codes:
                if len(codes) == _CODES:
                    raise ValueError(f"word_diff: more than {_CODES} distinct words in one item")
                codes[token] = chr(_FIRST_CODE + len(codes))
                tokens.append(token)
            chars.append(codes[token])
        return "".join(chars)

    a, b = encode(old), encode(new)
    # difflib aligns (diff-match-patch's own diff_main is exact only without its deadline, and then
    # many times slower in pure Python on a rewritten paragraph); diff-match-patch groups.
    diffs: list[tuple[int, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            diffs.append((0, a[i1:i2]))
            continue
        if i2 > i1:
            diffs.append((-1, a[i1:i2]))
        if j2 > j1:
            diffs.append((1, b[j1:j2]))
    dmp = diff_match_patch()
    # Slide each lone insertion or deletion as far right as it goes (`Z.ai {+from +}a`, not
    # `Z.ai{+ from+} a`) before equalities are weighed against changes, so that a kept word counts
    # with the spaces on both its sides, as in diff_main's own output.
    dmp.diff_cleanupSemanticLossless(diffs)
    dmp.diff_cleanupSemantic(diffs)
    kinds: dict[int, OpKind] = {0: "equal", -1: "delete", 1: "insert"}
    ops = _grouped([(kinds[op], "".join(tokens[ord(c) - _FIRST_CODE] for c in chars)) for op, chars in diffs])
    return _rewritten(old, new, _separated(_merge_short_runs(ops)))


def _words(text: str) -> int:
    return len(text.split())


def _rewritten(old: str, new: str, ops: list[DiffOp]) -> list[DiffOp]:
    """The rewrite rule: a text that keeps less than `_KEPT` of its words is shown as one deletion
    of the whole old text and one insertion of the whole new one. Kept words are the words of the
    equal ops; the share is kept / max(words of old, words of new), words split on whitespace."""
    longest = max(_words(old), _words(new))
    kept = sum(_words(op.text) for op in ops if op.kind == "equal")
    if longest == 0 or kept == longest or kept * _KEPT.denominator >= longest * _KEPT.numerator:
        return ops
    out: list[DiffOp] = []
    _push(out, "delete", old)
    _push(out, "insert", new)
    return out


def _grouped(ops: list[tuple[OpKind, str]]) -> list[DiffOp]:
    """Canonical form: equalities alternate with groups of one deletion then one insertion."""
    out: list[DiffOp] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        _push(out, "delete", "".join(deleted))
        _push(out, "insert", "".join(inserted))
        deleted.clear()
        inserted.clear()

    for kind, text in ops:
        if kind == "equal":
            if text:
                flush()
                _push(out, "equal", text)
        else:
            (deleted if kind == "delete" else inserted).append(text)
    flush()
    return out


def _push(ops: list[DiffOp], kind: OpKind, text: str) -> None:
    if not text:
        return
    if ops and ops[-1].kind == kind:
        ops[-1] = DiffOp(kind=kind, text=ops[-1].text + text)
    else:
        ops.append(DiffOp(kind=kind, text=text))


def _is_short_word(word: str) -> bool:
    if _CITATIONS.fullmatch(word):
        return True
    return len(word) <= _SHORT_WORD and any(c.isalnum() for c in word)


def _is_short_run(text: str) -> bool:
    words = text.split()
    return len(words) <= _SHORT_RUN and all(_is_short_word(word) for word in words)


def _merge_short_runs(ops: list[DiffOp]) -> list[DiffOp]:
    """Fold an equality of one or two short words between two changes into both sides' change."""
    merged: list[tuple[OpKind, str]] = [(op.kind, op.text) for op in ops]
    index = 1
    while index < len(merged) - 1:
        kind, text = merged[index]
        between = merged[index - 1][0] != "equal" and merged[index + 1][0] != "equal"
        if kind == "equal" and between and _is_short_run(text):
            merged[index : index + 1] = [("delete", text), ("insert", text)]
        index += 1
    return _grouped(merged)


def _separated(ops: list[DiffOp]) -> list[DiffOp]:
    """Move whitespace into a deletion+insertion that would otherwise read as one run-on word."""
    texts: list[tuple[OpKind, str]] = [(op.kind, op.text) for op in ops]
    for index in range(len(texts) - 1):
        (kind, deleted), (next_kind, inserted) = texts[index], texts[index + 1]
        if kind != "delete" or next_kind != "insert":
            continue
        if deleted[-1].isspace() or inserted[0].isspace():
            continue
        after = texts[index + 2][1] if index + 2 < len(texts) else ""
        before = texts[index - 1][1] if index > 0 else ""
        if space := _LEADING_SPACE.match(after):
            moved = space.group()
            texts[index], texts[index + 1] = ("delete", deleted + moved), ("insert", inserted + moved)
            texts[index + 2] = ("equal", after[len(moved) :])
        elif space := _TRAILING_SPACE.search(before):
            moved = space.group()
            texts[index], texts[index + 1] = ("delete", moved + deleted), ("insert", moved + inserted)
            texts[index - 1] = ("equal", before[: -len(moved)])
    return _grouped(texts)


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


def _pieces(ops: list[DiffOp]) -> list[tuple[OpKind, str]]:
    """The ops as shown: whitespace at a change's edges goes outside its marks, and one space
    always separates the deleted words from the inserted ones (`x [-old-] {+new+} y`)."""
    pieces: list[tuple[OpKind, str]] = []
    index = 0
    while index < len(ops):
        if ops[index].kind == "equal":
            pieces.append(("equal", ops[index].text))
            index += 1
            continue
        group: dict[OpKind, str] = {}
        while index < len(ops) and ops[index].kind != "equal":
            group[ops[index].kind] = ops[index].text
            index += 1
        texts = list(group.values())
        lead = trail = ""
        if all(text.strip() for text in texts):  # a whitespace-only change keeps its whitespace
            lead = _shared_space(_LEADING_SPACE, texts)
            trail = _shared_space(_TRAILING_SPACE, texts)
        pieces.append(("equal", lead))
        for kind in ("delete", "insert"):
            if kind in group:
                if kind == "insert" and "delete" in group:
                    pieces.append(("equal", " "))
                pieces.append((kind, group[kind][len(lead) : len(group[kind]) - len(trail)]))
        pieces.append(("equal", trail))
    return [(kind, text) for kind, text in pieces if text]


def _shared_space(edge: re.Pattern[str], texts: list[str]) -> str:
    """The whitespace every text has at one edge (`edge` finds it), or "" when they differ."""
    spaces = {match.group() if (match := edge.search(text)) else "" for text in texts}
    return spaces.pop() if len(spaces) == 1 else ""


def diff_plain(diff: BriefDiff, *, context: bool = False) -> str:
    """Plain text: one block per changed section; `[-old-] {+new+}` mark changed words."""
    lines = [f"--- v{diff.old_version}", f"+++ v{diff.new_version}"]
    for section in diff.sections:
        shown = [item for item in section.items if context or item.status != "unchanged"]
        if not shown:
            continue
        lines += ["", f"## {section.section}"]
        for item in shown:
            body = "".join(
                text if kind == "equal" else f"[-{text}-]" if kind == "delete" else f"{{+{text}+}}"
                for kind, text in _pieces(item.ops)
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
            for kind, text in _pieces(item.ops):
                out.append(text, style=styles[kind])
            out.append("\n")
    if not diff.changed:
        out.append("\n(no differences)\n", style="dim")
    return out
