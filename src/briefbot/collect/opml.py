"""OPML subscription lists: read with listparser, written as OPML 2.0.

Reading takes the file's bytes (listparser given a str that looks like a URL would fetch it) and
keeps only http(s) feed URLs; everything else an OPML file may carry (`javascript:`, `file:`,
relative paths) is reported as skipped, not imported. Names are derived from titles: slugified to
the config's name pattern and made unique against the names already taken.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import unicodedata
import xml.parsers.expat
from collections.abc import Iterable
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import quoteattr

import listparser
from pydantic import ConfigDict

from briefbot.collect.feeds import FeedParseError
from briefbot.config import FeedConfig
from briefbot.models import StrictModel

_MAX_NAME = 60
# A disabled feed is exported with briefbot:enabled="false" (other readers ignore the attribute;
# OPML allows any), so a round trip keeps it switched off.
_NAMESPACE = "urn:briefbot:opml"
_ENABLED_ATTR = "briefbot:enabled"
# A title that is a lowercase feed name already (NAME_PATTERN without capitals) is used as is.
_KEPT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class OpmlFeed(StrictModel):
    """One subscription of an OPML file."""

    model_config = ConfigDict(frozen=True)

    title: str
    url: str
    tags: list[str] = []
    enabled: bool = True  # False for an outline exported as briefbot:enabled="false"


class OpmlList(StrictModel):
    model_config = ConfigDict(frozen=True)

    feeds: list[OpmlFeed]
    skipped: list[str]  # "url: why", for entries that are not importable feeds


def read_opml(data: bytes, *, source: str = "OPML") -> OpmlList:
    """The http(s) feeds of an OPML document; raises FeedParseError when it holds no subscription
    list at all (not OPML, or not XML)."""
    if not isinstance(data, bytes):  # a str might be taken for a URL and fetched
        raise TypeError("read_opml takes the file's bytes")
    text = _decode(data, source)
    outlines = _check_xml(text, source)
    # listparser reads bytes with libxml2's HTML parser, which takes them as UTF-8 whatever the
    # XML declaration says: hand it UTF-8, declared as such.
    parsed = listparser.parse(_UTF8_DECL + _XML_DECL.sub("", text, count=1).encode("utf-8"))
    if not parsed.get("version") and not parsed.feeds:
        problem = parsed.get("bozo_exception")
        why = f" ({problem})" if problem else ""
        raise FeedParseError(f"{source}: not an OPML subscription list{why}")
    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    seen: set[str] = set()

    def where(raw: str, title: str) -> str:
        line = outlines.lines.get(raw.strip())
        return f"outline {_clip(title)!r}" + (f", line {line}" if line else "")

    for entry in parsed.feeds:
        raw = str(entry.get("url") or "")
        title = " ".join(str(entry.get("title") or "").split())
        url = feed_url(raw)
        if url is None:
            shown = _clip(raw.strip()) or "(no URL)"
            skipped.append(f"{shown}: not an http(s) feed URL ({where(raw, title)})")
            continue
        if url_key(url) in seen:
            skipped.append(f"{url}: listed twice in {source} ({where(raw, title)})")
            continue
        seen.add(url_key(url))
        tags = []
        # Every folder on the outline's path (and every part of a `category="/a/b"`) is a tag:
        # listparser's own `tags` keep only top-level folders, so a feed in Tech > AI had none.
        for tag in (part for path in entry.get("categories") or [] for part in path):
            slug = slugify(str(tag))
            if slug and slug not in tags:
                tags.append(slug)
        enabled = raw.strip() not in outlines.disabled
        feeds.append(
            OpmlFeed(title=title or urlsplit(url).hostname or url, url=url, tags=tags, enabled=enabled)
        )
    for entry in parsed.get("lists") or []:
        raw, title = str(entry.get("url") or ""), " ".join(str(entry.get("title") or "").split())
        skipped.append(
            f"{_clip(raw.strip())}: a link to another subscription list, not a feed ({where(raw, title)})"
        )
    for line, title in outlines.empty:
        skipped.append(f"(no URL): empty xmlUrl (outline {_clip(title)!r}, line {line})")
    for line, title, page in outlines.web_only:
        skipped.append(
            f"{_clip(page)}: no xmlUrl, only a web page's htmlUrl (outline {_clip(title)!r}, line {line})"
        )
    # libxml2's HTML parser, under listparser, gives up silently on what it cannot take (an
    # attribute over 10 MB) and on everything after it: name every outline it never returned.
    returned = {_squeezed(str(e.get("url") or "")) for e in [*parsed.feeds, *(parsed.get("lists") or [])]}
    for raw, (line, title) in outlines.xml_urls.items():
        if _squeezed(raw) not in returned:
            skipped.append(
                f"{_clip(raw)}: not read (listparser lost this outline; an oversized attribute "
                f"before or in it?) (outline {_clip(title)!r}, line {line})"
            )
    return OpmlList(feeds=feeds, skipped=skipped)


def _squeezed(url: str) -> str:
    # Only ASCII letters and digits: the HTML parser reads &#x85; as "…" (as HTML does) and may
    # keep whitespace an XML parser normalises, so the same outline may differ in those.
    return re.sub(r"[^A-Za-z0-9]+", "", url)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def feed_url(raw: str) -> str | None:
    """`raw` as an http(s) URL, or None when it is none: surrounding whitespace dropped, inner
    whitespace percent-encoded, `feed://host/...` (and `feed:https://...`) read as http(s), scheme
    and host lowercased (neither is case-sensitive)."""
    url = raw.strip()
    if url[:5].lower() == "feed:":
        rest = url[5:]
        url = rest if rest[:7].lower() == "http://" or rest[:8].lower() == "https://" else "http:" + rest
    url = re.sub(r"\s", lambda m: quote(m.group()), url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises for a port out of range or not a number
    except ValueError:  # also "http://[abc/feed", an unclosed IPv6 bracket
        return None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or url[len(parts.scheme) :][:3] != "://"
    ):
        return None
    after = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    userinfo, at, host = parts.netloc.rpartition("@")
    return f"{parts.scheme.lower()}://{userinfo}{at}{host.lower()}{after}"


def url_key(url: str) -> str:
    """What two spellings of one feed URL share (scheme and host case, `feed://`, whitespace)."""
    return feed_url(url) or url


_UTF8_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_XML_DECL = re.compile(r"^<\?xml[^>]*\?>")
_DECLARED = re.compile(rb"^<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(data: bytes, source: str) -> str:
    """The document as text: by its byte order mark, else its XML declaration's encoding, else
    UTF-8 (XML's default). Leading whitespace before the declaration is dropped."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if codec is None:
        declared = _DECLARED.match(data.lstrip())
        codec = declared.group(1).decode("ascii") if declared else "utf-8"
        try:
            codec = codecs.lookup(codec).name
        except LookupError:
            raise FeedParseError(
                f"{source}: its XML declaration names an unknown encoding {codec!r}"
            ) from None
        if codec.startswith(("utf-16", "utf-32")):  # declared, yet readable as ASCII: no BOM
            codec = "utf-8"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        at = exc.start + len(data) - len(exc.object)  # utf-8-sig reports past its BOM
        raise FeedParseError(
            f"{source}: not valid {codec.removesuffix('-sig')} text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {at}); "
            "save it as UTF-8 or declare its encoding in <?xml ... encoding=...?>"
        ) from None
    return text.lstrip("\ufeff \t\r\n")


class _Refused(Exception):
    pass


def _refuse_entity(name: str, *_: object) -> None:
    raise _Refused(f"declares the XML entity {name!r}; OPML needs none, and entities are refused")


class _Outlines(StrictModel):
    lines: dict[str, int] = {}  # an xmlUrl or htmlUrl (stripped) -> the line of its first outline
    empty: list[tuple[int, str]] = []  # (line, title) of outlines whose xmlUrl is empty
    # (line, title, htmlUrl) of outlines with a web page and no feed (listparser takes them for
    # folders when they have a title)
    web_only: list[tuple[int, str, str]] = []
    xml_urls: dict[str, tuple[int, str]] = {}  # each non-empty xmlUrl (stripped) -> (line, title)
    disabled: set[str] = set()  # xmlUrls (stripped) of outlines marked briefbot:enabled="false"


def _check_xml(text: str, source: str) -> _Outlines:
    """Refuse what listparser's forgiving HTML parser would half-read: text that is not
    well-formed XML (a truncated file loses its tail silently), a root that is not <opml>, and
    any entity declaration (billion laughs, external files), refused before it is expanded."""
    if not text.strip():
        raise FeedParseError(f"{source}: not an OPML subscription list (the file is empty)")
    parser = xml.parsers.expat.ParserCreate()
    parser.EntityDeclHandler = _refuse_entity
    roots: list[str] = []
    found = _Outlines()

    def start(name: str, attrs: dict[str, str]) -> None:
        if not roots:
            roots.append(name)
        if name.rpartition(":")[2].lower() != "outline":
            return
        attrs = {k.lower(): v for k, v in attrs.items()}
        title = " ".join((attrs.get("text") or attrs.get("title") or "").split())
        if "xmlurl" in attrs and not attrs["xmlurl"].strip():
            found.empty.append((parser.CurrentLineNumber, title))
        elif "xmlurl" in attrs:
            found.xml_urls.setdefault(attrs["xmlurl"].strip(), (parser.CurrentLineNumber, title))
        elif "xmlurl" not in attrs and attrs.get("htmlurl", "").strip() and not attrs.get("url"):
            found.web_only.append((parser.CurrentLineNumber, title, attrs["htmlurl"].strip()))
        if attrs.get(_ENABLED_ATTR, "").strip().lower() == "false":
            found.disabled.add(attrs.get("xmlurl", "").strip())
        for key in ("xmlurl", "htmlurl", "url"):
            found.lines.setdefault(attrs.get(key, "").strip(), parser.CurrentLineNumber)

    parser.StartElementHandler = start
    try:
        parser.Parse(text, True)
    except _Refused as exc:
        raise FeedParseError(f"{source}: line {parser.CurrentLineNumber}: {exc}") from None
    except xml.parsers.expat.ExpatError as exc:
        raise FeedParseError(
            f"{source}: not an OPML subscription list (not well-formed XML: {exc})"
        ) from None
    if roots and roots[0].rpartition(":")[2].lower() != "opml":
        raise FeedParseError(
            f"{source}: not an OPML subscription list (its root element is <{roots[0]}>, not <opml>)"
        )
    found.lines.pop("", None)
    return found


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and '-', as a feed name; '' when nothing of `text` is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_MAX_NAME].rstrip("-")


def unique_name(title: str, url: str, taken: set[str], counters: dict[str, int] | None = None) -> str:
    """A feed name for `title` (or the URL's host when the title has no usable letters) that is
    not in `taken`: `name`, then `name-2`, `name-3`... Pass the same `counters` for a run of names
    (an import): each base then resumes where it left off, rather than trying 2, 3... again, which
    for a list of thousands of feeds all titled "Feed" would take hours."""
    if _KEPT_NAME.fullmatch(title) and len(title) <= _MAX_NAME:
        base = title  # already a name (an export's `my_feed.v2`): kept, so a round trip keeps it
    else:
        base = slugify(title) or slugify(urlsplit(url).hostname or "") or "feed"
    counters = {} if counters is None else counters
    name, n = base, counters.get(base, 1)
    if n > 1:
        name = f"{base}-{n}"
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    counters[base] = n
    return name


def write_opml(feeds: Iterable[FeedConfig], *, title: str, now: dt.datetime) -> str:
    """An OPML 2.0 document listing `feeds` (name as text/title, tags as category)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<opml version="2.0" xmlns:briefbot="{_NAMESPACE}">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{now.astimezone(dt.UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        attrs = [
            f"text={quoteattr(feed.name)}",
            f"title={quoteattr(feed.name)}",
            'type="rss"',
            f"xmlUrl={quoteattr(feed.url)}",
        ]
        if feed.tags:
            attrs.append(f"category={quoteattr(','.join(feed.tags))}")
        if not feed.enabled:
            attrs.append(f'{_ENABLED_ATTR}="false"')
        lines.append(f"    <outline {' '.join(attrs)}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]
