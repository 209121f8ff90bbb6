"""SVG sanitiser: a corpus of hostile files, each made harmless or refused; benign survive."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree as ET

from apps.processing.engines.svg import (
    SVG_NS,
    SVG_RESPONSE_HEADERS,
    SanitizedSvg,
    SvgRefused,
    sanitize_svg,
)

HEAD = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="120" height="80" viewBox="0 0 120 80">')
DRAWING = '<rect id="box" x="10" y="10" width="50" height="40" fill="#c33"/>'


def svg(body: str, head: str = HEAD) -> bytes:
    return f"{head}{body}{DRAWING}</svg>".encode()


def clean(body: str) -> SanitizedSvg:
    result = sanitize_svg(svg(body))
    text = result.data.decode()
    assert text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in text
    # The harmless drawing always survives, attributes intact.
    rect = ET.fromstring(result.data).find(f"{{{SVG_NS}}}rect[@id='box']")
    assert rect is not None and rect.attrib == {"id": "box", "x": "10", "y": "10",
                                                "width": "50", "height": "40", "fill": "#c33"}
    assert result.removed, "something hostile was expected to go"
    return result


def lowered(result: SanitizedSvg) -> str:
    return result.data.decode().lower()


# --- sanitised ---------------------------------------------------------------------------

def test_script_element() -> None:
    result = clean("<script>alert(document.cookie)</script>"
                   "<script type='text/ecmascript'><![CDATA[alert(1)]]></script>")
    assert "script" not in lowered(result) and "alert" not in lowered(result)


@pytest.mark.parametrize("handler", ["onload", "onclick", "onmouseover", "onbegin", "OnLoad"])
def test_event_handlers(handler: str) -> None:
    result = clean(f'<g {handler}="alert(1)"><circle r="4" {handler}="alert(2)"/></g>')
    assert "alert" not in lowered(result) and "<circle" in lowered(result)


def test_handler_on_the_root() -> None:
    data = HEAD.replace("<svg ", '<svg onload="alert(1)" ').encode() + b"</svg>"
    result = sanitize_svg(data)
    assert b"onload" not in result.data and "event handler" in result.removed[0]


@pytest.mark.parametrize("url", [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " \njavascript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "jav&#x0A;ascript:alert(1)",
    "&#106;&#97;vascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
])
def test_script_urls_in_links(url: str) -> None:
    result = clean(f'<a xlink:href="{url}"><text x="5" y="70">click</text></a>'
                   f'<a href="{url}"><circle r="3"/></a>')
    text = lowered(result)
    assert "script" not in text and "data:" not in text and "href" not in text
    assert "click" in text  # the link's content stays, without the link


def test_entity_obfuscated_script_url_in_any_attribute() -> None:
    result = clean('<circle r="3" fill="jav&#x09;ascript:alert(1)" class="c"/>')
    assert "alert" not in lowered(result) and 'class="c"' in lowered(result)


def test_foreign_object_and_html() -> None:
    result = clean('<foreignObject width="100" height="100">'
                   '<iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(1)"/>'
                   '<body xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></body>'
                   '</foreignObject>'
                   '<iframe src="http://evil"/><embed src="http://evil"/><object data="x"/>')
    text = lowered(result)
    for word in ("foreignobject", "iframe", "embed", "object", "script", "evil"):
        assert word not in text


@pytest.mark.parametrize("element", [
    '<use href="http://evil/x.svg#a"/>',
    '<use xlink:href="http://evil/x.svg#a"/>',
    '<use href="x.svg#a"/>',
    '<use href="//evil/x.svg#a"/>',
    '<image href="file:///etc/passwd" width="10" height="10"/>',
    '<image xlink:href="https://evil/track.png"/>',
    '<image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="/>',
    '<feImage href="http://evil/x.png"/>',
    '<linearGradient id="g" href="http://evil/g.svg#g"/>',
    '<textPath href="http://evil/p.svg#p">t</textPath>',
])
def test_external_references(element: str) -> None:
    result = clean(element)
    text = lowered(result)
    assert "evil" not in text and "passwd" not in text and "svg+xml" not in text
    assert "x.svg" not in text


def test_local_references_and_inline_images_stay() -> None:
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
    data = svg('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/>'
               '</linearGradient><symbol id="s"><circle r="2"/></symbol></defs>'
               '<use xlink:href="#s"/><use href="#s" x="5"/>'
               f'<image href="{png}" width="1" height="1"/>'
               '<circle r="9" fill="url(#g)" style="stroke: url(\'#g\')"/>')
    result = sanitize_svg(data)
    assert result.removed == []
    text = result.data.decode()
    for kept in ('xlink:href="#s"', 'href="#s"', png, 'fill="url(#g)"', "stroke: url('#g')"):
        assert kept in text


def test_external_url_in_presentation_attributes() -> None:
    result = clean('<circle r="3" fill="url(http://evil/#x)"/>'
                   '<circle r="3" stroke="url( \'https://evil/p.svg#x\' )"/>'
                   '<circle r="3" filter="url(//evil/f.svg#f)" mask="url(#m)"/>'
                   '<circle r="3" cursor="url(http://evil/c.cur), auto"/>')
    text = lowered(result)
    assert "evil" not in text and 'mask="url(#m)"' in text


@pytest.mark.parametrize("css", [
    "@import url(http://evil/x.css);",
    "@import 'http://evil/x.css';",
    ".a{fill:url(http://evil/x.svg#p)}",
    ".a{fill:url(http://evil/x.svg#p",  # unclosed: browsers still load it
    ".a{background-image:image-set('http://evil/x.png' 1x)}",
    ".a{width:expression(alert(1))}",
    ".a{fill:u\\72l(http://evil/x)}",
    "@font-face{font-family:x;src:url(https://evil/font.woff)}",
    ".a{-moz-binding:url(#xbl)}",
])
def test_stylesheets_that_fetch_or_run_are_dropped(css: str) -> None:
    result = clean(f"<style>{css}</style><style>.ok{{fill:#0a0}}</style>")
    text = lowered(result)
    assert "evil" not in text and "expression" not in text and "binding" not in text
    assert ".ok{fill:#0a0}" in text


def test_style_attribute_loses_only_the_bad_declarations() -> None:
    result = clean('<circle r="3" style="fill:red; background:url(http://evil/x); stroke:blue"/>'
                   '<circle r="4" style="fill:url(http://evil/x"/>')
    text = lowered(result)
    assert "evil" not in text and 'style="fill:red;stroke:blue"' in text
    assert text.count("<circle") == 2


@pytest.mark.parametrize("animation", [
    '<set attributeName="href" to="javascript:alert(1)"/>',
    '<animate attributeName="xlink:href" values="javascript:alert(1)"/>',
    '<animate attributeName="fill" from="red" to="url(http://evil/#x)" dur="1s"/>',
    '<animateTransform attributeName="transform" type="rotate" from="0" to="360" dur="1s"/>',
    '<handler type="application/ecmascript">alert(1)</handler>',
])
def test_animation_elements_are_dropped(animation: str) -> None:
    result = clean(f'<a href="#box"><circle r="3">{animation}</circle></a>')
    text = lowered(result)
    assert "attributename" not in text and "alert" not in text and "evil" not in text
    assert 'href="#box"' in text


def test_xml_stylesheet_processing_instruction_is_dropped() -> None:
    data = b'<?xml-stylesheet type="text/css" href="http://evil/x.css"?>' + svg("")
    result = sanitize_svg(data)
    assert b"evil" not in result.data and "xml-stylesheet" in result.removed[0]


def test_other_namespaces_are_dropped() -> None:
    head = HEAD.replace("<svg ", '<svg xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" ')
    result = sanitize_svg(svg('<inkscape:grid/><rect inkscape:label="x" width="1" height="1"/>',
                              head))
    assert b"inkscape" not in result.data and b'<rect width="1" height="1" />' in result.data


# --- refused -----------------------------------------------------------------------------

def test_xxe_is_refused() -> None:
    data = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + svg("<text>&x;</text>"))
    with pytest.raises(SvgRefused, match="DTD"):
        sanitize_svg(data)


def test_billion_laughs_is_refused() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10))
    data = f'<?xml version="1.0"?><!DOCTYPE svg [{entities}]>'.encode() + svg(
        "<text>&lol9;</text>")
    with pytest.raises(SvgRefused, match="DTD"):
        sanitize_svg(data)


def test_internal_subset_without_entities_is_refused() -> None:
    # ATTLIST defaults would add an onload to every <svg> without it being written there.
    data = b'<!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(1)">]>' + svg("")
    with pytest.raises(SvgRefused, match="DTD"):
        sanitize_svg(data)


def test_bare_public_doctype_is_accepted_and_never_loaded() -> None:
    data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' + svg(""))
    result = sanitize_svg(data)
    assert result.data.startswith(b"<svg") and b"DOCTYPE" not in result.data


def test_external_dtd_entities_are_not_resolved() -> None:
    data = (b'<!DOCTYPE svg SYSTEM "file:///etc/passwd">' + svg("<text>&nbsp;</text>"))
    with pytest.raises(SvgRefused, match="not well-formed"):
        sanitize_svg(data)


def test_deep_nesting_is_refused() -> None:
    data = svg("<g>" * 10_000 + "</g>" * 10_000)
    with pytest.raises(SvgRefused, match="nested"):
        sanitize_svg(data)
    assert sanitize_svg(svg("<g>" * 100 + "</g>" * 100)).removed == []


@pytest.mark.parametrize("data, reason", [
    (b"<html><body><script>alert(1)</script></body></html>", "root"),
    (b'<html xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg"/></html>',
     "root"),
    (b'<svg width="10" height="10"><rect/></svg>', "xmlns"),
    (b"this is not XML at all", "XML"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "XML"),
    (b"", "XML"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "XML"),
])
def test_not_an_svg_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(SvgRefused, match=reason):
        sanitize_svg(data)


def test_input_over_the_size_cap_is_refused_before_parsing() -> None:
    data = svg("<g/>" * 300)
    with pytest.raises(SvgRefused, match="limit"):
        sanitize_svg(data, max_bytes=len(data) - 1)
    assert sanitize_svg(data, max_bytes=len(data)).removed == []


# --- benign ------------------------------------------------------------------------------

BENIGN = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- made by hand -->
<svg:svg xmlns:svg="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="200px" viewBox="0 0 100 50" version="1.1">
  <svg:title>Logo</svg:title>
  <svg:desc>A benign drawing &amp; some text</svg:desc>
  <svg:defs>
    <svg:linearGradient id="g" x1="0" x2="1" gradientTransform="rotate(45)">
      <svg:stop offset="0%" stop-color="#fff"/><svg:stop offset="100%" stop-color="rgb(0, 0, 0)"/>
    </svg:linearGradient>
    <svg:clipPath id="c"><svg:circle cx="50" cy="25" r="20"/></svg:clipPath>
    <svg:filter id="f"><svg:feGaussianBlur in="SourceGraphic" stdDeviation="2"/></svg:filter>
    <svg:style>.a { fill: url(#g); stroke: hsl(10, 50%, 50%) } .a:nth-child(2) { opacity: .5 }</svg:style>
  </svg:defs>
  <svg:g transform="translate(10 5) scale(1.5)" clip-path="url(#c)" filter="url(#f)">
    <svg:path class="a" d="M0 0 L10 10 C20 20 30 0 40 10 Z"/>
    <svg:polygon points="0,0 10,0 5,8" fill-rule="evenodd"/>
    <svg:text x="1" y="40" font-family="'Open Sans', sans-serif" xml:space="preserve">Hi <svg:tspan dy="2">there</svg:tspan></svg:text>
    <svg:use xlink:href="#c" x="3"/>
  </svg:g>
</svg:svg>
"""


def test_benign_svg_round_trips_with_its_shapes() -> None:
    result = sanitize_svg(BENIGN)
    assert result.removed == []
    assert (result.width, result.height) == (200, 100)
    assert not result.data.startswith(b"<?xml") and result.data.startswith(b"<svg")
    before, after = ET.fromstring(BENIGN), ET.fromstring(result.data)
    assert [(e.tag, e.attrib, (e.text or "").strip()) for e in before.iter()] == [
        (e.tag, e.attrib, (e.text or "").strip()) for e in after.iter()]
    assert sanitize_svg(result.data).data == result.data  # idempotent


@pytest.mark.parametrize("attributes, size", [
    ('width="120" height="80"', (120, 80)),
    ('width="10mm" height="1in"', (38, 96)),
    ('viewBox="0 0 300 150"', (300, 150)),
    ('width="100%" height="100%" viewBox="0,0,64,32"', (64, 32)),
    ('height="60" viewBox="0 0 300 150"', (120, 60)),
    ('width="2em"', (None, None)),
])
def test_size_from_attributes_or_view_box(attributes: str,
                                          size: tuple[int | None, int | None]) -> None:
    result = sanitize_svg(f'<svg xmlns="{SVG_NS}" {attributes}/>'.encode())
    assert (result.width, result.height) == size


def test_response_headers_forbid_script_and_sniffing() -> None:
    headers = SVG_RESPONSE_HEADERS
    assert headers["Content-Type"] == "image/svg+xml"
    assert headers["X-Content-Type-Options"] == "nosniff"
    directives = {d.split()[0]: d.split()[1:] for d in
                  (p.strip() for p in headers["Content-Security-Policy"].split(";"))}
    assert directives["default-src"] == ["'none'"]
    assert directives["sandbox"] == []  # no allow-scripts
    assert "script-src" not in directives  # so default-src 'none' applies to scripts
