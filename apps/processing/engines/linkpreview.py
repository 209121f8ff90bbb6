"""Link previews: a page's title, description, image and site name, as chat apps show.

The page is fetched through the SSRF-safe fetcher (:mod:`.fetch`: vetted addresses,
deadline, byte cap), HTML only. Its metadata is read with a real HTML parser (the
stdlib's, tolerant of broken markup like browsers are), never with regular expressions
over the markup, in this order of preference:

- title: ``og:title``, ``twitter:title``, ``<title>`` (not an SVG's);
- description: ``og:description``, ``twitter:description``, ``<meta name=description>``;
- image: ``og:image`` (``:url``, ``:secure_url``), ``twitter:image`` (``:src``),
  ``<link rel=image_src>``, resolved against ``<base href>`` and the final URL;
- site name: ``og:site_name``, ``<meta name=application-name>``.

Text is unescaped, its whitespace collapsed and control characters dropped, then cut
to a length a UI can show; URLs are absolute http(s) only (no ``javascript:`` or
``data:``), at most 2048 characters, else left out. The text encoding is the BOM's,
else the Content-Type header's, else a ``<meta charset>`` in the first 4 KiB, else
UTF-8; undecodable bytes become U+FFFD rather than failing the preview.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from apps.processing.engines.fetch import (
    FetchError,
    FetchPolicy,
    check_url,
    content_charset,
    fetch,
)

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
TITLE_MAX = 300
DESCRIPTION_MAX = 1000
SITE_NAME_MAX = 300
TYPE_MAX = 100
URL_MAX = 2048
PARSE_MAX_CHARS = 1024 * 1024
_SNIFF_BYTES = 4096
_LONE_LT = re.compile(r"<(?![A-Za-z/!?])")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)""", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Labels browsers read as windows-1252 (its superset), per the WHATWG Encoding standard.
_AS_WINDOWS_1252 = {"latin-1", "iso8859-1", "ascii", "cp1252"}

_TITLE_KEYS = ("og:title", "twitter:title")
_DESCRIPTION_KEYS = ("og:description", "twitter:description", "description")
_IMAGE_KEYS = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
               "twitter:image:src")
_SITE_NAME_KEYS = ("og:site_name", "application-name")


@dataclass(frozen=True)
class LinkPreview:
    url: str  # the final URL, after redirects
    title: str | None
    description: str | None
    image: str | None  # absolute http(s) URL
    site_name: str | None
    type: str | None  # og:type, e.g. "article"
    favicon: str | None  # absolute http(s) URL of <link rel=icon>, when the page names one


# --- decoding -------------------------------------------------------------------------


def _codec(label: str | None, *, from_meta: bool = False) -> str | None:
    """The Python codec for a charset label, None when unknown or unusable."""
    if not label:
        return None
    try:
        name = codecs.lookup("".join(label.split()).lower()).name
        b"<".decode(name, "replace")  # non-text codecs (rot13, base64) raise here
    except (LookupError, ValueError):
        return None
    if name in _AS_WINDOWS_1252:
        return "cp1252"
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a page that could read its own <meta> is not UTF-16
    return name


def decode_html(body: bytes, content_type: str = "") -> str:
    """Text of an HTML body: BOM, else header charset, else <meta charset>, else UTF-8."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, "replace")
    sniffed = _META_CHARSET.search(body[:_SNIFF_BYTES])
    encoding = (_codec(content_charset(content_type))
                or _codec(sniffed.group(1).decode("ascii") if sniffed else None, from_meta=True)
                or "utf-8")
    try:
        return body.decode(encoding, "replace")
    except (LookupError, UnicodeError, ValueError):  # a codec that refuses "replace"
        return body.decode("utf-8", "replace")


# --- parsing --------------------------------------------------------------------------


class _StopParsing(Exception):
    pass


class _HeadParser(HTMLParser):
    """Collects <meta>, <title>, <base> and <link> up to the end of <head>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title: str | None = None
        self.base_href: str | None = None
        self.links: list[tuple[frozenset[str], str]] = []
        self._title_parts: list[str] | None = None
        self._title_length = 0
        self._svg_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")
        if tag == "svg":
            self._svg_depth += 1
        elif tag == "title" and self.title is None and not self._svg_depth:
            self._title_parts = []
        elif tag == "meta" and "content" in values:
            for attr in ("property", "name"):
                key = values.get(attr, "").strip().lower()
                if key:
                    self.meta.setdefault(key, values["content"])
        elif tag == "base" and self.base_href is None and values.get("href"):
            self.base_href = values["href"]
        elif tag == "link" and values.get("href"):
            self.links.append((frozenset(values.get("rel", "").lower().split()),
                               values["href"]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "svg":  # <svg/> opens nothing
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg_depth = max(0, self._svg_depth - 1)
        elif tag == "title" and self._title_parts is not None:
            self._end_title()
        elif tag == "head":
            raise _StopParsing  # metadata lives in <head>: the body is not read

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None and self._title_length < TITLE_MAX * 4:
            self._title_parts.append(data)
            self._title_length += len(data)

    def _end_title(self) -> None:
        self.title = "".join(self._title_parts or ())
        self._title_parts = None

    def finish(self) -> None:
        """An unclosed <title> (broken markup) still counts, as far as it went."""
        if self._title_parts is not None:
            self._end_title()


def _parse(text: str) -> _HeadParser:
    """Run the parser over ``text`` in one ``feed`` and no ``close``: the stdlib
    parser is linear while each construct completes, but quadratic when it re-scans
    an unterminated one at end of input (``<a<a<a...``), which ``close`` asks it to
    do; and it raises on some broken declarations. Either way, what was collected
    before that point is the result. Only the first PARSE_MAX_CHARS are read:
    metadata is in <head>, and the parser's per-character cost on junk is bounded."""
    parser = _HeadParser()
    try:
        # A "<" that cannot open markup is text; as "&lt;" (decoded back by the parser)
        # a run of them is one piece of text instead of one parser step per character.
        parser.feed(_LONE_LT.sub("&lt;", text[:PARSE_MAX_CHARS]))
    except _StopParsing:
        pass
    except Exception as exc:  # markup the parser gives up on: keep what was read
        logger.debug("HTML parser stopped: %r", exc)
    parser.finish()
    return parser


# --- cleaning -------------------------------------------------------------------------


def clean_text(value: str | None, limit: int) -> str | None:
    """Whitespace collapsed, control characters dropped, cut to ``limit`` with an
    ellipsis; None when nothing is left."""
    if value is None:
        return None
    kept = "".join(ch for ch in value if ch.isspace() or unicodedata.category(ch) != "Cc")
    text = " ".join(kept.split())
    if not text:
        return None
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text


def absolute_url(value: str | None, base: str) -> str | None:
    """``value`` resolved against ``base`` if that is an http(s) URL the fetcher
    would accept (no credentials, valid host) and short enough; else None."""
    if not value:
        return None
    value = re.sub(r"[\t\n\r]", "", value).strip(" \f")
    if not value:
        return None
    try:
        resolved = check_url(urljoin(base, value))
    except (FetchError, ValueError):
        return None
    return resolved if len(resolved) <= URL_MAX else None


def _first_text(candidates: Iterable[str | None], limit: int) -> str | None:
    for candidate in candidates:
        text = clean_text(candidate, limit)
        if text:
            return text
    return None


def _first_url(candidates: Iterable[str | None], base: str) -> str | None:
    for candidate in candidates:
        url = absolute_url(candidate, base)
        if url:
            return url
    return None


def _favicon(links: list[tuple[frozenset[str], str]], base: str) -> str | None:
    icons = [href for rel, href in links if "icon" in rel]
    touch = [href for rel, href in links if "apple-touch-icon" in rel]
    return _first_url([*icons, *touch], base)


def parse_preview(body: bytes, *, url: str, content_type: str = "") -> LinkPreview:
    """The preview of an HTML document fetched from ``url`` (its final URL)."""
    page = _parse(decode_html(body, content_type))
    meta = page.meta
    base = url
    if page.base_href:
        base = absolute_url(page.base_href, url) or url
    image_link = next((href for rel, href in page.links if "image_src" in rel), None)
    return LinkPreview(
        url=url,
        title=_first_text([*(meta.get(k) for k in _TITLE_KEYS), page.title], TITLE_MAX),
        description=_first_text((meta.get(k) for k in _DESCRIPTION_KEYS), DESCRIPTION_MAX),
        image=_first_url([*(meta.get(k) for k in _IMAGE_KEYS), image_link], base),
        site_name=_first_text((meta.get(k) for k in _SITE_NAME_KEYS), SITE_NAME_MAX),
        type=_first_text([meta.get("og:type")], TYPE_MAX),
        favicon=_favicon(page.links, base),
    )


def fetch_preview(url: str, *, policy: FetchPolicy | None = None) -> LinkPreview:
    """Fetch ``url`` (HTML only) under ``policy`` (the settings' by default) and parse
    its preview. Raises the fetcher's :class:`~.fetch.FetchError` subclasses."""
    result = fetch(url, policy=policy, allowed_content_types=HTML_TYPES,
                   accept="text/html,application/xhtml+xml;q=0.9")
    return parse_preview(result.body, url=result.url, content_type=result.content_type)
