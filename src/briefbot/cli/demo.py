"""The offline demo: where its fixtures live and the fixed settings its recording was made with."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from briefbot.errors import ConfigError, NotFoundError
from briefbot.llm import LLMSettings

DEMO_DATE = dt.date(2026, 5, 24)
DEMO_SLUG = "open-model-capability-gap"
# The scripted OpenAI-compatible server of fixtures/demo/record.py listens here; the recorded LLM
# exchanges name this URL, so the replay must use it too (nothing listens during a replay).
DEMO_LLM_BASE_URL = "http://127.0.0.1:8766/v1"
DEMO_LLM_ENV = {
    "OPENAI_BASE_URL": DEMO_LLM_BASE_URL,
    "OPENAI_API_KEY": "demo-not-a-key",
}


def demo_llm_settings() -> LLMSettings:
    """Exactly the settings of the recording, whatever this machine's environment says."""
    return LLMSettings.load({}, env=DEMO_LLM_ENV, source="the demo")


def demo_dir() -> Path:
    """`fixtures/demo` of the source tree this package runs from (an editable install)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "fixtures" / "demo"
        if (candidate / "root" / "feeds.yaml").is_file():
            return candidate
    raise NotFoundError(
        "the demo fixtures (fixtures/demo/) are not next to this briefbot installation; "
        "install briefbot from a clone of the repository (pip install -e .) to run the demo"
    )


def recording_dir() -> Path:
    path = demo_dir() / "recording"
    if not path.is_dir():
        raise NotFoundError(
            f"the demo recording {path} is missing; make it with python fixtures/demo/record.py"
        )
    return path


# Written into every demo folder, so running the demo again may replace what an earlier demo made
# without ever deleting a folder the user made themselves.
DEMO_MARKER = ".briefbot-demo"


def prepare_root(target: Path) -> Path:
    """Copy the demo root (v6, feeds.yaml, brief.yaml) into `target`: absent, empty, or an earlier demo."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if not (target / DEMO_MARKER).is_file():
            raise ConfigError(
                f"{target} already exists, is not empty and is not an earlier demo; remove it or pass --root with a new folder"
            )
        shutil.rmtree(target)
    shutil.copytree(demo_dir() / "root", target, dirs_exist_ok=True)
    (target / DEMO_MARKER).write_text("made by `briefbot demo`; the next demo run may replace this folder\n")
    return target
