"""Shared test fixtures: paths to the shared corpora and the seed brief."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_e80d5fd7bc36e827.txt"
CORPORA = SHARED / "corpora"


@pytest.fixture
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"seed brief not found at {SEED} (../shared/seeds/ is absent)")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA} (../shared/corpora/ is absent)")
    return CORPORA
