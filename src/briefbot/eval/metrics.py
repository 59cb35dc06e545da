"""The metrics of one night, and of several: pure and deterministic.

`score_night` takes the gold night and what came back (the triage labels, the proposed batch, the
merged proposal) and counts them into a `score.Score`, which makes the figures.

Expectations are checked on the candidate brief (what the merger applied), except `must_not`,
which judges what the model *proposed*: the merger rejecting an edit that cites an invented item
is the merger's merit, not the model's. Text is matched by the share of the gold text's words
present, each word compared with rapidfuzz's `ratio` so an inflection still counts, numbers
exactly (`similarity`; the threshold is gold.DEFAULT_THRESHOLD unless the expectation sets its own).
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, utils

from briefbot.eval.gold import (
    LABELS,
    GoldNight,
    Label,
    Must,
    MustNewPerspective,
    MustNotAnyEdit,
    MustNotInstruction,
    MustNotOneSource,
    MustNotRemoves,
    MustPerspective,
    MustRetiredQuestion,
    MustTension,
    MustTimeline,
)
from briefbot.eval.score import Score, Usage
from briefbot.merge.checks import Rejected, brief_texts, check_citations, edit_warnings, markers, vocabulary
from briefbot.merge.merger import DUPLICATE_RATIO
from briefbot.merge.proposal import Proposal
from briefbot.models import (
    EDIT_CITATION_RE,
    AddTimelineEntry,
    Brief,
    Edit,
    EditBatch,
    RetireOpenQuestion,
)

# The generic `must_not` kinds, checked on every night; a night's own list adds the others.
GENERIC_MUST_NOT = ("cites_irrelevant", "unsupported", "duplicate_timeline")
_WORDS = re.compile(r"\S+")
# rapidfuzz ratio (0-100) at which two words are the same word spelt differently (plural, -ed).
WORD_RATIO = 85.0


def _bare(text: str) -> str:
    return EDIT_CITATION_RE.sub("", text)


def _tokens(text: str) -> list[str]:
    return str(utils.default_process(_bare(text))).split()


def similarity(gold: str, text: str) -> float:
    """0-100: the share of the gold text's words found in `text` (citations, case and punctuation
    left out). A word counts as found when `text` has it or a close spelling (WORD_RATIO: `model`
    for `models`); a number must be there exactly, or the match is 0: a wrong figure is the error
    that matters most."""
    want = _tokens(gold)
    if not want:
        return 100.0
    have = set(_tokens(text))
    found = 0
    for word in want:
        if word in have:
            found += 1
        elif word.isdigit():
            return 0.0
        elif any(fuzz.ratio(word, other) >= WORD_RATIO for other in have):
            found += 1
    return 100.0 * found / len(want)


def reason_kind(reason: str) -> str:
    """A rejection reason without its particulars, so reasons of different edits count together."""
    kind = re.sub(r"\[[^\]]*\]", "[…]", reason)
    kind = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", kind)
    kind = re.sub(r"\([^)]*\)", "", kind)
    kind = re.sub(r"\d+", "N", kind)
    return " ".join(kind.split())


def score_night(
    night: GoldNight,
    labels: dict[str, str],
    batch: EditBatch | None,
    proposal: Proposal | None,
    *,
    usage: Usage | None = None,
    errors: list[str] | None = None,
) -> Score:
    """The night's counts. `labels`: ref -> the model's label (a ref it never labelled, because its
    batch failed, counts as a miss); `batch`: what the proposer returned with the items it was shown;
    `proposal`: the merger's verdict on it (None when nothing was proposed)."""
    score = Score(usage=usage or Usage(), errors=list(errors or []), failed=1 if errors else 0)
    gold = night.labels()
    for ref, truth in gold.items():
        predicted = labels.get(ref)
        for label in LABELS:
            c = score.triage[label]
            if predicted == label and truth == label:
                c.tp += 1
            elif predicted == label:
                c.fp += 1
            elif truth == label:
                c.fn += 1
    base = night.brief
    edits = batch.edits if batch is not None else []
    shown = {item.ref for item in batch.items} if batch is not None else set()
    score.edits_proposed = len(edits)
    if proposal is not None:
        applied = proposal.applied()
        score.edits_applied = len(applied)
        for verdict in proposal.verdicts:
            if verdict.status == "rejected" and verdict.reason:
                kind = reason_kind(verdict.reason)
                score.rejections[kind] = score.rejections.get(kind, 0) + 1
    for edit in edits:
        for marker in markers(edit):
            score.citations += 1
            score.citations_valid += _valid_marker(marker, shown, base)
    _whats_new(score, batch, proposal)
    candidate = proposal.candidate if proposal is not None else base
    score.must = len(night.spec.must)
    for must in night.spec.must:
        if _met(must, base, candidate, proposal):
            score.must_met += 1
        else:
            score.must_missed.append(_describe(must))
    _must_not(score, night, gold, batch, candidate)
    return score


def _valid_marker(marker: str, shown: set[str], base: Brief) -> bool:
    if marker.startswith("new:"):
        return marker in shown
    return base.source(int(marker)) is not None


def _whats_new(score: Score, batch: EditBatch | None, proposal: Proposal | None) -> None:
    if proposal is not None and proposal.whats_new is not None:
        score.whats_new_words = len(_WORDS.findall(_bare(" ".join(proposal.whats_new.paragraphs))))
        score.whats_new_made = 1
    if batch is None or not batch.whats_new:
        return
    score.whats_new_drafts = 1
    score.whats_new_draft_kept = int(proposal is not None and proposal.whats_new_origin == "draft")
    # The merger's own rule: a draft may cite only what an applied edit cites.
    cited = {m for v in proposal.applied() for m in v.cites} if proposal is not None else set()
    for marker in EDIT_CITATION_RE.findall(" ".join(batch.whats_new)):
        score.whats_new_citations += 1
        score.whats_new_citations_valid += marker in cited


def _describe(must: Must) -> str:
    detail = getattr(must, "actor", None) or getattr(must, "text", None) or f"#{getattr(must, 'index', '')}"
    date = getattr(must, "date", None)
    return f"{must.kind}{' ' + date if date else ''}: {str(detail)[:70]}"


def _new_texts(base: list[str], candidate: list[str]) -> list[str]:
    known = set(base)
    return [t for t in candidate if t not in known]


def _met(must: Must, base: Brief, candidate: Brief, proposal: Proposal | None) -> bool:
    if isinstance(must, MustTimeline):
        old = {(e.date, e.text) for e in base.timeline}
        return any(
            e.date == must.date and similarity(must.text, e.text) >= must.threshold
            for e in candidate.timeline
            if (e.date, e.text) not in old
        )
    if isinstance(must, (MustPerspective, MustNewPerspective)):
        before = {p.actor.casefold(): p for p in base.perspectives}
        for p in candidate.perspectives:
            if p.actor.casefold() != must.actor.casefold() or before.get(p.actor.casefold()) == p:
                continue
            if (
                must.text is None
                or similarity(must.text, f"{p.stance} {p.evolution or ''}") >= must.threshold
            ):
                return True
        return False
    if isinstance(must, MustTension):
        return any(
            similarity(must.text, t) >= must.threshold for t in _new_texts(base.tensions, candidate.tensions)
        )
    if isinstance(must, MustRetiredQuestion):
        index = must.index
        if index is None and must.text is not None:
            ranked = [(similarity(must.text, q), n) for n, q in enumerate(base.open_questions, 1)]
            best = max(ranked, default=(0.0, 0))
            index = best[1] if best[0] >= must.threshold else None
        if proposal is None or index is None:
            return False
        return any(
            isinstance(edit := proposal.batch.edits[v.number - 1], RetireOpenQuestion) and edit.index == index
            for v in proposal.applied()
        )
    raise AssertionError(f"unknown expectation {must!r}")


def _claims(brief: Brief) -> list[str]:
    """What the brief says in its own words: every section but the sources' titles."""
    return [
        *brief.what,
        *brief.why_it_matters,
        *brief.open_questions,
        *brief.narrative,
        *brief.tensions,
        *(e.text for e in brief.timeline),
        *(f"{p.actor} {p.stance} {p.evolution or ''}" for p in brief.perspectives),
        *([brief.status] if brief.status else []),
    ]


def _edit_text(edit: Edit) -> str:
    parts = [edit.summary] + [
        str(getattr(edit, name))
        for name in ("text", "stance", "evolution", "actor")
        if getattr(edit, name, None)
    ]
    return "\n".join(parts)


def _violate(score: Score, kind: str, detail: str) -> None:
    score.must_not[kind] = score.must_not.get(kind, 0) + 1
    score.must_not_detail.append(f"{kind}: {detail[:110]}")


def _must_not(
    score: Score, night: GoldNight, gold: dict[str, Label], batch: EditBatch | None, candidate: Brief
) -> None:
    for kind in GENERIC_MUST_NOT:
        score.must_not.setdefault(kind, 0)
    for rule in night.spec.must_not:
        score.must_not.setdefault(rule.kind, 0)
    edits = batch.edits if batch is not None else []
    items = {item.ref: item for item in batch.items} if batch is not None else {}
    base = night.brief
    known = vocabulary(brief_texts(base))
    earlier: list[AddTimelineEntry] = []
    for number, edit in enumerate(edits, 1):
        cites = markers(edit)
        bad = [m for m in cites if gold.get(m) == "irrelevant"]
        if bad:
            _violate(score, "cites_irrelevant", f"edit {number} ({edit.op}) cites {', '.join(bad)}")
        try:
            check_citations(cites, items=items, base=base)
        except Rejected:
            pass  # an unknown citation is counted by citation validity; nothing to check names against
        else:
            for warning in edit_warnings(edit, cites, items=items, base=base, known=known):
                if warning.startswith(("names found neither", "figures found neither")):
                    _violate(score, "unsupported", f"edit {number} ({edit.op}): {warning}")
        if isinstance(edit, AddTimelineEntry):
            others = [(e.date, e.text) for e in base.timeline] + [(e.date, e.text) for e in earlier]
            if any(
                date == edit.date
                and fuzz.ratio(_bare(text), _bare(edit.text), processor=utils.default_process)
                >= DUPLICATE_RATIO
                for date, text in others
            ):
                _violate(score, "duplicate_timeline", f"edit {number}: {edit.date}: {edit.text}")
            earlier.append(edit)
    drafts = list(batch.whats_new or []) if batch is not None else []
    writing = [(f"edit {n}", _edit_text(e)) for n, e in enumerate(edits, 1)] + [
        ("What's new", text) for text in drafts
    ]
    for rule in night.spec.must_not:
        if isinstance(rule, MustNotInstruction):
            for where, text in writing:
                hit = [m for m in rule.markers if m.casefold() in text.casefold()]
                if hit:
                    _violate(score, "instruction", f"{where} carries {hit[0]!r}")
        elif isinstance(rule, MustNotOneSource):
            refs = {item.ref: item.url for item in items.values()}
            cited = {refs[m] for e in edits for m in markers(e) if m in refs and refs[m] in rule.urls}
            for url in sorted(cited)[1:]:
                _violate(score, "one_source", f"{len(cited)} copies of one story cited; extra: {url}")
        elif isinstance(rule, MustNotRemoves):
            if not any(similarity(rule.text, t) >= rule.threshold for t in _claims(base)):
                continue  # the night's author quoted text the brief does not have: nothing to remove
            if not any(similarity(rule.text, t) >= rule.threshold for t in _claims(candidate)):
                _violate(score, "removes", f"the brief no longer says {rule.text!r}")
        elif isinstance(rule, MustNotAnyEdit):
            for number, edit in enumerate(edits, 1):
                _violate(score, "any_edit", f"edit {number} ({edit.op}) on a night that needs none")
