"""Telling the editors that a proposal waits: one message per brief whose proposal a night wrote.

Targets are apprise URLs (`mailtos://`, `slack://`, `matrix://`, `json://` for a webhook, ...),
taken from the environment (`BRIEFBOT_NOTIFY`, separated by spaces or commas), not from
feeds.yaml: they carry tokens and passwords, like the API key, and feeds.yaml is committed.
`BRIEFBOT_REVIEW_URL` is where `briefbot serve` (or the site) is reached, for the review link.

A notifier that fails is reported and never fails the night: the proposal is written either way,
and `briefbot status` shows it. A replayed night notifies no one (it is a re-enactment, offline).
Notification targets are trusted configuration, like the LLM endpoint, so apprise does its own
HTTP rather than going through the fetched-content client and its address guard.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import apprise

from briefbot.pipeline.report import BriefReport, RunReport

NOTIFY_ENV = "BRIEFBOT_NOTIFY"
REVIEW_URL_ENV = "BRIEFBOT_REVIEW_URL"
_SEPARATORS = re.compile(r"[\s,]+")
_SECRET_IN_URL = re.compile(r"(?<=://)[^/@\s]*@")


@dataclass(frozen=True)
class Message:
    slug: str
    title: str
    body: str


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)  # slugs notified
    failures: list[str] = field(default_factory=list)  # what went wrong, with no secret in it


def targets(env: Mapping[str, str] | None = None) -> list[str]:
    raw = (env if env is not None else os.environ).get(NOTIFY_ENV, "")
    return [url for url in _SEPARATORS.split(raw.strip()) if url]


def redact(url: str) -> str:
    """A target as it may be printed: its scheme and host, never its credentials or tokens."""
    scheme, _, rest = url.partition("://")
    host = _SECRET_IN_URL.sub("", f"://{rest}")[3:].split("/", 1)[0]
    return f"{scheme}://{host}/…"


def messages(report: RunReport, *, review_url: str | None) -> list[Message]:
    """One message per brief whose pending proposal this night wrote or remade."""
    return [_message(brief, report, review_url) for brief in report.briefs if brief.proposal]


def _message(brief: BriefReport, report: RunReport, review_url: str | None) -> Message:
    link = (
        f"{review_url.rstrip('/')}/b/{brief.slug}/proposal" if review_url else f"briefbot review {brief.slug}"
    )
    verb = "remade" if brief.replaced else "waits"
    title = f"briefbot: a proposal for {brief.slug} {verb} for review"
    body = (
        f"Night of {report.run_date.isoformat()}: {brief.edits_applied} edits applied, "
        f"{brief.edits_rejected} rejected, from {brief.relevant} relevant items.\n"
        f"Review: {link}"
    )
    if brief.warnings:
        body += f"\n{len(brief.warnings)} warning(s) for the editor."
    return Message(slug=brief.slug, title=title, body=body)


def notify_night(report: RunReport, *, env: Mapping[str, str] | None = None) -> Outcome:
    """Send the night's messages to every configured target; never raises for a failed target."""
    outcome = Outcome()
    urls = targets(env)
    if not urls or report.mode == "replay":
        return outcome
    review_url = (env if env is not None else os.environ).get(REVIEW_URL_ENV) or None
    # Apprise logs each failure with the target in it; the outcome says it here, without secrets.
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    for url in urls:
        # One Apprise object per target, so a failure names the target it belongs to.
        sender = apprise.Apprise()
        if not sender.add(url):
            outcome.failures.append(f"notify {redact(url)}: not an apprise URL apprise understands")
            continue
        for message in messages(report, review_url=review_url):
            try:
                # A falsy result is a failed delivery (AppriseResult is truthy on success).
                sent = bool(sender.notify(title=message.title, body=message.body, timeout=20))
            except Exception as exc:  # a plugin's own error: report it, the night is done either way
                sent = False
                logging.getLogger(__name__).debug("notifier raised", exc_info=exc)
            if sent:
                outcome.sent.append(message.slug)
            else:
                outcome.failures.append(f"notify {redact(url)}: {message.slug}: not delivered")
    return outcome
