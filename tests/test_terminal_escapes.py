"""Terminal escape injection (issue 17, item 5): fetched text never reaches the editor's terminal as
control sequences, bidi overrides or rich markup.

A real local feed server serves item titles carrying an OSC title change (`ESC ] 0 ; ... BEL`), a
screen clear (`ESC [ 2 J`), a C1 CSI (U+009B), bidi overrides and rich markup. The real `briefbot`
binary collects them, then `items`, `review`, `diff` and `render` run under a pseudo-terminal (so
rich believes it writes to a terminal and styles its output). What the store holds and what each
command prints must be free of them, while the words stay visible. The pure cleaning function
(`briefbot.untrusted.clean_text`) is pinned by unit tests at the end.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from pathlib import Path

import pytest

from _openai_server import OpenAIServer
from _pipeline_world import (  # noqa: F401  # world is a fixture
    DATE,
    SLUG,
    STORIES,
    World,
    llm_env,
    make_root,
    responder,
    world,
)
from briefbot.untrusted import clean_text

BRIEFBOT = str(Path(sys.executable).parent / "briefbot")  # this venv's, not PATH's

# Story 2 is the one the scripted proposer cites, so its title reaches the review cards too.
# Rich markup too: a stray closing tag (which rich refuses with an error) and a style.
MARKUP = "[/b]"
HOSTILE_TITLE = (
    f"{MARKUP} Model B \x1b]0;pwned\x07tops a \x1b[2Jcoding \u202eleaderboard\u202c [bold red]x[/]"
)
CLEAN_TITLE = f"{MARKUP} Model B tops a coding leaderboard [bold red]x[/]"
# JSON Feed keeps what XML cannot carry: a raw C1 CSI and a NUL, and an isolate in the feed's title.
JSON_TITLE = "Old \x9b31mnews\x00 from \x1b[1;1Hafar \u2067[link=http://evil.example]y[/link]\u2069"
JSON_CLEAN = "Old news from afar [link=http://evil.example]y[/link]"
JSON_PUBLISHER = "Side \x1b]8;;http://evil.example\x07wire\x1b]8;;\x07"

_SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own styling: the only escapes a command may print...
# ...but for a live progress bar, which also hides the cursor and redraws its lines.
_PROGRESS = re.compile(r"\x1b\[[0-9;]*m|\x1b\[[0-9]*[AK]|\x1b\[\?25[lh]|\r")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def run_in_pty(args: list[str], env: dict[str, str], *, timeout: float = 60) -> tuple[int, str]:
    """Run the real binary with a pseudo-terminal as stdin, stdout and stderr; its exit status and
    everything it wrote (decoded as the UTF-8 it is)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))  # wide: nothing folds
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    # The terminal turns each \n into \r\n (onlcr); that \r is the pty's, not the program's.
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def assert_terminal_safe(output: str, *, visible: list[str], progress: bool = False) -> None:
    unstyled = (_PROGRESS if progress else _SGR).sub("", output)
    found = _FORBIDDEN.search(unstyled)
    if found:
        bad = sorted({f"U+{ord(c):04X} {unicodedata.name(c, '')}" for c in _FORBIDDEN.findall(unstyled)})
        context = unstyled[max(found.start() - 200, 0) : found.end() + 200]
        pytest.fail(f"control or bidi characters reached the terminal: {bad}, first in:\n{context!r}")
    assert "Traceback" not in unstyled, unstyled[-3000:]
    for words in visible:
        assert words in unstyled, f"{words!r} is not shown:\n{unstyled}"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    return {**env, **(extra or {})}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BRIEFBOT, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def hostile_root(tmp_path: Path, world: World) -> Path:
    world.stories = [
        (f"{MARKUP} {STORIES[0][0]}", STORIES[0][1]),
        (HOSTILE_TITLE, STORIES[1][1]),
        (f"{MARKUP} {STORIES[2][0]}", STORIES[2][1]),
    ]
    json_feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": JSON_PUBLISHER,
        "items": [
            {
                "id": "old-1",
                "url": world.url_for("/old/1"),
                "title": JSON_TITLE,
                "content_text": "Line one\x1b[2K.\nLine two \u202ereversed\u202c.",
                "date_published": "2020-01-02T08:00:00Z",  # long before v6: stored stale, never triaged
            }
        ],
    }
    world.expect_request("/feed.json").respond_with_json(json_feed)
    root = make_root(tmp_path, world).root
    feeds = (root / "feeds.yaml").read_text(encoding="utf-8")
    side = f"  - name: side\n    url: {world.url_for('/feed.json')}\n"
    (root / "feeds.yaml").write_text(feeds.replace("http:\n", side + "http:\n"), encoding="utf-8")
    collected = _run(["--root", str(root), "collect"], _env())
    assert collected.returncode == 0, collected.stdout + collected.stderr
    return root


def test_items_under_a_terminal_show_words_not_escapes(hostile_root: Path) -> None:
    code, output = run_in_pty([BRIEFBOT, "--root", str(hostile_root), "items"], _env())
    assert code == 0, output
    assert "\x1b[" in output  # rich did style its table: it took the pty for a terminal
    assert_terminal_safe(output, visible=[CLEAN_TITLE, JSON_CLEAN, "[/b] Lab Alpha opens Model A weights"])

    with sqlite3.connect(hostile_root / ".briefbot" / "state.db") as conn:
        rows = dict(conn.execute("SELECT guid, title FROM items").fetchall())
        publishers = {p for (p,) in conn.execute("SELECT publisher FROM items")}
        summary = conn.execute("SELECT summary FROM items WHERE guid = 'old-1'").fetchone()[0]
    assert rows["old-1"] == JSON_CLEAN
    assert CLEAN_TITLE in rows.values()
    assert "Side wire" in publishers
    assert summary == "Line one. Line two reversed."
    for value in [*rows.values(), *publishers, summary]:
        assert not _FORBIDDEN.search(value or ""), repr(value)


def test_review_diff_and_render_under_a_terminal(hostile_root: Path) -> None:
    root = str(hostile_root)
    with OpenAIServer(responder()) as llm:
        # Under the terminal too: the progress bar names each page by its item's title.
        code, output = run_in_pty([BRIEFBOT, "--root", root, "run", "--date", DATE], _env(llm_env(llm)))
    assert code == 0, output
    assert_terminal_safe(output, visible=["report:"], progress=True)

    with sqlite3.connect(hostile_root / ".briefbot" / "state.db") as conn:
        (text,) = conn.execute("SELECT text FROM documents WHERE title LIKE '%Model B%'").fetchone()
        titles = [t for (t,) in conn.execute("SELECT title FROM documents")]
    # The page's parser already drops ESC and BEL (what is left, "]0;pwned", is inert text); the
    # bidi overrides it keeps are the store's to remove.
    assert "coding leaderboard [bold red]x[/]" in text
    for value in [text, *titles]:
        assert not _FORBIDDEN.search(value or ""), repr(value)

    code, output = run_in_pty([BRIEFBOT, "--root", root, "review", SLUG], _env())
    assert code == 0, output
    assert_terminal_safe(
        output, visible=[CLEAN_TITLE, "Model B tops a coding leaderboard, narrowing the gap"]
    )

    approved = _run(["--root", root, "approve", SLUG], _env())
    assert approved.returncode == 0, approved.stdout + approved.stderr
    code, output = run_in_pty([BRIEFBOT, "--root", root, "diff", SLUG, "6", "7", "--color"], _env())
    assert code == 0, output
    assert_terminal_safe(output, visible=["Model B tops a coding leaderboard"])
    code, output = run_in_pty([BRIEFBOT, "--root", root, "render", SLUG, "--format", "text"], _env())
    assert code == 0, output
    assert_terminal_safe(output, visible=[CLEAN_TITLE])
    brief = json.loads(
        (hostile_root / "briefs" / SLUG / "versions" / "v0007.json").read_text(encoding="utf-8")
    )
    assert any(s["title"] == CLEAN_TITLE for s in brief["sources"])


# -- the pure function -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "multiline", "clean"),
    [
        # Escape sequences go whole: their parameters are not words and would only be noise.
        ("a\x1b]0;pwned\x07b", False, "ab"),
        ("a\x1b]0;pwned\x1b\\b", False, "ab"),
        ("a\x1b[2Jb\x1b[1;31mc", False, "abc"),
        ("a\x9b31mb\x9d0;t\x9cc", False, "abc"),
        ("a\x1bcb", False, "ab"),  # RIS, a reset of the whole terminal
        # An unterminated sequence loses its introducer; what follows stays as visible text.
        ("a\x1b]0;never ends", False, "a]0;never ends"),
        ("nul\x00 bel\x07 bs\x08 del\x7f nel\x85 csi\x9b", False, "nul bel bs del nel csi"),
        ("\u202eevil\u202c \u2066iso\u2069 \u202aemb\u202b\u202d", False, "evil iso emb"),
        # Titles are one line: tabs and line breaks become spaces (words stay apart).
        ("one\ttwo\nthree\r\nfour\rfive", False, "one two three four five"),
        # Text keeps its lines and tabs; a carriage return (which rewrites the line on a
        # terminal) becomes a line break.
        ("one\ttwo\nthree\r\nfour\rfive\x0cx\x0by", True, "one\ttwo\nthree\nfour\nfivexy"),
    ],
)
def test_clean_text_strips_controls(raw: str, multiline: bool, clean: str) -> None:
    assert clean_text(raw, multiline=multiline) == clean


@pytest.mark.parametrize(
    "ordinary",
    [
        "Lab Alpha opens Model A weights",
        "Émile Zola à l'Élysée — «citation» · 5 € ½",
        "模型发布：开源权重 日本語のテキスト 한국어",
        "🚀 launch 👩🏽‍💻 team 🇪🇺 flag",  # zero-width joiners and regional indicators survive
        "שלום עולם مرحبا بالعالم",  # right-to-left letters
        "RTL with marks \u200fא\u200e and \u061c",  # LRM, RLM and ALM are kept (see untrusted.py)
        "[bold red]markup[/] stays text; [1] citations too",
        "",
    ],
)
def test_clean_text_keeps_ordinary_text(ordinary: str) -> None:
    assert clean_text(ordinary, multiline=False) == ordinary
    assert clean_text(ordinary + "\n\tnext", multiline=True) == ordinary + "\n\tnext"
