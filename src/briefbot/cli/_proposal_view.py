"""A pending proposal as the terminal shows it: JSON-ready data for `review`, each edit's target,
the counts and the next step that `decide`, `amend` and `restore` end with."""

from __future__ import annotations

from typing import Any

import click

from briefbot.brief.diff import diff_briefs, diff_plain
from briefbot.merge.proposal import Proposal
from briefbot.merge.targets import edit_target
from briefbot.models import BatchItem, Brief
from briefbot.untrusted import clean_text


def _cited(proposal: Proposal, base: Brief, marker: str) -> dict[str, Any]:
    """Title, publisher, date and URL of what a citation marker points at."""
    fields: tuple[str | None, ...] = (None, None, None, None)
    if marker.startswith("new:"):
        found: BatchItem | None = next((i for i in proposal.batch.items if i.ref == marker), None)
        if found is not None:
            fields = (found.title, found.publisher, found.published, found.url)
    elif (source := base.source(int(marker))) is not None:
        fields = (source.title, source.label, source.date, source.url)
    return {"marker": marker, **dict(zip(("title", "publisher", "date", "url"), fields, strict=True))}


def targets(proposal: Proposal, base: Brief) -> dict[int, str]:
    """Where each edit lands, by number ("Timeline, after entry 7, dated 2026-05"): the label the
    web cards show too (`merge.targets`), so the page and the terminal name a place in the same words."""
    return {
        verdict.number: edit_target(edit, base).label
        for verdict, edit in zip(proposal.verdicts, proposal.batch.edits, strict=False)
    }


def counts(proposal: Proposal) -> str:
    """ "16 applied, 0 rejected, 15 undecided": undecided are the applied edits nobody decided on
    yet (approving publishes them as they are)."""
    applied = proposal.applied()
    undecided = sum(1 for v in applied if v.decision is None)
    return f"{len(applied)} applied, {len(proposal.verdicts) - len(applied)} rejected, {undecided} undecided"


def next_step(proposal: Proposal, slug: str) -> str:
    if not proposal.applied():
        return f"nothing to publish; discard with: briefbot discard {slug}"
    return f"approve with: briefbot approve {slug}"


def proposal_report(proposal: Proposal, base: Brief) -> dict[str, Any]:
    """The pending proposal as JSON-ready data (what `review --json` prints)."""
    final = proposal.final_brief()
    where = targets(proposal, base)
    edits = []
    for verdict, edit in zip(proposal.verdicts, proposal.batch.edits, strict=False):
        edits.append(
            {
                "number": verdict.number,
                "op": verdict.op,
                "target": where.get(verdict.number, verdict.op),
                "verdict": verdict.status,
                "reason": verdict.reason,
                "warnings": verdict.warnings,
                "decision": verdict.decision,
                "decision_reason": verdict.decision_reason,
                "sources": verdict.sources,
                "cited": [_cited(proposal, base, marker) for marker in verdict.cites],
                "edit": edit.model_dump(mode="json"),
                "amendments": [
                    {"by": a.by, "at": a.at.isoformat(), "original": a.original.model_dump(mode="json")}
                    for a in proposal.amendments
                    if a.number == verdict.number
                ],
            }
        )
    return {
        "slug": proposal.slug,
        "base_version": proposal.base_version,
        "candidate_version": final.version,
        "revision": proposal.revision,
        "run_date": proposal.run_date.isoformat(),
        "restored_by": proposal.restored_by,
        "restored_at": proposal.restored_at.isoformat() if proposal.restored_at else None,
        "edits": edits,
        "whats_new": final.whats_new.paragraphs if final.whats_new else [],
        "whats_new_edited": proposal.whats_new_override is not None,
        # Whose What's new the merger kept: the proposer's draft, or its own compact assembly, and why.
        "whats_new_origin": proposal.whats_new_origin,
        "whats_new_note": proposal.whats_new_note,
        "diff": diff_plain(diff_briefs(base, final)),
    }


def echo_summary(proposal: Proposal) -> None:
    applied = len(proposal.applied())
    click.echo(
        f"proposal for {proposal.slug} v{proposal.candidate.version} (from v{proposal.base_version}, revision "
        f"{proposal.revision}): {applied} applied, {len(proposal.verdicts) - applied} rejected"
    )
    for verdict in proposal.verdicts:
        said = f": {verdict.decision_reason}" if verdict.decision_reason else ""
        decision = f" [{verdict.decision}{said}]" if verdict.decision else ""
        reason = f": {verdict.reason}" if verdict.reason else ""
        # A reason or warning may quote a model's edit or a feed's title.
        click.echo(
            clean_text(
                f"  {verdict.number:>2} {verdict.status:<8} {verdict.op}{decision}{reason}", multiline=False
            )
        )
        for warning in verdict.warnings:
            click.echo(clean_text(f"       warning: {warning}", multiline=False))
