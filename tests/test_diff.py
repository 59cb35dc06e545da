"""Word diffs grouped as a reader reads them (issue 14, item 2): examples, laws and a golden file.

The golden file is the plain diff of the demo night, v6 (fixtures/demo/v6.txt) against the seed's v7.
Regenerate it after a deliberate change with `BRIEFBOT_UPDATE_GOLDEN=1 pytest tests/test_diff.py` and
review the diff of the golden file like any other code change.
"""

from __future__ import annotations

import itertools
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from briefbot.brief.diff import (
    BriefDiff,
    DiffOp,
    ItemDiff,
    SectionDiff,
    diff_briefs,
    diff_plain,
    diff_rich,
    word_diff,
)
from briefbot.brief.textformat import parse_text
from briefbot.cli import main
from conftest import REPO, SEED, as_project

GOLDEN = Path(__file__).parent / "golden"
V6 = REPO / "fixtures" / "demo" / "v6.txt"

STRENGTHENED_OLD = (
    "Strengthened: GLM-4.7 and GLM-5 evaluation data [16][17][18][19] make Z.ai a lab with concrete "
    "benchmark records in agentic and coding domains"
)
STRENGTHENED_NEW = (
    "Significantly strengthened: GLM-5.1 topping SWE-Bench Pro [12][13][14] moves Z.ai from a lab with "
    "benchmark records to one claiming a leaderboard-leading position over closed models including Claude"
)


def _pairs(ops: list[DiffOp]) -> list[tuple[str, str]]:
    return [(op.kind, op.text) for op in ops]


def _old(ops: list[DiffOp]) -> str:
    return "".join(op.text for op in ops if op.kind != "insert")


def _new(ops: list[DiffOp]) -> str:
    return "".join(op.text for op in ops if op.kind != "delete")


def _plain(ops: list[DiffOp]) -> str:
    """One item's line of `diff_plain`, without its label."""
    item = ItemDiff(label="x", status="changed", ops=ops)
    diff = BriefDiff(old_version=1, new_version=2, sections=[SectionDiff(section="s", items=[item])])
    return diff_plain(diff).splitlines()[-1].removeprefix("~ x: ")


def _demo_diff():
    return diff_briefs(
        parse_text(V6.read_text(encoding="utf-8")), parse_text(SEED.read_text(encoding="utf-8"))
    )


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------


def test_a_rewritten_line_is_one_deletion_and_one_insertion() -> None:
    # 6 of 26 words kept (Z.ai, a, lab, with, benchmark, records): under a third, a rewrite.
    ops = word_diff(STRENGTHENED_OLD, STRENGTHENED_NEW)
    assert _pairs(ops) == [("delete", STRENGTHENED_OLD), ("insert", STRENGTHENED_NEW)]
    assert _plain(ops) == f"[-{STRENGTHENED_OLD}-] {{+{STRENGTHENED_NEW}+}}"


def test_a_line_keeping_a_third_of_its_words_keeps_its_word_level_groups() -> None:
    # 3 of 9 words kept (exactly a third): still shown word by word.
    old = "alpha beta gamma one two three four five six"
    new = "alpha beta gamma seven eight nine ten eleven twelve"
    assert [op.kind for op in word_diff(old, new)] == ["equal", "delete", "insert"]
    # 2 of 9 (under a third): a rewrite.
    fewer = "alpha beta zeta seven eight nine ten eleven twelve"
    assert [op.kind for op in word_diff(old, fewer)] == ["delete", "insert"]


def test_only_the_opening_of_the_issue_example_is_one_pair() -> None:
    ops = word_diff("Strengthened: GLM-4.7 and GLM-5", "Significantly strengthened: GLM-5.1 topping")
    assert _pairs(ops) == [
        ("delete", "Strengthened: GLM-4.7 and GLM-5"),
        ("insert", "Significantly strengthened: GLM-5.1 topping"),
    ]
    assert (
        _plain(ops) == "[-Strengthened: GLM-4.7 and GLM-5-] {+Significantly strengthened: GLM-5.1 topping+}"
    )


def test_identical_texts_give_no_change() -> None:
    text = "MiniMax M2 leads the official SWE-bench leaderboard [10]."
    assert _pairs(word_diff(text, text)) == [("equal", text)]
    assert word_diff("", "") == []


def test_a_pure_insertion_stays_a_pure_insertion() -> None:
    ops = word_diff("With MiniMax M2 leading [10]", "With GLM-5.1 topping [12] and MiniMax M2 leading [10]")
    assert [op.kind for op in ops] == ["equal", "insert", "equal"]
    assert _plain(ops) == "With {+GLM-5.1 topping [12] and+} MiniMax M2 leading [10]"
    assert _pairs(word_diff("", "new words")) == [("insert", "new words")]
    assert _pairs(word_diff("old words", "")) == [("delete", "old words")]


def test_short_words_between_changes_join_them() -> None:
    ops = word_diff(
        "the claim now rests on a concrete data point",
        "the claim is no longer a single data point",
    )
    assert _plain(ops) == "the claim [-now rests on a concrete-] {+is no longer a single+} data point"


def test_a_separator_keeps_header_fields_apart() -> None:
    ops = word_diff("closed · v6 · 2026-05-23 · 113 items", "closed · v7 · 2026-05-24 · 118 items")
    assert _plain(ops) == "closed · [-v6-] {+v7+} · [-2026-05-23-] {+2026-05-24+} · [-113-] {+118+} items"


def test_whitespace_separates_deleted_from_inserted_text_even_without_marks() -> None:
    """The web preview shows ops as struck and underlined text: `now` and `is` must not touch."""
    for old, new in [
        ("it now rests here", "it is no longer here"),
        ("so it now rests", "so it is no longer"),
        ("now rests on the shelf", "is no longer on the shelf"),
    ]:
        ops = word_diff(old, new)
        for before, after in itertools.pairwise(ops):
            if before.kind == "delete" and after.kind == "insert":
                assert before.text[-1].isspace() or after.text[0].isspace(), _pairs(ops)
    kept = _plain(word_diff("so it now rests on the shelf", "so it is no longer on the shelf"))
    assert kept == "so it [-now rests-] {+is no longer+} on the shelf"
    # One word of four kept: a rewrite, shown whole (still apart).
    assert _plain(word_diff("it now rests", "it is no longer")) == "[-it now rests-] {+it is no longer+}"
    assert _pairs(word_diff("now", "is")) == [("delete", "now"), ("insert", "is")]
    assert _plain(word_diff("now", "is")) == "[-now-] {+is+}"


def test_rich_output_separates_too() -> None:
    rich = diff_rich(_demo_diff()).plain
    assert "in agentic and coding domains Significantly strengthened: GLM-5.1" in rich
    assert "nowis" not in rich and "restsno" not in rich


def test_the_same_texts_give_the_same_ops() -> None:
    assert word_diff(STRENGTHENED_OLD, STRENGTHENED_NEW) == word_diff(STRENGTHENED_OLD, STRENGTHENED_NEW)


# --------------------------------------------------------------------------------------------
# The demo night, v6 -> v7
# --------------------------------------------------------------------------------------------

_SHORT_WORD = re.compile(r"[^\s\[\]{}]{1,3}")


def _alternations(plain: str) -> list[str]:
    """Every `[-a-] {+b+} w [-c-] {+d+}` where w is one short word (an alternation a reader trips on)."""
    found = re.findall(r"\+\} (\S+) \[-[^\]]*-\] \{\+", plain)
    return [word for word in found if _SHORT_WORD.fullmatch(word) and any(c.isalnum() for c in word)]


def test_the_demo_zai_evolution_is_one_deletion_and_one_insertion() -> None:
    perspectives = next(s for s in _demo_diff().sections if s.section == "Perspectives")
    item = next(i for i in perspectives.items if i.label == "Z.ai / GLM team · evolution")
    assert [op.kind for op in item.ops] == ["delete", "insert"]
    assert item.ops[0].text.startswith("Strengthened: GLM-4.7 and GLM-5")
    assert item.ops[1].text.startswith("Significantly strengthened: GLM-5.1 topping")
    (line,) = [x for x in diff_plain(_demo_diff()).splitlines() if "Z.ai / GLM team · evolution" in x]
    assert line.count("[-") == 1 and line.count("{+") == 1
    # The other changed lines of the night keep more than a third of their words: word-level groups,
    # as before the rewrite rule (the golden file holds them whole).
    plain = diff_plain(_demo_diff())
    for label in (
        "Z.ai / GLM team · stance: Open-weight models from Chinese labs can compete",
        "NVIDIA / Nemotron Coalition · evolution: [-Mistral AI's confirmed partnership [24] gives the "
        "coalition a named member; no-] {+Secondary coverage continues to grow [25][26] without new+} "
        "substantive details",
        "Florian Brand (Interconnects) · evolution: Consistent; {+GLM-5.1 topping",
        "Nathan Lambert (Interconnects / Ai2) · evolution: Consistent; NVIDIA's",
        "paragraph 2: The benchmark dispute has become notably more concrete as [-a-] {+multiple+}",
    ):
        assert any(label in line for line in plain.splitlines()), label


def test_the_demo_diff_has_no_alternation_across_a_short_word() -> None:
    plain = diff_plain(_demo_diff())
    assert _alternations(plain) == []
    assert "-]{+" not in plain  # deleted and inserted words are always apart
    # ...and in the ops, no equality of one or two short words sits between two changes
    for section in _demo_diff().sections:
        for item in section.items:
            for before, op, after in zip(item.ops, item.ops[1:], item.ops[2:], strict=False):
                if op.kind == "equal" and before.kind != "equal" and after.kind != "equal":
                    words = [w for w in op.text.split() if any(c.isalnum() for c in w)]
                    short = [w for w in words if _SHORT_WORD.fullmatch(w)]
                    assert not (words and len(words) <= 2 and short == words), (item.label, op.text)


def test_the_alternation_check_sees_the_old_output() -> None:
    old = (
        "[-Strengthened:-] {+Significantly+} [-GLM-4.7-] {+strengthened:+} [-and-] {+GLM-5.1+} to [-x-] {+y+}"
    )
    assert _alternations(old) == ["to"]


def test_the_demo_diff_matches_the_golden_file() -> None:
    plain = diff_plain(_demo_diff())
    golden = GOLDEN / "diff_demo_v6_v7.txt"
    if os.environ.get("BRIEFBOT_UPDATE_GOLDEN"):
        golden.write_text(plain, encoding="utf-8")
    assert plain == golden.read_text(encoding="utf-8")


def test_briefbot_diff_prints_the_golden_file(tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--root", str(as_project(tmp_path)), *args], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    run("import", str(V6), "--slug", "demo")
    run("import", str(SEED), "--slug", "demo")
    printed = run("diff", "demo", "6", "7", "--no-color")
    assert printed == (GOLDEN / "diff_demo_v6_v7.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Laws
# --------------------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["a", "on", "the", "Z.ai", "GLM-5.1", "[10]", "[12][14],", "·", "—", "leaderboard", "top", "é", ""]
)
_SPACES = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", " \n "])


@st.composite
def _texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, max_size=16))
    spaces = draw(st.lists(_SPACES, min_size=len(words) + 1, max_size=len(words) + 1))
    edges = draw(st.tuples(st.booleans(), st.booleans()))
    text = "".join(space + word for space, word in zip(spaces, words, strict=False))
    text = text if edges[0] else text.lstrip()
    return text + spaces[-1] if edges[1] else text


_ANY_TEXT = _texts() | st.text(max_size=40)


@given(_ANY_TEXT, _ANY_TEXT)
def test_the_ops_spell_both_texts_exactly(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert _old(ops) == old
    assert _new(ops) == new


@given(_ANY_TEXT, _ANY_TEXT)
def test_ops_are_canonical(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert all(op.text for op in ops)
    kinds = [op.kind for op in ops]
    for before, after in itertools.pairwise(kinds):
        assert before != after  # neighbours of one kind are one op
        assert (before, after) != ("insert", "delete")  # a group reads deletion first
    if old == new:
        assert set(kinds) <= {"equal"}


@given(_ANY_TEXT, _ANY_TEXT)
def test_deleted_and_inserted_text_never_touch_when_whitespace_is_at_hand(old: str, new: str) -> None:
    ops = word_diff(old, new)
    for index in range(len(ops) - 1):
        deleted, inserted = ops[index], ops[index + 1]
        if deleted.kind == "delete" and inserted.kind == "insert":
            before = ops[index - 1].text if index > 0 else ""
            after = ops[index + 2].text if index + 2 < len(ops) else ""
            if before[-1:].isspace() or after[:1].isspace():
                assert deleted.text[-1].isspace() or inserted.text[0].isspace(), _pairs(ops)


@pytest.mark.parametrize("old, new", [("a b", "a b c"), ("x y z", "x z"), ("p q", "r s")])
def test_plain_never_joins_marks(old: str, new: str) -> None:
    assert "-]{+" not in _plain(word_diff(old, new))


def _kept_share(old: str, new: str, ops: list[DiffOp]) -> Fraction:
    longest = max(len(old.split()), len(new.split()))
    return Fraction(sum(len(op.text.split()) for op in ops if op.kind == "equal"), longest)


@given(_ANY_TEXT, _ANY_TEXT)
def test_a_text_keeping_under_a_third_of_its_words_is_one_deletion_and_one_insertion(
    old: str, new: str
) -> None:
    ops = word_diff(old, new)
    changes = [op for op in ops if op.kind != "equal"]
    if old != new and max(len(old.split()), len(new.split())) and _kept_share(old, new, ops) < Fraction(1, 3):
        assert _pairs(ops) == [(k, t) for k, t in (("delete", old), ("insert", new)) if t]
    if len(changes) > 2:  # word-level groups: only for a text keeping at least a third of its words
        assert _kept_share(old, new, ops) >= Fraction(1, 3)


@given(_ANY_TEXT, _ANY_TEXT)
def test_no_two_changes_alternate_across_a_single_short_word(old: str, new: str) -> None:
    ops = word_diff(old, new)
    for before, op, after in zip(ops, ops[1:], ops[2:], strict=False):
        if op.kind == "equal" and before.kind != "equal" and after.kind != "equal":
            words = op.text.split()
            assert not (len(words) == 1 and len(words[0]) <= 3 and any(c.isalnum() for c in words[0])), (
                _pairs(ops)
            )
