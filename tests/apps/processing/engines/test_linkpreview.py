"""Link previews: parsing real-world (and broken) HTML, and fetching it for real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.processing.engines.fetch import FetchPolicy, FetchRefused, FetchUnsupportedContent
from apps.processing.engines.linkpreview import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    LinkPreview,
    decode_html,
    fetch_preview,
    parse_preview,
)
from tests.apps.processing.engines.test_fetch import LocalServer, page, redirect

URL = "https://news.example/articles/2024/story.html?ref=home"
LOOPBACK = FetchPolicy(allowed_networks=("127.0.0.0/8",), timeout=3.0)


def preview(html: str | bytes, *, url: str = URL, content_type: str = "text/html") -> LinkPreview:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return parse_preview(body, url=url, content_type=content_type)


# --- what is preferred ----------------------------------------------------------------

FULL = """<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Plain title | News</title>
<meta name="description" content="Plain description">
<meta name="twitter:title" content="Twitter title">
<meta name="twitter:description" content="Twitter description">
<meta name="twitter:image" content="https://cdn.example/twitter.jpg">
<meta property="og:title" content="  OG   title
   on two lines ">
<meta property="og:description" content="OG description &amp; more">
<meta property="og:image" content="https://cdn.example/og.jpg">
<meta property="og:image" content="https://cdn.example/second.jpg">
<meta property="og:site_name" content="The News">
<meta property="og:type" content="article">
<link rel="icon" href="/favicon.png">
</head><body><h1>Body</h1></body></html>"""


def test_open_graph_is_preferred() -> None:
    assert preview(FULL) == LinkPreview(
        url=URL, title="OG title on two lines", description="OG description & more",
        image="https://cdn.example/og.jpg", site_name="The News", type="article",
        favicon="https://news.example/favicon.png")


def test_twitter_card_when_there_is_no_open_graph() -> None:
    html = "\n".join(line for line in FULL.splitlines() if "og:" not in line)
    result = preview(html)
    assert result.title == "Twitter title"
    assert result.description == "Twitter description"
    assert result.image == "https://cdn.example/twitter.jpg"
    assert result.site_name is None and result.type is None


def test_title_and_meta_description_last() -> None:
    html = "\n".join(line for line in FULL.splitlines()
                     if "og:" not in line and "twitter:" not in line)
    result = preview(html)
    assert (result.title, result.description, result.image) == (
        "Plain title | News", "Plain description", None)


def test_empty_values_fall_through_to_the_next_source() -> None:
    result = preview('<meta property="og:title" content="   ">'
                     '<meta name="twitter:title" content="Second">'
                     '<meta property="og:image" content="">'
                     '<meta property="og:image:secure_url" content="https://cdn.example/s.png">')
    assert result.title == "Second" and result.image == "https://cdn.example/s.png"


def test_name_and_property_are_both_read() -> None:
    result = preview('<META NAME="og:title" CONTENT="by name">'
                     '<meta property="description" content="by property">'
                     '<meta name="application-name" content="App">')
    assert (result.title, result.description, result.site_name) == (
        "by name", "by property", "App")


def test_nothing_to_show() -> None:
    assert preview(b"") == LinkPreview(URL, None, None, None, None, None, None)


# --- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("href, expected", [
    ("/img/a.png", "https://news.example/img/a.png"),
    ("img/a.png", "https://news.example/articles/2024/img/a.png"),
    ("../a.png", "https://news.example/articles/a.png"),
    ("//cdn.example/a.png", "https://cdn.example/a.png"),
    ("  https://cdn.example/a b.png\n", "https://cdn.example/a%20b.png"),
    ("http://cdn.example/a.png", "http://cdn.example/a.png"),
    ("javascript:alert(1)", None), ("JaVaScRiPt:alert(1)", None),
    ("java\nscript:alert(1)", None), ("data:image/png;base64,iVBORw0KGgo=", None),
    ("file:///etc/passwd", None), ("ftp://cdn.example/a.png", None),
    ("https://user:pw@cdn.example/a.png", None), ("https://[::1/a.png", None),
    ("https://cdn.example/" + "a" * 2100 + ".png", None),
])
def test_image_urls_are_absolute_http_and_bounded(href: str, expected: str | None) -> None:
    assert preview(f'<meta property="og:image" content="{href}">').image == expected


def test_relative_image_with_base_href() -> None:
    html = ('<head><base href="https://static.example/assets/">'
            '<base href="https://ignored.example/">'
            '<meta property="og:image" content="cover.jpg">'
            '<link rel="shortcut icon" href="fav.ico"></head>')
    result = preview(html)
    assert result.image == "https://static.example/assets/cover.jpg"
    assert result.favicon == "https://static.example/assets/fav.ico"


def test_relative_base_href_is_resolved_against_the_page() -> None:
    html = '<base href="/static/"><meta property="og:image" content="c.jpg">'
    assert preview(html).image == "https://news.example/static/c.jpg"


def test_a_javascript_base_href_is_ignored() -> None:
    html = '<base href="javascript:alert(1)//"><meta property="og:image" content="c.jpg">'
    assert preview(html).image == "https://news.example/articles/2024/c.jpg"


def test_image_src_link_and_apple_touch_icon_are_last_resorts() -> None:
    result = preview('<link rel="apple-touch-icon" href="/touch.png">'
                     '<link rel="image_src" href="/share.png">')
    assert result.image == "https://news.example/share.png"
    assert result.favicon == "https://news.example/touch.png"


# --- text -----------------------------------------------------------------------------


def test_huge_title_and_description_are_cut() -> None:
    result = preview(f"<title>{'word ' * 1000}</title>"
                     f'<meta name="description" content="{"x" * 5000}">')
    assert result.title is not None and len(result.title) <= TITLE_MAX
    assert result.title.endswith("…") and result.title.startswith("word word")
    assert result.description is not None and len(result.description) == DESCRIPTION_MAX


def test_entities_whitespace_and_control_characters() -> None:
    result = preview("<title>\n  Caf&eacute; &lt;&#x41;&gt;\t\x00\x07 &amp;&nbsp;more  </title>")
    assert result.title == "Café <A> & more"


def test_an_svg_title_is_not_the_page_title() -> None:
    result = preview("<body><svg><title>icon</title><path/></svg>"
                     "<svg/><title>Real</title></body>")
    assert result.title == "Real"


def test_title_with_markup_inside() -> None:
    assert preview("<title>A <b>bold</b> move</title>").title == "A bold move"


# --- broken HTML ----------------------------------------------------------------------


@pytest.mark.parametrize("html, title", [
    ("<html><head><title>Unclosed", "Unclosed"),
    ("<title>T</title><meta property=og:description content=unquoted>", "T"),
    ("<<<>>><title>after junk</title><p <p <p>", "after junk"),
    ("<!-- <title>commented</title> --><title>real</title>", "real"),
    ("<script>var s = '<title>in script</title>';</script><title>real</title>", "real"),
    ('<meta property="og:title" content="a"b"c" <title>x</title>', "a"),
    ("<title>T</title><![CDATA[ <![ <!", "T"),
    ("\ufeff<title>after a BOM</title>", "after a BOM"),
])
def test_malformed_html(html: str, title: str) -> None:
    assert preview(html).title == title


def test_unquoted_attributes() -> None:
    result = preview("<meta property=og:description content=unquoted>")
    assert result.description == "unquoted"


@pytest.mark.parametrize("junk", ["<a" * 500_000, "<" * 1_000_000, "</" * 500_000,
                                  "<!--" + "x" * 1_000_000, "<![" * 300_000, "&" * 1_000_000],
                         ids=["open-tags", "lt", "end-tags", "comment", "cdata", "amp"])
def test_pathological_markup_is_parsed_in_bounded_time(junk: str) -> None:
    started = time.monotonic()
    result = preview("<title>kept</title>" + junk)
    assert result.title == "kept"
    assert time.monotonic() - started < 10  # quadratic would be minutes


def test_parsing_stops_at_the_end_of_head() -> None:
    result = preview('<head><title>T</title></head><body>'
                     '<meta property="og:title" content="from the body">' + "<p>x" * 10000)
    assert result.title == "T"


# --- encodings ------------------------------------------------------------------------

RUSSIAN = "Привет, мир"


def test_charset_from_the_header() -> None:
    body = f"<title>{RUSSIAN}</title>".encode("windows-1251")
    assert preview(body, content_type="text/html; charset=windows-1251").title == RUSSIAN


def test_charset_from_meta() -> None:
    body = f'<meta charset="windows-1251"><title>{RUSSIAN}</title>'.encode("windows-1251")
    assert preview(body).title == RUSSIAN
    body = (f'<meta http-equiv="Content-Type" content="text/html; charset=cp1251">'
            f"<title>{RUSSIAN}</title>").encode("cp1251")
    assert preview(body).title == RUSSIAN


def test_the_header_wins_over_meta() -> None:
    body = f'<meta charset="iso-8859-1"><title>{RUSSIAN}</title>'.encode("koi8-r")
    assert preview(body, content_type="text/html; charset=KOI8-R").title == RUSSIAN


def test_latin_1_is_read_as_windows_1252() -> None:
    body = "<title>Smart \u201cquotes\u201d and café</title>".encode("cp1252")
    assert preview(body, content_type="text/html; charset=ISO-8859-1").title == (
        "Smart \u201cquotes\u201d and café")


def test_utf16_with_a_bom() -> None:
    body = "<title>UTF-16 ✓</title>".encode("utf-16")
    assert preview(body, content_type="text/html; charset=utf-8").title == "UTF-16 ✓"


@pytest.mark.parametrize("content_type", [
    "text/html; charset=no-such-charset", "text/html; charset=rot13",
    "text/html; charset=undefined", "text/html; charset=",
])
def test_unknown_or_unusable_charsets_fall_back_to_utf8(content_type: str) -> None:
    assert preview("<title>naïve ✓</title>", content_type=content_type).title == "naïve ✓"


def test_undecodable_bytes_are_replaced() -> None:
    assert decode_html(b"<title>ok \xff\xfe\xfd</title>") == "<title>ok \ufffd\ufffd\ufffd</title>"


# --- fetched for real -----------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LocalServer]:
    running = LocalServer().start()
    yield running
    running.stop()


def test_fetch_preview_resolves_against_the_final_url(server: LocalServer) -> None:
    server.routes["/short"] = redirect("/posts/1/")
    server.routes["/posts/1/"] = page(
        '<meta property="og:title" content="Post"><meta property="og:image" content="cover.png">'
        .encode("cp1251"), content_type="text/html; charset=windows-1251")
    result = fetch_preview(server.url("/short"), policy=LOOPBACK)
    assert result.url == server.url("/posts/1/")
    assert result.title == "Post"
    assert result.image == server.url("/posts/1/cover.png")
    assert server.requests[0].headers["Accept"].startswith("text/html")


def test_xhtml_is_accepted(server: LocalServer) -> None:
    server.routes["/"] = page(b"<title>X</title>", content_type="application/xhtml+xml")
    assert fetch_preview(server.url(), policy=LOOPBACK).title == "X"


@pytest.mark.parametrize("content_type", ["image/png", "application/json", "text/plain",
                                          "application/octet-stream"])
def test_only_html_is_previewed(server: LocalServer, content_type: str) -> None:
    server.routes["/"] = page(b"<title>not html</title>", content_type=content_type)
    with pytest.raises(FetchUnsupportedContent):
        fetch_preview(server.url(), policy=LOOPBACK)


def test_fetch_preview_uses_the_settings(server: LocalServer, settings: Any) -> None:
    server.routes["/"] = page(b"<title>local</title>")
    with pytest.raises(FetchRefused):
        fetch_preview(server.url())
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    assert fetch_preview(server.url()).title == "local"


def test_a_redirect_to_the_metadata_service_is_refused(server: LocalServer) -> None:
    server.routes["/"] = redirect("http://169.254.169.254/latest/meta-data/iam/")
    with pytest.raises(FetchRefused):
        fetch_preview(server.url(), policy=LOOPBACK)
