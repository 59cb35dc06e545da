"""The one HTTP stack: every request (feeds, search, pages, the LLM) goes through `make_client`.

`client` builds the client and `fetch`; `net` guards addresses at connect time; `decode` caps
decoded bodies; `record` records and replays exchanges; `settings` and `types` are its data.
"""

from briefbot.http.client import SafeClient, fetch, make_client
from briefbot.http.settings import HttpSettings
from briefbot.http.types import FetchResult, FetchStatusError, Validators

__all__ = [
    "FetchResult",
    "FetchStatusError",
    "HttpSettings",
    "SafeClient",
    "Validators",
    "fetch",
    "make_client",
]
