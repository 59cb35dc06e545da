"""Notifications after a night: a real apprise `json://` webhook on a local server receives one
message per brief whose proposal the night wrote; a failing target is a warning, not a failure."""

from __future__ import annotations

import datetime as dt
import json
import socket

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from _openai_server import OpenAIServer
from _pipeline_world import SLUG, World, llm_env, make_root, responder, world  # noqa: F401  # fixture
from briefbot.cli import main
from briefbot.pipeline.notify import messages, notify_night, redact, targets
from briefbot.pipeline.report import BriefReport, RunReport

NOW = dt.datetime(2026, 5, 24, tzinfo=dt.UTC)


def _report(*briefs: BriefReport, mode: str = "live") -> RunReport:
    return RunReport(run_id=1, run_date=NOW.date(), mode=mode, started_at=NOW, briefs=list(briefs))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_one_message_per_brief_with_a_proposal_to_a_real_webhook(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    report = _report(
        BriefReport(slug="gap", proposal="briefs/gap/proposals/pending.json", edits_applied=3, relevant=4),
        BriefReport(slug="quiet"),  # nothing proposed: no message
    )
    env = {
        "BRIEFBOT_NOTIFY": f"json://127.0.0.1:{httpserver.port}/hook",
        "BRIEFBOT_REVIEW_URL": "https://briefs.example.org/",
    }
    outcome = notify_night(report, env=env)
    assert outcome.sent == ["gap"] and outcome.failures == []
    (request, _), *rest = httpserver.log
    assert rest == []
    sent = json.loads(request.get_data())
    assert sent["title"] == "briefbot: a proposal for gap waits for review"
    assert "3 edits applied, 0 rejected, from 4 relevant items" in sent["message"]
    assert "https://briefs.example.org/b/gap/proposal" in sent["message"]


def test_a_failing_target_is_reported_without_its_secret_and_others_still_sent(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    dead = f"json://user:s3cret-token@127.0.0.1:{_free_port()}/hook"
    env = {"BRIEFBOT_NOTIFY": f"{dead}, json://127.0.0.1:{httpserver.port}/hook"}
    report = _report(BriefReport(slug="gap", proposal="p.json"))
    outcome = notify_night(report, env=env)
    assert outcome.sent == ["gap"]
    assert len(outcome.failures) == 1 and "not delivered" in outcome.failures[0]
    assert "s3cret" not in outcome.failures[0] and "127.0.0.1" in outcome.failures[0]
    assert len(httpserver.log) == 1


def test_nothing_is_sent_without_targets_or_on_a_replay(httpserver: HTTPServer) -> None:
    report = _report(BriefReport(slug="gap", proposal="p.json"))
    assert notify_night(report, env={}).sent == []
    env = {"BRIEFBOT_NOTIFY": f"json://127.0.0.1:{httpserver.port}/hook"}
    assert (
        notify_night(_report(BriefReport(slug="gap", proposal="p.json"), mode="replay"), env=env).sent == []
    )
    assert httpserver.log == []
    assert targets({"BRIEFBOT_NOTIFY": " a://x ,b://y  c://z"}) == ["a://x", "b://y", "c://z"]
    assert redact("slack://T000/B000/XXXXSECRET") == "slack://T000/…"
    assert messages(report, review_url=None)[0].body.endswith("Review: briefbot review gap")


def test_a_night_notifies_and_a_dead_notifier_does_not_change_its_exit(
    tmp_path, world: World, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    project = make_root(tmp_path, world)
    with OpenAIServer(responder()) as llm:
        env = {
            **llm_env(llm),
            "BRIEFBOT_NOTIFY": f"json://127.0.0.1:{httpserver.port}/hook json://127.0.0.1:{_free_port()}/x",
        }
        result = CliRunner().invoke(
            main, ["--root", str(project.root), "run", "--date", "2026-05-24"], env=env
        )
    assert result.exit_code == 0, result.output
    assert len(httpserver.log) == 1
    assert SLUG in json.loads(httpserver.log[0][0].get_data())["title"]
    said = result.output + result.stderr
    assert "notify json://127.0.0.1" in said and "not delivered" in said
