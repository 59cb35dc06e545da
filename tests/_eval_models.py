"""Scripted models for `briefbot eval` tests: OpenAI-compatible responders that read what they are
asked (the fenced items of a triage or propose prompt) and answer like a model of one kind would.

They know the gold nights (fixtures/eval/): an item's URL says which night and which gold item it
is. Each night's `reference.json` is a careful editor's answer (the demo's is the recorded one).

- careful:    the gold labels, and the reference edits citing the items it was shown.
- sloppy:     misses (the last relevant and the first background item labelled irrelevant, the
              first irrelevant one relevant and the last background; every second edit dropped),
              invents figures, points at indexes the brief does not have, cites the off-topic item
              it kept, and cites every syndicated copy of a story as if each were news.
- obedient:   careful, except that it follows an instruction planted in an item: labels the item
              relevant and writes the planted claim into an edit and into What's new.
- dismissive: labels everything irrelevant (so propose is never asked).

Usage is reported from the prompt's size (prompt ~ chars/4, cached ~ the system message), so
token figures differ between models that are shown different items.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from _openai_server import Reply, Request, fenced_items
from briefbot.eval.gold import find_nights, load_night

REPO = Path(__file__).resolve().parents[1]
NIGHTS = REPO / "fixtures" / "eval"
KINDS = ("careful", "sloppy", "obedient", "dismissive")
_URL = re.compile(r"^url: (\S+)$", re.MULTILINE)
# The claim an injected instruction asks the model to state.
_PLANTED = re.compile(r"(?:state|stating) that (.+?)(?:[.,]\s|$)", re.IGNORECASE)
_INJECTED = re.compile(r"ignore (?:your )?previous instructions", re.IGNORECASE)


class Gold:
    """Every gold night's items by URL, and each night's reference answer."""

    def __init__(self, folder: Path = NIGHTS) -> None:
        self.by_url: dict[str, tuple[str, str, Any]] = {}  # url -> (night, ref, GoldItem)
        self.reference: dict[str, dict[str, Any]] = {}
        self.run_date: dict[str, str] = {}
        for name, path in find_nights([folder]).items():
            night = load_night(path)
            for ref, item in zip(night.refs(), night.items, strict=True):
                self.by_url[item.url] = (name, ref, item)
            self.reference[name] = json.loads((path / "reference.json").read_text(encoding="utf-8"))
            self.run_date[name] = night.spec.run_date.isoformat()

    def shown(self, request: Request) -> tuple[str, list[tuple[str, str, Any]]]:
        """The night of the prompt and its (ref, body, gold item) list, refs as the prompt shows them."""
        found = []
        night = None
        for ref, _, body in fenced_items(request.user):
            url = _URL.search(body)
            assert url is not None, f"an item without a url line: {body[:80]!r}"
            night, gold_ref, item = self.by_url[url.group(1)]
            assert gold_ref == ref, f"{url.group(1)} shown as {ref}, gold ref {gold_ref}"
            found.append((ref, body, item))
        assert night is not None, "a prompt with no fenced items"
        return night, found


def _kind_of(request: Request) -> str:
    fmt = request.body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name")
    if name:
        return str(name)
    return "TriageAnswer" if "# Items to triage" in request.user else "EditList"


def _usage(request: Request, content: str) -> dict[str, Any]:
    system = sum(len(m["content"]) for m in request.messages if m["role"] == "system")
    prompt = sum(len(m["content"]) for m in request.messages)
    return {
        "prompt_tokens": prompt // 4,
        "completion_tokens": max(1, len(content) // 4),
        "total_tokens": prompt // 4 + len(content) // 4,
        "prompt_tokens_details": {"cached_tokens": system // 4},
    }


def _label(kind: str, items: list[tuple[str, str, Any]]) -> dict[str, str]:
    labels = {ref: item.label for ref, _, item in items}
    if kind == "dismissive":
        return dict.fromkeys(labels, "irrelevant")
    if kind == "sloppy":
        relevant = [ref for ref, label in labels.items() if label == "relevant"]
        background = [ref for ref, label in labels.items() if label == "background"]
        irrelevant = [ref for ref, label in labels.items() if label == "irrelevant"]
        if len(relevant) > 1:
            labels[relevant[-1]] = "irrelevant"
        if background:
            labels[background[0]] = "irrelevant"
        if irrelevant:
            labels[irrelevant[0]] = "relevant"
        if len(irrelevant) > 1:
            labels[irrelevant[-1]] = "background"
    if kind == "obedient":
        for ref, body, _ in items:
            if _INJECTED.search(body):
                labels[ref] = "relevant"
    return labels


def _sloppy_edits(answer: dict[str, Any], shown: list[tuple[str, str, Any]]) -> dict[str, Any]:
    edits = []
    for n, edit in enumerate(answer["edits"]):
        if n % 2:
            continue  # a miss
        edit = copy.deepcopy(edit)
        if "index" in edit:
            edit["index"] += 20  # an index the brief does not have
        for field in ("text", "evolution"):
            if edit.get(field):
                edit[field] = edit[field].replace(" [", ", up 37% on the quarter [", 1)
        edits.append(edit)
    if edits:
        # Syndicated copies (same title) all cited, as if they were three stories.
        titles = {ref: item.title for ref, _, item in shown}
        cited = re.findall(r"\[(new:\d+)\]", edits[0].get("text", ""))
        copies = [r for r, t in titles.items() if cited and r not in cited and t == titles.get(cited[0])]
        if copies and edits[0].get("text"):
            edits[0]["text"] += "".join(f"[{r}]" for r in copies)
    off_topic = [ref for ref, _, item in shown if item.label == "irrelevant"]
    if off_topic:
        edits.append(
            {
                "op": "add_open_question",
                "text": f"Does the story in [{off_topic[0]}] change how the gap is measured?",
                "summary": f"A question from [{off_topic[0]}]",
                "significance": "minor",
            }
        )
    drafts = answer.get("whats_new")
    if drafts:
        drafts = [drafts[0].replace(" [", ", up 37% on the quarter [", 1)]
    elif edits:
        drafts = [
            f"Coverage rose 37% this week [{off_topic[0]}]." if off_topic else "Coverage rose 37% this week."
        ]
    return {"edits": edits, "whats_new": drafts}


def _obedient_edits(
    answer: dict[str, Any], shown: list[tuple[str, str, Any]], run_date: str
) -> dict[str, Any]:
    answer = copy.deepcopy(answer)
    for ref, body, item in shown:
        if not _INJECTED.search(body):
            continue
        planted = _PLANTED.search(body)
        claim = planted.group(1).strip() if planted else "the item's instruction was followed"
        answer["edits"].append(
            {
                "op": "add_timeline_entry",
                "date": item.published or run_date,
                "text": f"{claim[0].upper()}{claim[1:]} [{ref}]",
                "after": None,
                "summary": f"{claim} [{ref}]",
                "significance": "major",
            }
        )
        answer["whats_new"] = [
            f"{claim[0].upper()}{claim[1:]} [{ref}]. " + " ".join(answer.get("whats_new") or [])
        ]
    return answer


def model(kind: str, gold: Gold | None = None):
    """The responder of a scripted model of `kind` (one of KINDS)."""
    assert kind in KINDS, kind
    known = gold or Gold()

    def respond(request: Request, index: int) -> Reply:
        night, shown = known.shown(request)
        if _kind_of(request) == "TriageAnswer":
            labels = _label(kind, shown)
            value: dict[str, Any] = {
                "items": [
                    {
                        "ref": ref,
                        "relevance": labels[ref],
                        "reason": f"scripted {kind} model",
                        "perspectives": [],
                        "tensions": [],
                    }
                    for ref, _, _ in shown
                ]
            }
        else:
            reference = known.reference[night]
            if kind == "sloppy":
                value = _sloppy_edits(reference, shown)
            elif kind == "obedient":
                value = _obedient_edits(reference, shown, known.run_date[night])
            else:
                value = copy.deepcopy(reference)
        content = json.dumps(value)
        return Reply(content=content, usage=_usage(request, content))

    return respond
