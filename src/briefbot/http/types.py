"""The HTTP client's result types, shared by briefbot.http.client and the validator store."""

from __future__ import annotations

from briefbot.errors import FetchError
from briefbot.models import StrictModel


class FetchStatusError(FetchError):
    """The final response had an error status (>= 400)."""

    def __init__(self, url: str, status: int) -> None:
        self.url, self.status = url, status
        super().__init__(f"{url}: HTTP {status}")


class Validators(StrictModel):
    """What a conditional GET sends back: the response's ETag and Last-Modified."""

    etag: str | None = None
    last_modified: str | None = None

    def is_empty(self) -> bool:
        return self.etag is None and self.last_modified is None


class FetchResult(StrictModel):
    """One fetched URL: the final response after redirects, with its decoded body."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    not_modified: bool = False
    validators: Validators = Validators()
    redirects: list[str] = []

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")
