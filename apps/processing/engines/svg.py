"""Sanitise an SVG so that serving it cannot run script or fetch anything.

SVG is never rasterised here (Pillow cannot, and a rasteriser is a large attack
surface); it is rewritten and served as is, behind ``SVG_RESPONSE_HEADERS``.

Parsing goes through defusedxml: entity declarations, external entities and any
DOCTYPE with an internal subset are refused (XXE, billion laughs, attribute defaults
smuggled in through ATTLIST). A bare ``<!DOCTYPE svg PUBLIC ...>`` (the SVG 1.1
boilerplate many editors still write) is accepted: expat never loads it. Nesting
depth is refused during parsing, before a tree that deep is built.

The rewrite is an allow-list: SVG elements and attributes known to draw are kept,
everything else is dropped with its subtree (script, foreignObject, animation,
elements of other namespaces, event handlers). A reference survives only if it
points inside the document (``#id``) or is an inline raster image
(``data:image/png|jpeg|gif|webp;base64``). CSS, in ``<style>`` and ``style=``, is
checked rather than parsed: it may call only functions that cannot fetch, and
``url()`` must be local; a stylesheet that fails is dropped whole, a ``style``
attribute loses the declarations that fail.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # serialising only: parsing goes through defusedxml
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from apps.processing.errors import PermanentError
from apps.storage.views import CSP_BY_TYPE

SVG_MAX_BYTES = 4 * 1024 * 1024
SVG_MAX_DEPTH = 128

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

SVG_RESPONSE_HEADERS: dict[str, str] = {
    "Content-Type": "image/svg+xml",
    # No script (default-src 'none' and a sandbox without allow-scripts), no fetch
    # but inline images and styles: the file view serves SVGs with exactly this.
    "Content-Security-Policy": CSP_BY_TYPE["image/svg+xml"],
    "X-Content-Type-Options": "nosniff",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ELEMENTS = _words("""
    svg g defs symbol use switch a title desc style
    path rect circle ellipse line polyline polygon
    text tspan textPath
    linearGradient radialGradient stop pattern clipPath mask marker image
    filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood feFuncA
    feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode feMorphology
    feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence
""")
_TEXT_ONLY = frozenset({"title", "desc", "style"})
_DATA_IMAGE_HOLDERS = frozenset({"image", "feImage"})

_ATTRIBUTES = _words("""
    id class style lang tabindex systemLanguage
    x y x1 y1 x2 y2 cx cy r rx ry fx fy fr width height d points pathLength
    transform viewBox preserveAspectRatio version
    fill fill-opacity fill-rule stroke stroke-dasharray stroke-dashoffset stroke-linecap
    stroke-linejoin stroke-miterlimit stroke-opacity stroke-width opacity color
    clip-path clip-rule mask filter marker-start marker-mid marker-end
    font-family font-size font-size-adjust font-stretch font-style font-variant
    font-weight text-anchor dominant-baseline alignment-baseline baseline-shift
    letter-spacing word-spacing text-decoration writing-mode direction unicode-bidi
    display visibility overflow stop-color stop-opacity flood-color flood-opacity
    lighting-color color-interpolation color-interpolation-filters shape-rendering
    text-rendering image-rendering vector-effect paint-order mix-blend-mode isolation
    transform-origin transform-box pointer-events
    gradientUnits gradientTransform spreadMethod offset
    patternUnits patternContentUnits patternTransform
    clipPathUnits maskUnits maskContentUnits
    markerWidth markerHeight markerUnits refX refY orient
    dx dy rotate textLength lengthAdjust startOffset method spacing side
    filterUnits primitiveUnits in in2 result stdDeviation edgeMode type values
    tableValues slope intercept amplitude exponent mode operator k1 k2 k3 k4 order
    kernelMatrix divisor bias targetX targetY preserveAlpha surfaceScale
    diffuseConstant specularConstant specularExponent kernelUnitLength scale
    xChannelSelector yChannelSelector radius baseFrequency numOctaves seed stitchTiles
    azimuth elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle
    href
""") | {f"{{{XLINK_NS}}}href", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang"}
_HREFS = frozenset({"href", f"{{{XLINK_NS}}}href"})
_NOT_CSS = frozenset({"id", "class", "lang", f"{{{XML_NS}}}lang", f"{{{XML_NS}}}space"})

# CSS functions that draw or compute; none of them fetches anything.
_CSS_FUNCTIONS = _words("""
    url rgb rgba hsl hsla hwb lab lch oklab oklch color calc min max clamp var
    translate translatex translatey scale scalex scaley rotate matrix skew skewx skewy
    linear-gradient radial-gradient conic-gradient repeating-linear-gradient
    repeating-radial-gradient cubic-bezier steps blur drop-shadow brightness contrast
    grayscale hue-rotate invert saturate sepia opacity
    not is where has nth-child nth-last-child nth-of-type nth-last-of-type lang dir
""")
_CSS_FUNCTION = re.compile(r"([A-Za-z_-][\w-]*)\s*\(")
_CSS_URL = re.compile(r"url\s*\(([^)]*)", re.IGNORECASE)  # unclosed at the end still loads
_CSS_SUSPECT = re.compile(r"[(\\@:]")
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)
_FRAGMENT = re.compile(r"#[^\s()'\"<>\\]+")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*",
                         re.IGNORECASE)
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "livescript:")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in)?\s*")
_PX_PER = {None: 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4,
           "cm": 96 / 2.54, "in": 96.0}


class SvgRefused(PermanentError):
    """The file is not an SVG that can be made safe (not XML, DTD, too big): a reason."""


@dataclass(frozen=True)
class SanitizedSvg:
    data: bytes  # UTF-8, no XML declaration, rooted at <svg xmlns="...">
    width: int | None  # CSS pixels, from width/height or the viewBox; None if unknown
    height: int | None
    removed: list[str] = field(default_factory=list)  # what was dropped, for the log


def sanitize_svg(data: bytes, *, max_bytes: int = SVG_MAX_BYTES,
                 max_depth: int = SVG_MAX_DEPTH) -> SanitizedSvg:
    """Rewrite ``data`` keeping only what draws; raise SvgRefused when it cannot be."""
    if len(data) > max_bytes:
        raise SvgRefused(f"{len(data)} bytes is over the {max_bytes} byte limit")
    removed: list[str] = []
    root = _parse(data, max_depth, removed)
    if root.tag == "svg":
        raise SvgRefused(f"<svg> root without xmlns=\"{SVG_NS}\": not rendered as SVG")
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SvgRefused(f"root element is {_name(root.tag)}, not an SVG <svg>")
    _clean(root, removed)
    width, height = _size(root)
    _unqualify(root)
    text = ET.tostring(root, encoding="unicode")
    return SanitizedSvg(data=text.encode("utf-8"), width=width, height=height,
                        removed=removed)


class _Builder(ET.TreeBuilder):
    """Refuses deep nesting while parsing; notes the comments and PIs it drops."""

    def __init__(self, max_depth: int, removed: list[str]) -> None:
        super().__init__()
        self.depth, self.max_depth, self.removed = 0, max_depth, removed

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self.depth += 1
        if self.depth > self.max_depth:
            raise SvgRefused(f"elements nested deeper than {self.max_depth}")
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return super().end(tag)

    def pi(self, target: str, text: str | None = None) -> None:  # type: ignore[override]
        self.removed.append(f"processing instruction <?{target}?>")


class _Parser(DefusedXMLParser):
    """defusedxml, but a DOCTYPE without an internal subset is let through."""

    def defused_start_doctype_decl(self, name: str, sysid: str | None, pubid: str | None,
                                   has_internal_subset: bool) -> None:
        if has_internal_subset:
            super().defused_start_doctype_decl(name, sysid, pubid, has_internal_subset)


def _parse(data: bytes, max_depth: int, removed: list[str]) -> ET.Element:
    parser = _Parser(target=_Builder(max_depth, removed), forbid_dtd=True,
                     forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise SvgRefused(f"DTDs and entities are not accepted: {exc!r}") from None
    except ParseError as exc:
        raise SvgRefused(f"not well-formed XML: {exc}") from None
    except RecursionError:
        raise SvgRefused(f"elements nested deeper than {max_depth}") from None
    if not isinstance(root, ET.Element):
        raise SvgRefused("no root element")
    return root


def _clean(root: ET.Element, removed: list[str]) -> None:
    """Walk without recursion (depth is bounded already, and this keeps it cheap)."""
    stack = [root]
    while stack:
        element = stack.pop()
        _clean_attributes(element, _local(element.tag), removed)
        kept = []
        for child in list(element):
            reason = _element_problem(child, element)
            if reason is None:
                kept.append(child)
            else:
                element.remove(child)
                removed.append(f"element {_name(child.tag)} ({reason})")
        stack.extend(reversed(kept))


def _element_problem(element: ET.Element, parent: ET.Element) -> str | None:
    """Why the element must go with its subtree, or None to keep it."""
    local = _local(element.tag)
    if local is None or local not in _ELEMENTS:
        return "not allowed"
    if _local(parent.tag) in _TEXT_ONLY:
        return "markup inside a text-only element"
    if local == "style":
        return _css_problem(element.text or "")
    return None


def _clean_attributes(element: ET.Element, local: str | None,
                      removed: list[str]) -> None:
    for name, value in list(element.attrib.items()):
        reason = _attribute_problem(name, value, local)
        if reason is not None:
            del element.attrib[name]
        elif name == "style" and (kept := _clean_declarations(value)) != value:
            reason = "unsafe CSS declarations"
            if kept:
                element.set(name, kept)
            else:
                del element.attrib[name]
        if reason is not None:
            removed.append(f"attribute {_name(name)}={_excerpt(value)} on "
                           f"{_name(element.tag)} ({reason})")


def _attribute_problem(name: str, value: str, element: str | None) -> str | None:
    """Why the attribute must go, or None to keep it."""
    if name not in _ATTRIBUTES:
        handler = (_local(name, any_ns=True) or "").lower().startswith("on")
        return "event handler" if handler else "not allowed"
    if _has_script_scheme(value):
        return "script URL"
    if name in _HREFS:
        if _FRAGMENT.fullmatch(value.strip()):
            return None
        if element in _DATA_IMAGE_HOLDERS and _DATA_IMAGE.fullmatch(value.strip()):
            return None
        return "external reference"
    if name in _NOT_CSS or name == "style":
        return None
    return _css_problem(value)


def _clean_declarations(style: str) -> str:
    """The declarations of a style attribute that pass; all of it if all of them do."""
    declarations = [d.strip() for d in style.split(";") if d.strip()]
    kept = ";".join(d for d in declarations if _css_problem(d) is None)
    if _css_problem(kept) is not None:  # what one piece hid, the whole may show
        return ""
    return style if kept == ";".join(declarations) else kept


def _css_problem(css: str) -> str | None:
    """Why this CSS could fetch or run something, or None.

    A check, not a parser: escapes are refused outright (they can spell any keyword),
    every function called must be one that cannot fetch, every url() must be local.
    """
    if not _CSS_SUSPECT.search(css):
        return None  # no call, no at-rule, no escape, no scheme: nothing can load
    text = _CSS_COMMENT.sub(" ", css)
    lowered = text.lower()
    if "\\" in text:
        return "CSS escape"
    if any(word in lowered for word in ("@import", "-moz-binding", "behavior")):
        return "CSS that loads or runs code"
    if _has_script_scheme(text):
        return "script URL"
    for match in _CSS_FUNCTION.finditer(text):
        if match.group(1).lower() not in _CSS_FUNCTIONS:
            return f"CSS function {match.group(1)}()"
    for match in _CSS_URL.finditer(text):
        target = match.group(1).strip().strip("'\"").strip()
        if not (_FRAGMENT.fullmatch(target) or _DATA_IMAGE.fullmatch(target)):
            return "external url()"
    return None


def _unqualify(root: ET.Element) -> None:
    """Spell the namespaces out, so ET writes ``<svg xmlns=...>`` and ``xlink:href``
    rather than ``ns0:`` prefixes (register_namespace would be process-wide state)."""
    xlink = f"{{{XLINK_NS}}}"
    uses_xlink = False
    for element in root.iter():
        element.tag = _local(element.tag) or element.tag
        for name in [n for n in element.attrib if n.startswith(xlink)]:
            element.set(f"xlink:{name[len(xlink):]}", element.attrib.pop(name))
            uses_xlink = True
    root.set("xmlns", SVG_NS)
    if uses_xlink:
        root.set("xmlns:xlink", XLINK_NS)


def _has_script_scheme(value: str) -> bool:
    """After the parser has decoded entities, also ignore the blanks browsers skip."""
    if ":" not in value:
        return False
    squeezed = _INVISIBLE.sub("", value).lower()
    return any(scheme in squeezed for scheme in _SCRIPT_SCHEMES)


def _size(root: ET.Element) -> tuple[int | None, int | None]:
    """Width and height in CSS pixels, as a browser sizes the image when it can."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = _view_box(root.get("viewBox"))
    if box is not None:
        box_w, box_h = box
        if width is None and height is None:
            width, height = box_w, box_h
        elif width is None and height is not None:
            width = height * box_w / box_h
        elif height is None and width is not None:
            height = width * box_h / box_w
    return _pixels(width), _pixels(height)


def _length(value: str | None) -> float | None:
    match = _LENGTH.fullmatch(value or "")
    if match is None:
        return None  # absent, or a percentage / em: depends on where it is shown
    number = float(match.group(1)) * _PX_PER[match.group(2)]
    return number if number > 0 else None


def _view_box(value: str | None) -> tuple[float, float] | None:
    parts = (value or "").replace(",", " ").split()
    try:
        _, _, width, height = (float(p) for p in parts)
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None


def _pixels(value: float | None) -> int | None:
    return None if value is None else max(1, round(value))


def _local(tag: Any, *, any_ns: bool = False) -> str | None:
    """An SVG element's local name; None for other namespaces (or comments and PIs)."""
    if not isinstance(tag, str):
        return None
    if tag.startswith(f"{{{SVG_NS}}}"):
        return tag[len(SVG_NS) + 2:]
    if tag.startswith("{"):
        return tag.rpartition("}")[2] if any_ns else None
    return tag if any_ns else None


def _name(tag: Any) -> str:
    """How the log names an element or attribute: ``<svg:rect>`` style, short."""
    if not isinstance(tag, str):
        return "<comment>"
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    prefix = {SVG_NS: "", XLINK_NS: "xlink:", XML_NS: "xml:", "": ""}.get(namespace, "?:")
    return f"<{prefix}{local}>" if namespace == SVG_NS else f"{prefix}{local}"


def _excerpt(value: str, limit: int = 40) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[:limit] + "...")
