"""One small hierarchy of typed errors; each carries the reason a person can act on."""

from __future__ import annotations


class BriefbotError(Exception):
    """Base of every error briefbot raises on purpose."""


class ConfigError(BriefbotError):
    """A configuration file or value is wrong; the message names the file and key."""


class FormatError(BriefbotError):
    """A text-format brief is malformed; carries the file and 1-based line number."""

    def __init__(self, message: str, *, line: int, path: str | None = None) -> None:
        self.line = line
        self.path = path
        where = f"{path}:{line}" if path else f"line {line}"
        super().__init__(f"{where}: {message}")


class StoreError(BriefbotError):
    """Reading or writing the project's files or database failed."""


class VersionExistsError(StoreError):
    """A published version is immutable: publishing over it is refused."""


class NotFoundError(BriefbotError):
    """A brief, version or proposal that was asked for does not exist."""


class FetchError(BriefbotError):
    """An HTTP fetch failed (network, status, safety rule or size cap)."""


class BlockedAddressError(FetchError):
    """The URL resolves to an address the safety rules refuse (private, loopback, ...)."""


class ReplayMissError(FetchError):
    """Replay mode got a request its recording does not hold."""


class ExtractError(BriefbotError):
    """Extracting a document from fetched bytes failed."""


class LLMError(BriefbotError):
    """An LLM call failed after its retries and re-ask."""


class MergeError(BriefbotError):
    """An edit batch could not be merged at all (not a per-edit rejection)."""


class ReviewError(BriefbotError):
    """A review action is not allowed in the proposal's current state."""


class LockedError(BriefbotError):
    """Another live run holds the project lock."""
