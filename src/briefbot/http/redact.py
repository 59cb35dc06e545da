"""Secrets out of text before it is stored or printed: error bodies, URLs, recordings (issue 17.9).

Pure: text in, text out. Two kinds of rule, because they fail in different ways:

- Exact secrets the caller knows (the configured API key, a base URL's password, the credentials a
  recorded request carried) are replaced wherever they appear. They never touch ordinary text, so
  they are safe on any body, but only a secret of `MIN_SECRET` characters or more is used: a short
  one ("unused", the placeholder sent to a keyless local server) would mangle words.
- Shapes of secrets nobody told us about: `Bearer <token>`, `Basic <base64 of user:password>`,
  `sk-...` keys, URL userinfo passwords, and the values of `api_key=`-style query parameters. A
  shape can match prose ("Bearer bonds" does not, but a long enough word after "Bearer" would), so
  they belong on error messages and URLs, not on page bodies a recording must replay byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["MASK", "MIN_SECRET", "header_secrets", "redact", "redact_secrets", "redact_url", "url_secrets"]

MASK = "***"
MIN_SECRET = 8

# A URL's userinfo password: scheme://user:password@ (the user name stays, it says which account).
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#\s:@]*:)(?P<pw>[^/?#\s@]+)@")
# RFC 6750 token68 characters; at least 8 so "Bearer token" in an error's prose stays readable.
_BEARER = re.compile(r"(?P<head>\bBearer\s+)[A-Za-z0-9._~+/-]{8,}=*", re.IGNORECASE)
_BASIC = re.compile(r"(?P<head>\bBasic\s+)(?P<b64>[A-Za-z0-9+/]{4,}={0,2})", re.IGNORECASE)
# OpenAI-style keys (sk-..., sk-proj-...); 16+ characters after the prefix so "sk-learn" is left alone.
_SK = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
# Query parameters that carry credentials (search APIs, proxies): the value goes, the name stays.
_QUERY_NAMES = r"api[_-]?key|apikey|key|token|access[_-]?token|secret|password|passwd|auth|sig|signature"
_QUERY = re.compile(rf"(?P<head>[?&;](?:{_QUERY_NAMES})=)(?P<value>[^&#\s\"'<>]+)", re.IGNORECASE)
_QUERY_NAME = re.compile(rf"(?:{_QUERY_NAMES})", re.IGNORECASE)


def _basic(match: re.Match[str]) -> str:
    """Only a real credential: base64 that decodes to `user:password` (not "Basic information")."""
    try:
        decoded = base64.b64decode(match.group("b64"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return match.group(0)
    return match.group("head") + MASK if ":" in decoded else match.group(0)


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every known secret (of MIN_SECRET characters or more) replaced by the mask."""
    usable = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)
    for secret in usable:  # longest first: a secret containing another goes whole
        text = text.replace(secret, MASK)
    return text


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` as it may be stored or printed: known secrets, then secret shapes, masked."""
    text = redact_secrets(text, secrets)
    text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)
    text = _BEARER.sub(lambda m: m.group("head") + MASK, text)
    text = _BASIC.sub(_basic, text)
    text = _SK.sub("sk-" + MASK, text)
    return _QUERY.sub(lambda m: m.group("head") + MASK, text)


def redact_url(url: str) -> str:
    """A URL as it may be printed: `http://u:***@host/...`, credential query values masked."""
    return redact(url)


def url_secrets(url: str | None) -> list[str]:
    """The credentials a URL carries: its userinfo password, as written, percent-decoded and as the
    Basic auth token httpx makes of it, and the values of credential query parameters."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = []
    if password:
        user = unquote(parts.username or "")
        basic = base64.b64encode(f"{user}:{unquote(password)}".encode()).decode("ascii")
        found += [password, unquote(password), basic]  # the last: the Basic header httpx makes of it
    found += [v for k, v in parse_qsl(parts.query) if v and _QUERY_NAME.fullmatch(k)]
    return found


def header_secrets(value: str) -> list[str]:
    """The secrets in a credential header's value: the token after its scheme, and for Basic the
    password it encodes, so an echo of either form is caught."""
    scheme, _, token = value.strip().partition(" ")
    if not token:
        return [value.strip()]
    found = [token.strip()]
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            password = ""
        if password:
            found.append(password)
    return found
