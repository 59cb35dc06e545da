"""Only fresh news is weighed (issue 15.9): an item published before its brief's latest version date
minus `fresh_days` (before a first version: the run date minus `draft_fresh_days`) is stored as
`stale` and never reaches triage; an item dated only by its fetch time is always weighed.

Nights run through the real CLI against the local feed and page server of tests/_pipeline_world.py
and the scripted OpenAI-compatible server, whose triage prompts are read to see what was weighed;
the collect stage alone runs against tests/_collect_servers.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from pathlib import Path

import pytest

from _collect_servers import FeedServer, Route
from _openai_server import OpenAIServer, Reply, Request, fenced_items
from _pipeline_world import SLUG, World, make_root, run_night, world  # noqa: F401  # world is a fixture
from briefbot.collect.freshness import Sourced, fresh_since, source_urls
from briefbot.collect.stage import CollectReport, collect
from briefbot.config import load_config
from briefbot.errors import ConfigError
from briefbot.http import HttpSettings, make_client
from briefbot.models import Brief, CandidateItem
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import items as item_store

# v6 (the pipeline world's latest version) is dated 2026-05-23: with the default 7 days, items
# published before 2026-05-16 are stale. The nights run on 2026-05-24.
RETRO = ("Open models, a retrospective from 2008", "2008-03-01")
LAST_WEEK = ("Lab Alpha opens Model A weights", "2026-05-18")
TODAY = ("Model B tops a coding leaderboard", "2026-05-24")
UNDATED = ("Consortium Gamma funds open models", None)
STORIES = [RETRO, LAST_WEEK, TODAY, UNDATED]


class Script:
    """The scripted model: every triaged item relevant, no edits proposed; `fail` answers 400."""

    def __init__(self) -> None:
        self.fail = False
        self.triaged: list[str] = []  # the title line of every item a triage prompt carried

    def __call__(self, request: Request, index: int) -> Reply:
        if self.fail:
            return Reply.error(400, "scripted failure")
        items = fenced_items(request.user)
        if request.body["response_format"]["json_schema"]["name"] != "TriageAnswer":
            return Reply.json({"edits": []})
        self.triaged += [
            next(line for line in body.splitlines() if "title" in line.lower()) for _, _, body in items
        ]
        answer = [
            {"ref": ref, "relevance": "relevant", "reason": "on scope", "perspectives": [], "tensions": []}
            for ref, _, _ in items
        ]
        return Reply.json({"items": answer})

    def weighed(self, story: tuple[str, str | None]) -> int:
        return sum(story[0] in line for line in self.triaged)


def statuses(project: Project) -> dict[str, str]:
    conn = connect(project.state_db)
    try:
        return {s.item.title: s.briefs.get(SLUG, "-") for s in item_store.list_items(conn)}
    finally:
        conn.close()


def test_a_backlog_from_2008_is_stored_stale_and_never_triaged(tmp_path: Path, world: World) -> None:
    world.stories = list(STORIES)
    script = Script()
    with OpenAIServer(script) as llm:
        project = make_root(tmp_path, world)
        code, report, output = run_night(project, llm)
    assert (code, report["status"]) == (0, "done"), output
    # Last week's, today's and the undated item (dated only by its fetch time) are weighed.
    assert [script.weighed(s) for s in STORIES] == [0, 1, 1, 1], script.triaged
    assert statuses(project) == {
        RETRO[0]: "stale",
        LAST_WEEK[0]: "relevant",
        TODAY[0]: "relevant",
        UNDATED[0]: "relevant",
    }
    assert report["pages_fetched"] == 3  # a stale item's page is not even fetched
    assert (report["collected"], report["stale"], report["briefs"][0]["stale"]) == (3, 1, 1)
    assert "3 new, 1 stale (too old to weigh), 0 duplicates" in output


def test_fresh_days_in_brief_yaml_moves_the_cutoff(tmp_path: Path, world: World) -> None:
    world.stories = list(STORIES)
    script = Script()
    with OpenAIServer(script) as llm:
        project = make_root(tmp_path, world)
        config = project.brief_config_file(SLUG)
        config.write_text(config.read_text(encoding="utf-8") + "fresh_days: 0\n", encoding="utf-8")
        code, report, output = run_night(project, llm)
    assert (code, report["status"]) == (0, "done"), output
    # Cutoff 2026-05-23 (v6's own date): last week's item is old news now too.
    assert [script.weighed(s) for s in STORIES] == [0, 0, 1, 1], script.triaged
    assert statuses(project)[LAST_WEEK[0]] == "stale"


def test_a_partial_night_keeps_old_news_out(tmp_path: Path, world: World) -> None:
    world.stories = list(STORIES)
    script = Script()
    with OpenAIServer(script) as llm:
        project = make_root(tmp_path, world, broken=True)
        code, report, output = run_night(project, llm)
    assert (code, report["status"]) == (1, "partial"), output
    assert any(f.startswith("feed broken:") for f in report["failures"])
    assert [script.weighed(s) for s in STORIES] == [0, 1, 1, 1], script.triaged
    assert statuses(project)[RETRO[0]] == "stale"
    assert (report["stale"], report["briefs"][0]["stale"]) == (1, 1)


def test_after_a_failing_night_the_rerun_weighs_the_fresh_items_only(tmp_path: Path, world: World) -> None:
    world.stories = list(STORIES)
    script = Script()
    with OpenAIServer(script) as llm:
        project = make_root(tmp_path, world)
        script.fail = True
        code, report, output = run_night(project, llm)
        assert code != 0 and report["status"] in ("failed", "partial"), output
        assert script.triaged == []
        assert (report["stale"], report["briefs"][0]["stale"]) == (1, 1)
        waiting = statuses(project)
        assert waiting[RETRO[0]] == "stale"
        assert {waiting[s[0]] for s in (LAST_WEEK, TODAY, UNDATED)} == {"extracted"}
        # The same night again, the model answering: the fresh items are weighed, the old one not.
        script.fail = False
        code, report, output = run_night(project, llm)
    assert report["status"] == "done", output
    assert [script.weighed(s) for s in STORIES] == [0, 1, 1, 1], script.triaged
    assert statuses(project)[RETRO[0]] == "stale"
    assert report["stale"] == 0  # counted once, on the night that collected it


# -- the collect stage alone ---------------------------------------------------------------------


def rss(stories: list[tuple[str, str | None]]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://news.example/{n}</link>"
        + (f"<pubDate>{_rfc(day)}</pubDate>" if day else "")
        + "</item>"
        for n, (title, day) in enumerate(stories, start=1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def _rfc(day: str) -> str:
    return email.utils.format_datetime(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(8), dt.UTC))


def _project(root: Path, url: str, *, brief: str = "scope: s\n") -> Project:
    (root / "briefs" / "draft").mkdir(parents=True)
    (root / "briefs" / "draft" / "brief.yaml").write_text(brief, encoding="utf-8")
    (root / "feeds.yaml").write_text(f"feeds:\n  - name: wire\n    url: {url}\n", encoding="utf-8")
    return Project(root)


def _collect(project: Project, *, night: dt.date | None) -> CollectReport:
    config = load_config(project)

    async def go() -> CollectReport:
        conn = connect(project.state_db)
        try:
            async with make_client(HttpSettings(allow_private_networks=True)) as client:
                return await collect(
                    config,
                    client=client,
                    conn=conn,
                    sourced=source_urls(project, config.active_briefs()),
                    night=night,
                    now=dt.datetime(2026, 5, 24, 3, tzinfo=dt.UTC),
                )
        finally:
            conn.close()

    return asyncio.run(go())


def _draft_statuses(project: Project) -> dict[str, str]:
    conn = connect(project.state_db)
    try:
        return {s.item.title: s.briefs["draft"] for s in item_store.list_items(conn)}
    finally:
        conn.close()


DRAFT_STORIES = [("Old", "2008-03-01"), ("April", "2026-04-10"), ("May", "2026-05-18"), ("Undated", None)]
NIGHT = dt.date(2026, 5, 24)


@pytest.mark.parametrize(
    ("brief", "expected"),
    [
        ("scope: s\n", ["stale", "stale", "new", "new"]),  # 30 days before the run date: 2026-04-24
        ("scope: s\ndraft_fresh_days: 60\n", ["stale", "new", "new", "new"]),
    ],
)
def test_a_first_draft_counts_its_window_back_from_the_run_date(
    tmp_path: Path, brief: str, expected: list[str]
) -> None:
    with FeedServer({"/f": Route(body=rss(DRAFT_STORIES))}) as server:
        project = _project(tmp_path, server.url("/f"), brief=brief)
        report = _collect(project, night=NIGHT)
    by_title = _draft_statuses(project)
    assert [by_title[title] for title, _ in DRAFT_STORIES] == expected
    stale = expected.count("stale")
    assert (report.sources[0].new, report.sources[0].stale, report.stale_by_brief) == (
        4 - stale,
        stale,
        {"draft": stale},
    )


def test_items_collected_without_a_run_date_are_swept_by_the_night(tmp_path: Path) -> None:
    with FeedServer({"/f": Route(body=rss(DRAFT_STORIES))}) as server:
        project = _project(tmp_path, server.url("/f"))
        # `briefbot collect`: no run date, so no draft window yet; everything waits at `new`.
        alone = _collect(project, night=None)
        assert set(_draft_statuses(project).values()) == {"new"} and alone.stale_by_brief == {}
        night = _collect(project, night=NIGHT)  # a 304: nothing new, but the old ones are swept
    assert night.sources[0].not_modified
    assert night.stale_by_brief == {"draft": 2}
    assert [_draft_statuses(project)[t] for t, _ in DRAFT_STORIES] == ["stale", "stale", "new", "new"]


def test_cutoffs_come_from_the_version_date_or_the_run_date(tmp_path: Path) -> None:
    project = _project(
        tmp_path, "https://example.org/feed", brief="scope: s\nfresh_days: 3\ndraft_fresh_days: 10\n"
    )
    config = load_config(project)
    held = {"draft": Sourced(version_date=dt.date(2026, 5, 23))}
    assert fresh_since(config, held, night=NIGHT) == {"draft": dt.datetime(2026, 5, 20, tzinfo=dt.UTC)}
    assert fresh_since(config, {"draft": Sourced()}, night=NIGHT) == {
        "draft": dt.datetime(2026, 5, 14, tzinfo=dt.UTC)
    }
    assert fresh_since(config, {"draft": Sourced()}, night=None) == {}
    assert fresh_since(config, {"nobody": Sourced(version_date=NIGHT)}, night=NIGHT) == {}


def _item(n: int, day: str, *, undated: bool = False) -> CandidateItem:
    return CandidateItem(
        url=f"https://news.example/{n}",
        link=f"https://news.example/{n}",
        title=f"Story {n}",
        published=dt.datetime.combine(dt.date.fromisoformat(day), dt.time(8), dt.UTC),
        published_is_fetch_time=undated,
        origin="feed:wire",
        content_hash=f"hash{n}",
    )


def test_the_sweep_leaves_triaged_and_fetch_time_items_alone(tmp_path: Path) -> None:
    conn = connect(tmp_path / "state.db")
    try:
        old = "2008-03-01"
        ids = [item_store.insert_item(conn, _item(n, old, undated=n == 4)) for n in range(1, 5)]
        for item_id in ids:
            item_store.link_brief(conn, item_id, "b")
        item_store.set_status(conn, ids[1], "b", "extracted")
        item_store.set_status(
            conn, ids[2], "b", "irrelevant", night=NIGHT
        )  # tonight's triage: rerun weighs it
        cutoff = dt.datetime(2026, 5, 16, tzinfo=dt.UTC)
        assert item_store.mark_stale(conn, "b", fresh_since=cutoff) == 2
        assert [item_store.too_old(conn, i, fresh_since=cutoff) for i in ids] == [True, True, True, False]
        got = {s.item.id: s.briefs["b"] for s in item_store.list_items(conn)}
        assert [got[i] for i in ids] == ["stale", "stale", "irrelevant", "new"]
    finally:
        conn.close()


def test_a_better_copy_of_a_stale_item_leaves_it_stale(tmp_path: Path) -> None:
    conn = connect(tmp_path / "state.db")
    try:
        item_id = item_store.insert_item(conn, _item(1, "2008-03-01"))
        item_store.link_brief(conn, item_id, "b", status=item_store.STALE)
        item_store.link_brief(conn, item_id, "c")
        copy = _item(2, "2008-03-01").model_copy(update={"origin": "feed:first"})
        assert item_store.adopt_copy(conn, item_id, copy)
        (stored,) = item_store.list_items(conn)
        assert (stored.item.url, stored.briefs) == ("https://news.example/2", {"b": "stale", "c": "new"})
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("fresh_days: -1", "greater than or equal to 0"),
        ("fresh_days: a week", "valid integer"),
        ("draft_fresh_days: 2.5", "valid integer"),
        ("draft_fresh_days: 99999", "less than or equal to 3650"),
    ],
)
def test_a_bad_window_is_a_config_error_naming_file_and_key(tmp_path: Path, line: str, problem: str) -> None:
    project = _project(tmp_path, "https://example.org/feed", brief=f"scope: s\n{line}\n")
    key = line.split(":")[0]
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert str(caught.value).startswith(f"{project.brief_config_file('draft')}: {key}: ")
    assert problem in str(caught.value)


def test_briefbot_collect_counts_stale_items(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from briefbot.cli import main

    with FeedServer({"/f": Route(body=rss(DRAFT_STORIES))}) as server:
        project = _project(tmp_path, server.url("/f"), brief="scope: s\n")
        project.publish("draft", Brief(title="T", state="open", version=1, date="2026-05-23", item_count=0))
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "collect"], env={"BRIEFBOT_ALLOW_PRIVATE_NETWORKS": "1"}
        )
    assert result.exit_code == 0, result.output
    assert "2 new, 2 stale, 0 duplicate, 0 of 1 sources failed" in result.output
