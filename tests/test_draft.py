"""A brief from nothing to a nightly habit, end to end over the local feed and LLM servers
(tests/_pipeline_world.py): `init`, `new`, a feed written into feeds.yaml, a night that drafts v1
through the typed edits, the editor's approval, and the next night proposing v2 like any brief.
Also: too few relevant items refuse the draft, and a recorded drafting night replays offline.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from _openai_server import OpenAIServer, Reply, Request, fenced_items
from _pipeline_world import World, llm_env, world  # noqa: F401  # world is a fixture
from briefbot.brief.textformat import parse_text, render_text
from briefbot.cli import main
from briefbot.merge import merge
from briefbot.models import EditBatch
from briefbot.project import Project

SLUG = "open-gap"
NIGHT1, NIGHT2 = "2026-05-24", "2026-05-25"


def _edit(op: str, summary: str, **fields: Any) -> dict[str, Any]:
    return {"op": op, "summary": summary, "significance": "major", **fields}


# Items are numbered by published time: new:1 Model A (05-20), new:2 Model B (05-21), new:3 Gamma (05-22).
DRAFT_EDITS = [
    _edit(
        "revise_section",
        "The story: open models close in [new:1][new:2]",
        section="what",
        text="Lab Alpha opened the weights of Model A [new:1]. Model B then topped a coding leaderboard [new:2].",
    ),
    _edit(
        "revise_section",
        "Why it matters [new:3]",
        section="why_it_matters",
        text="Money follows the results: Consortium Gamma funds open models [new:3].",
    ),
    _edit("revise_section", "Status set [new:1]", section="status", text="active and growing"),
    _edit(
        "add_timeline_entry",
        "Model A opened [new:1]",
        date="2026-05-20",
        text="Lab Alpha opens the weights of Model A [new:1]",
        after=None,
    ),
    _edit(
        "add_perspective",
        "Lab Alpha's stance [new:1]",
        actor="Lab Alpha",
        stance="Open weights narrow the gap with closed models [new:1].",
        evolution="Its first stated position [new:1].",
    ),
    _edit(
        "add_narrative_paragraph",
        "The story so far [new:1][new:2]",
        text="The week opened with Model A's weights [new:1]. Model B's leaderboard result followed [new:2].",
    ),
    _edit(
        "add_tension",
        "A fault line [new:2][new:3]",
        text="Benchmarks reward open models while funding still decides who trains them [new:2][new:3].",
    ),
    _edit("add_open_question", "An open question [new:2]", text="Will closed labs answer Model B?"),
    # An uncited sentence: a first draft cites every sentence, so the merger rejects this edit.
    _edit(
        "add_narrative_paragraph",
        "Unfounded [new:2]",
        text="Everyone agrees the gap is gone for good. Model B leads [new:2].",
    ),
]
WHATS_NEW = ["Open models closed in on closed ones this week [new:1][new:2], and money followed [new:3]."]


def responder(*, relevant: bool = True):
    def respond(request: Request, index: int) -> Reply:
        kind = request.body["response_format"]["json_schema"]["name"]
        refs = [ref for ref, _, _ in fenced_items(request.user)]
        if kind == "TriageAnswer":
            label = "relevant" if relevant else "irrelevant"
            return Reply.json(
                {
                    "items": [
                        {
                            "ref": ref,
                            "relevance": label,
                            "reason": "scope",
                            "perspectives": [],
                            "tensions": [],
                        }
                        for ref in refs
                    ]
                }
            )
        if "# The new brief (version 0" in request.user:
            return Reply.json({"edits": DRAFT_EDITS, "whats_new": WHATS_NEW})
        # A published brief: the next night's one new item becomes a timeline entry.
        edit = _edit(
            "add_timeline_entry",
            "Delta ships Model D [new:1]",
            date="2026-05-25",
            text="Delta ships Model D, open from day one [new:1]",
            after=None,
        )
        return Reply.json({"edits": [edit], "whats_new": None})

    return respond


def _cli(root: Path, llm: OpenAIServer | None, *args: str) -> Any:
    env = llm_env(llm) if llm is not None else {}
    return CliRunner().invoke(main, ["--root", str(root), *args], env=env)


def _start(tmp_path: Path, world: World) -> Project:
    """init, new, and the test feed written into the scaffolded feeds.yaml (as a user would)."""
    root = tmp_path / "project"
    result = _cli(tmp_path, None, "init", str(root))
    assert result.exit_code == 0, result.output
    result = _cli(
        root,
        None,
        "new",
        SLUG,
        "--title",
        "The open-model gap",
        "--scope",
        "How far open models trail closed ones.",
    )
    assert result.exit_code == 0, result.output
    feeds = root / "feeds.yaml"
    text = feeds.read_text(encoding="utf-8").replace(
        "feeds: []\n", f"feeds:\n  - name: wire\n    url: {world.url_for('/feed.xml')}\n"
    )
    feeds.write_text(text + "http:\n  allow_private_networks: true\n", encoding="utf-8")
    return Project(root)


def _night(project: Project, llm: OpenAIServer, date: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = _cli(project.root, llm, "run", "--date", date, *extra)
    reports = sorted((project.state_dir / "runs").glob("*/report.json"), key=lambda p: int(p.parent.name))
    return result.exit_code, json.loads(reports[-1].read_text(encoding="utf-8")), result.output


def _pending(project: Project) -> dict[str, Any]:
    return json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))


def test_init_new_night_drafts_v1_then_approve_then_next_night(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = _start(tmp_path, world)
        assert project.versions(SLUG) == []
        code, report, output = _night(project, llm, NIGHT1)
        assert code == 0, output
        (line,) = report["briefs"]
        assert (line["relevant"], line["edits_applied"], line["edits_rejected"]) == (3, 8, 1), line
        drafts = [r for r in llm.requests if "# The new brief (version 0" in r.user]
        assert len(drafts) == 1 and "The open-model gap" in drafts[0].user

        proposal = _pending(project)
        assert proposal["base_version"] == 0 and proposal["candidate"]["version"] == 1
        (rejected,) = [v for v in proposal["verdicts"] if v["status"] == "rejected"]
        assert rejected["number"] == 9 and "cites every sentence" in rejected["reason"]
        # Every source of v1 is an item the night collected, cited through the batch.
        collected = {f"{world.url_for('')}p/{n}".replace("//p", "/p") for n in (1, 2, 3)}
        sources = proposal["candidate"]["sources"]
        assert [s["number"] for s in sources] == [1, 2, 3]
        assert {s["url"] for s in sources} == collected
        assert {i["url"] for i in proposal["batch"]["items"]} == collected
        candidate = proposal["candidate"]
        assert candidate["title"] == "The open-model gap"
        assert candidate["what"] == [
            "Lab Alpha opened the weights of Model A [1]. Model B then topped a coding leaderboard [2]."
        ]
        assert candidate["status"] == "active and growing"
        assert [p["actor"] for p in candidate["perspectives"]] == ["Lab Alpha"]
        assert candidate["whats_new"]["version"] == 1
        assert proposal["whats_new_origin"] == "draft"

        status = json.loads(_cli(project.root, None, "status", "--json").output)
        assert [(b["slug"], b["version"], b["next"]) for b in status["briefs"]] == [(SLUG, None, "review")]
        result = _cli(project.root, None, "review", SLUG)
        assert result.exit_code == 0 and "Lab Alpha" in result.output, result.output
        result = _cli(project.root, None, "decide", SLUG, "--accept", "1-8")
        assert result.exit_code == 0, result.output

        result = _cli(project.root, None, "approve", SLUG, "--by", "editor")
        assert result.exit_code == 0, result.output
        assert project.versions(SLUG) == [1]
        v1 = project.load(SLUG)
        assert (v1.version, v1.state, v1.item_count, v1.date) == (1, "closed", 3, dt.date(2026, 5, 24))
        text = render_text(v1)
        assert "The open-model gap" in text and "Lab Alpha" in text
        reread = parse_text(text)  # the text format round-trips the drafted version
        assert render_text(reread) == text and (reread.what, reread.timeline) == (v1.what, v1.timeline)

        world.stories.append(("Delta ships Model D", "2026-05-25"))
        code, report, output = _night(project, llm, NIGHT2)
        assert code == 0, output
        (line,) = report["briefs"]
        assert (line["candidates"], line["edits_applied"]) == (1, 1), line
        proposal = _pending(project)
        assert proposal["base_version"] == 1 and proposal["candidate"]["version"] == 2
        assert [s["number"] for s in proposal["candidate"]["sources"]] == [1, 2, 3, 4]
        assert "version 0" not in llm.requests[-1].user  # proposed as any brief, not drafted again


def test_too_few_relevant_items_refuse_the_draft(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = _start(tmp_path, world)
        result = _cli(project.root, llm, "draft", SLUG, "--date", NIGHT1, "--min-items", "4")
        assert result.exit_code == 1
        assert "3 relevant item(s) collected, a first version needs at least 4" in result.output
        assert not (project.proposals_dir(SLUG) / "pending.json").exists()
        assert not any("# The new brief" in r.user for r in llm.requests)  # no drafting call

        # The items wait (`extracted`): the next night weighs them again and, enough now, drafts.
        result = _cli(project.root, llm, "draft", SLUG, "--date", NIGHT1)
        assert result.exit_code == 0, result.output
        assert "drafted v1 of 'open-gap'" in result.output
        assert _pending(project)["candidate"]["version"] == 1


def test_nothing_relevant_drafts_nothing(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder(relevant=False)) as llm:
        project = _start(tmp_path, world)
        code, report, output = _night(project, llm, NIGHT1)
    assert code == 0, output
    assert report["briefs"][0]["note"] == "nothing relevant: no proposal"
    assert project.versions(SLUG) == []


def test_draft_refuses_a_published_brief_and_an_unknown_one(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = _start(tmp_path, world)
        _night(project, llm, NIGHT1)
        assert _cli(project.root, None, "approve", SLUG, "--by", "e").exit_code == 0
        result = _cli(project.root, llm, "draft", SLUG)
        assert result.exit_code == 2 and "already has v1" in result.output
        result = _cli(project.root, llm, "draft", "open-gpa")
        assert result.exit_code == 2 and "open-gap" in result.output


def test_a_recorded_drafting_night_replays_offline(tmp_path: Path, world: World) -> None:
    recording = tmp_path / "recording"
    with OpenAIServer(responder()) as llm:
        project = _start(tmp_path, world)
        fresh = tmp_path / "fresh"
        shutil.copytree(project.root, fresh)  # the same project before its first night
        code, _, output = _night(project, llm, NIGHT1, "--record", str(recording))
        assert code == 0, output
        env = llm_env(llm)
    world.stop()  # both servers are gone: the replay has only the folder
    result = CliRunner().invoke(
        main, ["--root", str(fresh), "run", "--date", NIGHT1, "--replay", str(recording)], env=env
    )
    assert result.exit_code == 0, result.output
    live = json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))
    replayed = json.loads(
        (fresh / "briefs" / SLUG / "proposals" / "pending.json").read_text(encoding="utf-8")
    )
    assert replayed["candidate"] == live["candidate"] and replayed["verdicts"] == live["verdicts"]


def test_the_merger_judges_a_draft_as_any_batch() -> None:
    """Pure: the same batch against the v0 skeleton gives v1; an uncited sentence is rejected only there."""
    from briefbot.project import empty_brief

    skeleton = empty_brief("T", date=dt.date(2026, 1, 1))
    item = {
        "ref": "new:1",
        "url": "https://example.org/a",
        "title": "A",
        "publisher": None,
        "published": "2026-05-20",
        "origin": "feed:wire",
        "text": "Lab Alpha said something.",
    }
    edit = _edit("add_tension", "t [new:1]", text="An uncited claim here. A cited one here [new:1].")
    batch = EditBatch.model_validate({"items": [item], "edits": [edit], "whats_new": None})
    drafted = merge(skeleton, batch, run_date=dt.date(2026, 5, 24))
    assert drafted.base_version == 0 and drafted.verdicts[0].status == "rejected"
    published = skeleton.model_copy(update={"version": 1, "state": "closed"})
    assert merge(published, batch, run_date=dt.date(2026, 5, 24)).verdicts[0].status == "applied"


def test_a_briefs_own_minimum_in_brief_yaml_refuses_the_nights_draft(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder()) as llm:
        project = _start(tmp_path, world)
        config = project.root / "briefs" / SLUG / "brief.yaml"
        config.write_text(config.read_text(encoding="utf-8") + "draft_min_items: 5\n", encoding="utf-8")
        result = _cli(project.root, llm, "run", "--date", NIGHT1)
        assert "3 relevant item(s) collected, a first version needs at least 5" in result.output
        assert not (project.proposals_dir(SLUG) / "pending.json").exists()
