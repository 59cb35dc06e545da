"""Fetched bytes -> Document: main text and metadata with trafilatura, or a recorded fallback.

PURE: no network, no files, no clock. The caller fetched and stored the bytes; this module only
reads them. Every way a page can fail to give text ends in a `Document` whose `text_source` is
"summary" and whose `fallback_reason` says why, except an oversize input, which is refused with an
`ExtractError` before any parsing (parsing is where memory balloons).
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import urlsplit

import trafilatura
from lxml.html import HtmlElement  # type: ignore[import-untyped]  # lxml ships no stubs
from trafilatura.utils import decode_file, load_html

from briefbot.errors import ExtractError
from briefbot.models import FULL_DATE_PATTERN, Document

# Pages above this are refused before parsing; real articles are far smaller (the shared corpora
# top out near 1 MB) and lxml trees cost ~10-20x the input in memory.
MAX_INPUT_BYTES = 5_000_000
# Below this many characters the "article" is usually a cookie wall or a teaser: prefer the feed's
# summary when it says more.
MIN_TEXT_CHARS = 250

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml", "text/xml"}
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_MARKUP_START = re.compile(rb"<(?:!doctype|!--|\?xml|[a-z][a-z0-9]*[\s/>])")
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
# Signatures of the non-HTML bodies that most often sit behind feed links.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"ID3", "audio/mpeg"),
)


def media_type(content_type: str | None) -> str | None:
    """`text/html; charset=utf-8` -> `text/html`."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def sniff_type(raw: bytes, content_type: str | None) -> str:
    """The media type to act on: binary signatures beat a header (servers mislabel PDFs as HTML)."""
    head = raw[:16]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp" or head.startswith((b"RIFF", b"\x1a\x45\xdf\xa3")):
        return "video/mp4" if head[4:8] == b"ftyp" else "video/other"
    declared = media_type(content_type)
    if declared:
        return declared
    # No header (a file on disk): markup-looking bytes are HTML; anything else is opaque. A byte
    # order mark or a PHP warning (`<br /> <b>Deprecated</b>: ...`) may come before the doctype:
    # six trafilatura_eval/ pages start so, and the library alone extracts them.
    start = raw[:1024].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if _MARKUP_START.match(start) or b"<p" in start:
        return "text/html"
    return "application/octet-stream"


def _valid_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_html(raw: bytes, content_type: str | None) -> str:
    """Decode with the header's charset, else the page's <meta charset>, else UTF-8, else a guess.

    Declared charsets are tried strictly first so a wrong declaration falls through to the next
    source instead of producing mojibake.
    """
    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=", 1)[1].split(";", 1)[0]
    meta = _CHARSET_RE.search(raw[:4096])
    candidates = [
        _valid_codec(declared),
        _valid_codec(meta.group(1).decode("ascii") if meta else None),
        "utf-8",
    ]
    for codec in dict.fromkeys(c for c in candidates if c):
        try:
            return raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    # trafilatura's own guess (charset_normalizer), which never raises.
    return decode_file(raw)


def _page_language(tree: HtmlElement) -> str | None:
    """Language as the page declares it (`<html lang>`, content-language, og:locale)."""
    values = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    values += tree.xpath(
        '//meta[translate(@http-equiv,"CONTENT-LANGUAGE","content-language")="content-language"]/@content'
    )
    values += tree.xpath('//meta[@property="og:locale"]/@content')
    for value in values:
        value = (value or "").strip().split(",")[0].strip()
        if value and _LANG_RE.match(value):
            return value.replace("_", "-").split("-")[0].lower()
    return None


def _clean_date(value: str | None) -> str | None:
    if value and re.match(FULL_DATE_PATTERN, value[:10]):
        return value[:10]
    return None


def _declared_charset(content_type: str | None) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return _valid_codec(content_type.lower().split("charset=", 1)[1].split(";", 1)[0])
    return None


def _html_source(raw: bytes, content_type: str | None) -> bytes | str:
    """What trafilatura parses: the bytes as served, decoded by us only when the header names a charset.

    trafilatura never sees the response header, so a charset declared there is ours to apply.
    Otherwise the library reads the bytes itself: re-decoding them first ties on the shared corpora
    and lost on an unseen split (issue 17).
    """
    if _declared_charset(content_type):
        return decode_html(raw, content_type)
    return raw


def _sitename_from_url(url: str) -> str | None:
    """The host name, as trafilatura names a site it was given the URL of (the call passes none)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return re.sub(r"^(?:www|w[0-9]+)\.", "", parts.hostname)


def _fallback(url: str, summary: str | None, reason: str, *, kind: str, sha: str | None) -> Document:
    return Document(
        url=url,
        text=(summary or "").strip(),
        text_source="summary",
        fallback_reason=reason,
        content_type=kind,
        raw_sha256=sha,
    )


def extract_document(
    raw: bytes,
    *,
    url: str,
    content_type: str | None,
    summary: str | None,
    raw_sha256: str | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
    min_chars: int = MIN_TEXT_CHARS,
) -> Document:
    """Extract the main text and metadata of one page (comments excluded).

    Raises ExtractError for an input over `max_bytes`. Non-HTML content and empty or very short
    extractions give the feed's `summary` with a `fallback_reason`.
    """
    if len(raw) > max_bytes:
        raise ExtractError(f"{url}: page of {len(raw)} bytes is over the {max_bytes}-byte extraction cap")
    kind = sniff_type(raw, content_type)
    if kind == "text/plain":
        text = decode_html(raw, content_type).strip()
        if len(text) >= min_chars:
            return Document(
                url=url,
                text=text,
                text_source="page",
                content_type=kind,
                raw_sha256=raw_sha256,
            )
        return _fallback(
            url,
            summary,
            f"plain-text page too short ({len(text)} chars)",
            kind=kind,
            sha=raw_sha256,
        )
    if kind not in _HTML_TYPES:
        return _fallback(url, summary, f"non-HTML content ({kind})", kind=kind, sha=raw_sha256)

    tree = load_html(_html_source(raw, content_type))
    if tree is None:
        return _fallback(url, summary, "page is not parseable HTML", kind=kind, sha=raw_sha256)
    language = _page_language(tree)
    # trafilatura's defaults except comments, which a brief never wants and which cost body F1 on
    # both shared corpora. No `favor_precision`: it won on scrapinghub/ only and lost on
    # trafilatura_eval/ and on an unseen split. No `url` either: the date then comes from the
    # page's own canonical URL as in the library's default call, which never scored lower and
    # scored higher on an unseen split (issue 17, bench/extraction.py --compare-defaults).
    result = trafilatura.bare_extraction(tree, include_comments=False, with_metadata=True)
    text = (getattr(result, "text", None) or "").strip() if result is not None else ""
    meta: dict[str, str | None] = {
        "title": getattr(result, "title", None) or None,
        "author": getattr(result, "author", None) or None,
        "date": _clean_date(getattr(result, "date", None)),
        "sitename": getattr(result, "sitename", None) or _sitename_from_url(url),
        "language": language,
    }
    if not text or (len(text) < min_chars and len(summary or "") > len(text)):
        reason = "extraction empty" if not text else f"extraction too short ({len(text)} chars)"
        return _fallback(url, summary, reason, kind=kind, sha=raw_sha256).model_copy(update=meta)
    return Document(
        url=url, text=text, text_source="page", content_type=kind, raw_sha256=raw_sha256
    ).model_copy(update=meta)
