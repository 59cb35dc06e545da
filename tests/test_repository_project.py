"""The repository root is itself a working briefbot project (the design card's top level)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from briefbot.config import load_config
from briefbot.project import Project
from conftest import REPO, SEED


def test_the_root_config_loads_with_real_public_feeds_and_searches() -> None:
    config = load_config(Project(REPO))
    assert config.active_briefs() == ["open-model-capability-gap"]
    feeds = config.feeds_for("open-model-capability-gap")
    assert len(feeds) >= 5
    urls = [f.url for f in feeds] + [
        getattr(p, "url_template", None) or getattr(p, "base_url", "") for p in config.feeds.search
    ]
    for url in urls:
        host = urlsplit(url).hostname or ""
        assert urlsplit(url).scheme == "https", url
        assert "." in host and not host.endswith((".example", ".invalid", ".test", "localhost")), url
        try:
            assert ipaddress.ip_address(host).is_global, url
        except ValueError:
            pass  # a name, as it should be
    assert config.feeds.search, "the example brief's queries need at least one search provider"
    assert config.briefs["open-model-capability-gap"].queries


def test_render_in_the_root_is_the_seed_byte_for_byte() -> None:
    """`briefbot render open-model-capability-gap --format text` works in a clone with no setup."""
    env = {k: v for k, v in os.environ.items() if k != "BRIEFBOT_ROOT"}
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "briefbot"),
            "render",
            "open-model-capability-gap",
            "--format",
            "text",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    assert out.stdout == SEED.read_bytes()


def test_the_root_commits_configuration_and_published_versions_only() -> None:
    """Runs write .briefbot/ (ignored); what the repository holds is config and immutable versions."""
    brief = REPO / "briefs" / "open-model-capability-gap"
    tracked = subprocess.run(
        ["git", "ls-files", "feeds.yaml", "briefs"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == [
        "briefs/open-model-capability-gap/brief.yaml",
        "briefs/open-model-capability-gap/versions/v0007.json",
        "feeds.yaml",
    ]
    assert ".briefbot/" in (REPO / ".gitignore").read_text().split()
    assert (brief / "versions" / "v0007.json").is_file()
