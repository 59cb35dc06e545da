"""What the HTTP client can be told (`HttpSettings`), apart from the client so config can read it."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ConfigDict, Field, model_validator

from briefbot import __version__
from briefbot.models import StrictModel

DEFAULT_USER_AGENT = f"briefbot/{__version__} (+https://example.invalid/briefbot; living-brief updater)"


def _env_allows_private() -> bool:
    return os.environ.get("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "").strip() == "1"


class HttpSettings(StrictModel):
    """Everything the HTTP client can be told; defaults suit a nightly run."""

    model_config = ConfigDict(frozen=True)

    allow_private_networks: bool = Field(default_factory=_env_allows_private)
    # Test-only: "ip:port" of a local server allowed despite the rule, to test redirects off it.
    allow_addresses: tuple[str, ...] = ()
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    total_timeout: float = Field(default=60.0, gt=0)
    max_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="cap on the decoded body")
    max_redirects: int = Field(default=5, ge=0)
    user_agent: str = DEFAULT_USER_AGENT
    max_connections: int = Field(default=64, gt=0)
    per_host_concurrency: int = Field(default=4, gt=0)
    per_host_min_interval: float = Field(
        default=0.0, ge=0, description="seconds between request starts per host"
    )
    retry_statuses: tuple[int, ...] = (429, 503)
    max_retries: int = Field(default=2, ge=0)
    retry_backoff: float = Field(default=1.0, ge=0, description="wait when no Retry-After is given")
    retry_wait_cap: float = Field(default=30.0, ge=0, description="longest wait honoured for Retry-After")
    record_dir: Path | None = None
    replay_dir: Path | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> HttpSettings:
        if self.record_dir is not None and self.replay_dir is not None:
            raise ValueError("record_dir and replay_dir are exclusive: record a run or replay one, not both")
        for entry in self.allow_addresses:
            host, _, port = entry.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"allow_addresses entry {entry!r} is not 'ip:port'")
        return self

    def allowed_pairs(self) -> list[tuple[str, int]]:
        pairs = []
        for entry in self.allow_addresses:
            host, _, port = entry.rpartition(":")
            pairs.append((host.strip("[]"), int(port)))
        return pairs
