"""Test data for the web tests, made through the public functions so it follows the real formats:
the seed brief (v7) and its derived v6 are imported with `textformat.parse_text`, and the pending
proposal is made by `review.make_proposal` from an edit batch built from the shared models.
A test module imports the `project` fixture (that project under tmp_path) and `client` (the app
on it, as editor "ada") to use them.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from briefbot import review
from briefbot.brief.textformat import parse_text
from briefbot.models import (
    AddTension,
    AddTimelineEntry,
    BatchItem,
    EditBatch,
    ReviseSection,
    UpdatePerspective,
)
from briefbot.project import Project
from briefbot.web import create_app

SLUG = "open-model-capability-gap"
V6 = Path(__file__).resolve().parents[1] / "fixtures" / "demo" / "v6.txt"
XSS_TITLE = "<img src=x onerror=alert(1)>"
RUN_DATE = dt.date(2026, 5, 25)
NOW = dt.datetime(2026, 5, 25, 6, 0, tzinfo=dt.UTC)


def batch() -> EditBatch:
    items = [
        BatchItem(
            ref="new:1",
            url="https://example.org/epoch-update",
            title=XSS_TITLE,
            publisher="Epoch AI <script>alert(2)</script>",
            published="2026-05-24",
            origin="feed:epoch",
            text="Epoch AI now puts the open-weight lag at about four months on the ECI, up from three, "
            "after the mid-May release wave was scored. <b>bold?</b>",
        ),
        BatchItem(
            ref="new:2",
            url="https://example.org/caisi-reply",
            title="CAISI answers its critics on benchmark harnesses",
            publisher="NIST",
            published="2026-05-24",
            origin="reactive:open-model-capability-gap",
            text="CAISI said its evaluation of DeepSeek V4 Pro used agentic harnesses for coding tasks and "
            "that it stands by its widening-gap conclusion. Florian Brand disagreed.",
        ),
    ]
    edits = [
        AddTimelineEntry(
            op="add_timeline_entry",
            date="2026-05-24",
            text="Epoch AI revises its ECI estimate of the open-weight lag to about four months [new:1]",
            summary="Epoch AI now puts the open-weight lag at about four months [new:1]",
            significance="major",
        ),
        UpdatePerspective(
            op="update_perspective",
            actor="CAISI (NIST)",
            stance=None,
            evolution="Answered its critics with Harnessgate data: says its DeepSeek V4 Pro evaluation used agentic harnesses and stands by the widening-gap conclusion [new:2]",
            summary="CAISI stands by its widening-gap conclusion and says it used agentic harnesses [new:2]",
            significance="minor",
        ),
        AddTension(
            op="add_tension",
            text="CAISI says its harnesses were agentic [new:2]; Florian Brand's critique rests on them being bare bash loops [1]",
            summary="A new dispute over whether CAISI's harnesses were agentic [new:2][1]",
            significance="minor",
        ),
        ReviseSection(
            op="revise_section",
            section="status",
            text="active and contested [new:9]",
            summary="Status now contested [new:9]",
            significance="minor",
        ),
    ]
    return EditBatch(items=items, edits=edits)


def make_project(root: Path, seed_text: str) -> Project:
    """A project with v6 and v7 of the seed brief published and a pending proposal for v8."""
    project = Project(root)
    project.publish(SLUG, parse_text(V6.read_text(encoding="utf-8"), path=str(V6)))
    project.publish(SLUG, parse_text(seed_text))
    review.make_proposal(project, SLUG, batch(), run_date=RUN_DATE, now=NOW)
    return project


@pytest.fixture
def project(tmp_path: Path, seed_text: str) -> Project:
    return make_project(tmp_path / "root", seed_text)


@pytest.fixture
def client(project: Project) -> Iterator[TestClient]:
    with TestClient(create_app(project, clock=lambda: NOW, approver="ada")) as c:
        yield c


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """`app` under a real uvicorn on a free loopback port, as `briefbot serve` runs it; yields the port."""
    import uvicorn  # the server package, only for the tests that need a real one

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", server_header=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()
