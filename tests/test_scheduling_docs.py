"""The scheduling examples in docs/scheduling/: valid, and their command lines run a night.

Each example names the paths of a real install: briefbot in a venv at /opt/briefbot/.venv, the
project in /srv/briefbot, the secrets in /etc/briefbot/env, the log in /var/log/briefbot. The
tests parse each example, then run its command line with those paths swapped for this test
environment's (this venv's briefbot, a copy of the demo project, files in tmp) and the demo's
recorded night appended (`--replay fixtures/demo/recording --date 2026-05-24`), offline.
"""

from __future__ import annotations

import fcntl
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from briefbot.cli.demo import DEMO_LLM_ENV, DEMO_SLUG, prepare_root
from conftest import REPO

DOCS = REPO / "docs" / "scheduling"
RECORDING = REPO / "fixtures" / "demo" / "recording"
REPLAY = ["--replay", str(RECORDING), "--date", "2026-05-24"]
# This test environment's briefbot: the venv running the tests (not resolved: a venv's python is a symlink).
BRIEFBOT = Path(sys.executable).parent / "briefbot"

# The install the examples describe.
VENV_BRIEFBOT = "/opt/briefbot/.venv/bin/briefbot"

PROJECT = "/srv/briefbot"
ENV_FILE = "/etc/briefbot/env"
LOG_FILE = "/var/log/briefbot/run.jsonl"


def _require(tool: str, package: str) -> None:
    """The docs' commands are run for real: a missing tool fails the test (CI installs them, .ci/run)."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (Debian package {package}): the documented commands need it")


# What cron and systemd give a command: no venv on PATH, so only an absolute path finds briefbot.
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
# Exit codes of a night: 0 complete, 1 partial (the demo's recorded night is partial), 2 error.
NIGHT_DONE = {0, 1}

_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


# --- helpers ---------------------------------------------------------------------------------


def _cron_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _check_cron(line: str) -> None:
    fields = line.split(None, 5)
    assert len(fields) == 6, f"cron line needs 5 time fields and a command: {line!r}"
    for field, (low, high) in zip(fields[:5], _CRON_RANGES, strict=False):
        assert _CRON_FIELD.match(field), f"bad cron field {field!r}"
        for number in re.findall(r"\d+", field.split("/")[0]):
            assert low <= int(number) <= high, f"cron field {field!r} out of range {low}-{high}"
    assert "briefbot" in fields[5] and "run" in fields[5]


def _unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as {section: {key: [values in order]}} (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = (pending + raw.strip()) if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a key=value line in a section: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _env_assignments(values: list[str]) -> dict[str, str]:
    """Environment= values (`A=b "C=d e"`) or EnvironmentFile lines, as systemd reads them."""
    env: dict[str, str] = {}
    for value in values:
        for word in shlex.split(value, comments=True):
            key, sep, val = word.partition("=")
            assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"bad assignment {word!r}"
            env[key] = val
    return env


def _env_file(text: str) -> dict[str, str]:
    return _env_assignments([line for line in text.splitlines() if line.strip()])


def _with_replay(argv: list[str]) -> list[str]:
    """The command line with the demo's recorded night appended after `run`."""
    assert argv.count("run") == 1, argv
    at = argv.index("run") + 1
    return [*argv[:at], *REPLAY, *argv[at:]]


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A copy of the demo project (v6 published, feeds.yaml, brief.yaml), as tests/test_demo.py makes it."""
    return prepare_root(tmp_path / "srv" / "briefbot")


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """/etc/briefbot/env for the demo: the example's keys, with the values the recording was made with."""
    example = _env_file((DOCS / "briefbot.env").read_text())
    env = {key: "" for key in example} | DEMO_LLM_ENV | {"BRIEFBOT_NOTIFY": "json://127.0.0.1:9/"}
    path = tmp_path / "etc" / "briefbot" / "env"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"{key}={shlex.quote(value)}\n" for key, value in env.items()))
    return path


def _assert_night(root: Path, code: int, log: str) -> list[dict]:
    """The night ran through (exit 0 or 1), left a pending proposal and logged JSON lines only."""
    assert code in NIGHT_DONE, f"exit {code}\n{log}"
    assert (root / "briefs" / DEMO_SLUG / "proposals" / "pending.json").is_file(), log
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    finished = [line for line in lines if line.get("event") == "run_finished"]
    assert len(finished) == 1 and finished[0]["exit_code"] == code and finished[0]["mode"] == "replay", lines
    return lines


# --- cron ------------------------------------------------------------------------------------


def _cron_command() -> str:
    (line,) = _cron_lines((DOCS / "briefbot.cron").read_text())
    _check_cron(line)
    return line.split(None, 5)[5]


def test_cron_line_is_valid() -> None:
    command = _cron_command()
    assert "%" not in command, "cron turns % into a newline"
    words = shlex.split(command)
    # Overlapping starts skip: flock -n on a lock file of the project, around briefbot itself.
    at = words.index("flock")
    assert words[at + 1] == "-n" and words[at + 2] == f"{PROJECT}/.briefbot/cron.lock"
    assert words[at + 3] == VENV_BRIEFBOT, "briefbot by the venv's absolute path, right after flock"
    assert words[at + 4 : at + 7] == ["--log-format", "json", "run"]
    assert f">> {LOG_FILE} 2>&1" in command
    assert f". {ENV_FILE}" in command and "set -a" in command


def test_cron_checker_rejects_bad_lines() -> None:
    with pytest.raises(AssertionError):
        _check_cron("61 2 * * * briefbot run")
    with pytest.raises(AssertionError):
        _check_cron("30 2 * * briefbot run")


def _cron_for(root: Path, secrets: Path, log: Path) -> str:
    command = _cron_command().replace(VENV_BRIEFBOT, str(BRIEFBOT))
    command = command.replace(ENV_FILE, str(secrets)).replace(LOG_FILE, str(log)).replace(PROJECT, str(root))
    replayed = f"{BRIEFBOT} --log-format json run {shlex.join(REPLAY)}"
    assert command.count(f"{BRIEFBOT} --log-format json run ") == 1
    return command.replace(f"{BRIEFBOT} --log-format json run", replayed)


def test_cron_line_runs_a_night_and_skips_an_overlapping_start(
    demo_project: Path, secrets: Path, tmp_path: Path
) -> None:
    _require("flock", "util-linux")
    log = tmp_path / "log" / "run.jsonl"
    log.parent.mkdir()
    command = _cron_for(demo_project, secrets, log)
    # Cron runs the command with /bin/sh from the user's home.
    env = BASE_ENV | {"HOME": str(tmp_path), "SHELL": "/bin/sh"}

    # A night still running holds the lock: this start exits at once and does nothing.
    lock = demo_project / ".briefbot" / "cron.lock"
    lock.parent.mkdir()
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        skipped = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, env=env, timeout=60)
    assert skipped.returncode == 1
    assert log.read_text() == "" and not (demo_project / ".briefbot" / "runs").exists()

    done = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, env=env, timeout=300)
    _assert_night(demo_project, done.returncode, log.read_text())


# --- systemd ---------------------------------------------------------------------------------


def test_systemd_units_say_what_the_docs_say() -> None:
    service = _unit((DOCS / "briefbot.service").read_text())["Service"]
    argv = shlex.split(service["ExecStart"][-1])
    assert argv[0] == VENV_BRIEFBOT, "ExecStart names the venv's briefbot by its absolute path"
    assert argv[1:] == ["--log-format", "json", "run"]
    assert service["WorkingDirectory"] == [PROJECT]
    assert _env_assignments(service["Environment"]) == {"BRIEFBOT_ROOT": PROJECT}
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["SuccessExitStatus"] == ["1"] and service["Type"] == ["oneshot"]
    timer = _unit((DOCS / "briefbot.timer").read_text())
    assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Unit"] == ["briefbot.service"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_env_file_reads_alike_in_systemd_and_sh(tmp_path: Path) -> None:
    text = (DOCS / "briefbot.env").read_text()
    systemd = _env_file(text)
    assert {"OPENAI_API_KEY", "BRIEFBOT_NOTIFY"} <= set(systemd)
    script = f"set -a; . {shlex.quote(str(DOCS / 'briefbot.env'))}; set +a; env -0"
    out = subprocess.run(["/bin/sh", "-c", script], env=BASE_ENV, capture_output=True, text=True, check=True)
    sourced = dict(entry.split("=", 1) for entry in out.stdout.split("\0") if "=" in entry)
    assert {key: sourced.get(key) for key in systemd} == systemd


def test_systemd_units_verify(tmp_path: Path) -> None:
    _require("systemd-analyze", "systemd")
    # verify checks that ExecStart's program exists: point it at this venv's briefbot.
    (tmp_path / "briefbot.service").write_text(
        (DOCS / "briefbot.service").read_text().replace(VENV_BRIEFBOT, str(BRIEFBOT))
    )
    shutil.copy(DOCS / "briefbot.timer", tmp_path / "briefbot.timer")
    result = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "briefbot.timer"),
            str(tmp_path / "briefbot.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # A bad key or a timer with nothing to trigger makes verify fail (seen: exit 1, "Unknown key").
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "bad unit file" not in result.stderr, result.stderr


def test_systemd_exec_start_runs_a_night(demo_project: Path, secrets: Path, tmp_path: Path) -> None:
    service = _unit((DOCS / "briefbot.service").read_text())["Service"]
    accepted = {0} | {int(code) for value in service["SuccessExitStatus"] for code in value.split()}
    argv = shlex.split(service["ExecStart"][-1])
    argv = _with_replay([str(BRIEFBOT), *argv[1:]])
    cwd = Path(service["WorkingDirectory"][-1].replace(PROJECT, str(demo_project)))
    # systemd: Environment=, then EnvironmentFile= over it (the demo's secrets file).
    unit_env = {
        k: v.replace(PROJECT, str(demo_project)) for k, v in _env_assignments(service["Environment"]).items()
    }
    assert service["EnvironmentFile"] == [ENV_FILE]
    env = BASE_ENV | {"HOME": str(tmp_path)} | unit_env | _env_file(secrets.read_text())
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.stdout == ""  # the journal gets JSON lines only, from stderr
    assert result.returncode in accepted
    _assert_night(demo_project, result.returncode, result.stderr)


# --- CI schedule (GitHub Actions) ------------------------------------------------------------


def _workflow() -> dict:
    return yaml.safe_load((DOCS / "nightly.yml").read_text())


def _steps() -> list[dict]:
    return _workflow()["jobs"]["run"]["steps"]


def _step(step_id: str) -> dict:
    (step,) = [s for s in _steps() if s.get("id") == step_id]
    return step


def test_workflow_is_valid_yaml_with_schedule() -> None:
    workflow = _workflow()
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons
    for cron in crons:
        _check_cron(cron + " briefbot run")
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_workflow_keeps_briefbot_state_between_nights() -> None:
    steps = _steps()
    uses = [s.get("uses", "") for s in steps]
    restore = steps[next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))]
    save = steps[next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save@"))]
    for step in (restore, save):
        assert step["with"]["path"].split() == [".briefbot"]
        # A key per run (cache entries are immutable), found again by its prefix the next night.
        assert "${{ github.run_id }}" in step["with"]["key"]
    assert restore["with"]["key"].startswith(restore["with"]["restore-keys"].strip())
    assert (
        steps.index(restore) < steps.index(_step("night")) < steps.index(_step("publish")) < steps.index(save)
    )
    # State is saved only once the proposals it speaks of are pushed.
    assert "steps.publish.outcome == 'success'" in save["if"]
    assert "!cancelled()" in _step("publish")["if"]
    assert "briefbot --log-format json run" in _step("night")["run"]
    publish = _step("publish")["run"]
    assert "git add -A -- briefs" in publish and "git push" in publish and "gh pr create" in publish


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _expand(value: str, context: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"no test value for the expression {match.group(0)}"
        return context[match.group(1)]

    return _EXPRESSION.sub(one, value)


def _run_step(
    step: dict, *, cwd: Path, env: dict[str, str], context: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A `run:` step the way the runner does it: bash -e -o pipefail, the workflow's and the step's env."""
    workflow_env = {k: _expand(str(v), context) for k, v in _workflow().get("env", {}).items()}
    step_env = {k: _expand(str(v), context) for k, v in step.get("env", {}).items()}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=env | workflow_env | step_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _git(cwd: Path, *args: str) -> str:
    env = BASE_ENV | {"HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def test_workflow_night_commits_the_proposals_for_review(demo_project: Path, tmp_path: Path) -> None:
    _require("git", "git")
    # The repository: the demo project on main (with init's .gitignore), pushed to a bare origin,
    # then cloned as actions/checkout with fetch-depth 0 leaves it.
    (demo_project / ".gitignore").write_text(".briefbot/\n")
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    _git(demo_project, "init", "-q", "-b", "main")
    _git(demo_project, "add", "-A")
    _git(demo_project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "project")
    _git(demo_project, "push", "-q", str(origin), "main")
    work = tmp_path / "work"
    _git(tmp_path, "clone", "-q", str(origin), str(work))

    # gh, as a stub that logs its arguments (no open pull request yet).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh_log = tmp_path / "gh.log"
    (bin_dir / "gh").write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(gh_log))}\n')
    (bin_dir / "gh").chmod(0o755)
    outputs = tmp_path / "github_output"
    env = BASE_ENV | {
        # setup-python and `pip install .` put briefbot on PATH.
        "PATH": f"{bin_dir}:{BRIEFBOT.parent}:{BASE_ENV['PATH']}",
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITHUB_OUTPUT": str(outputs),
    }
    context = {
        "github.ref_name": "main",
        "secrets.OPENAI_API_KEY": DEMO_LLM_ENV["OPENAI_API_KEY"],
        "secrets.BRIEFBOT_NOTIFY": "",
        "github.token": "not-a-token",
    }

    branch = _run_step(_step("branch"), cwd=work, env=env, context=context)
    assert branch.returncode == 0, branch.stderr
    night_step = dict(_step("night"))
    assert night_step["run"].count("briefbot --log-format json run\n") == 1
    night_step["run"] = night_step["run"].replace(
        "briefbot --log-format json run\n", f"briefbot --log-format json run {shlex.join(REPLAY)}\n"
    )
    # The demo's recording was made against its own endpoint; the secret gives the key.
    night = _run_step(
        night_step, cwd=work, env=env | {"OPENAI_BASE_URL": DEMO_LLM_ENV["OPENAI_BASE_URL"]}, context=context
    )
    assert night.returncode == 0, night.stdout + night.stderr
    code = int(re.search(r"^status=(\d)$", outputs.read_text(), re.M).group(1))
    _assert_night(work, code, night.stderr)

    publish = _run_step(_step("publish"), cwd=work, env=env, context=context)
    assert publish.returncode == 0, publish.stdout + publish.stderr
    files = _git(origin, "ls-tree", "-r", "--name-only", "briefbot/proposals").split()
    assert f"briefs/{DEMO_SLUG}/proposals/pending.json" in files
    assert not [f for f in files if f.startswith(".briefbot/") or f.endswith("/.lock")], files
    calls = gh_log.read_text().splitlines()
    assert calls[0].startswith("pr list --head briefbot/proposals --base main")
    assert calls[1].startswith("pr create --head briefbot/proposals --base main")

    # The next night continues on the branch, with what editors changed on main merged in.
    (demo_project / "feeds.yaml").write_text((demo_project / "feeds.yaml").read_text() + "# edited\n")
    _git(demo_project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "an editor's change")
    _git(demo_project, "push", "-q", str(origin), "main")
    again = tmp_path / "again"
    _git(tmp_path, "clone", "-q", str(origin), str(again))
    branch = _run_step(_step("branch"), cwd=again, env=env, context=context)
    assert branch.returncode == 0, branch.stderr
    assert (again / "briefs" / DEMO_SLUG / "proposals" / "pending.json").is_file()
    assert (again / "feeds.yaml").read_text().endswith("# edited\n")
    assert _git(again, "rev-parse", "--abbrev-ref", "HEAD").strip() == "briefbot/proposals"
