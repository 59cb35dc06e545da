"""Shared test fixtures: the seed brief (our customer's own document, kept under fixtures/seed/) and
the third-party corpora in ../shared/corpora/, which only tests marked `corpus` read."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = REPO / "fixtures" / "seed" / "open-model-capability-gap-v7.txt"
CORPORA = SHARED / "corpora"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "corpus: reads the third-party corpora in ../shared/corpora/ (skipped without it)"
    )


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def corpora(request: pytest.FixtureRequest) -> Path:
    if request.node.get_closest_marker("corpus") is None:
        pytest.fail("a test reading ../shared/corpora/ must carry @pytest.mark.corpus")
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA} (../shared/corpora/ is absent)")
    return CORPORA


def as_project(root: Path) -> Path:
    """Make `root` a briefbot project as `briefbot init` would (a feeds.yaml with no feeds): every
    command but init and demo refuses a folder that is not one."""
    root.mkdir(parents=True, exist_ok=True)
    feeds = root / "feeds.yaml"
    if not feeds.exists():
        feeds.write_text("feeds: []\n", encoding="utf-8")
    return root
