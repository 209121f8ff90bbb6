"""``upload_input.base64_input``: plain base64 or a data: URL, its decoded size known
before a byte is decoded, decoded in slices as storage pulls it."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.user_library.helpers import PNG
from user_library import upload_input
from user_library.errors import InvalidItem
from user_library.upload_input import base64_input


def decoded(text: str) -> bytes:
    return b"".join(base64_input(text).chunks())


@pytest.mark.parametrize("length", range(0, 9))
def test_size_is_the_decoded_length_for_every_padding(length: int) -> None:
    data = bytes(range(200, 200 + length)) if length else b""
    text = base64.b64encode(data).decode()
    if not text:
        with pytest.raises(InvalidItem):
            base64_input(text)
        return
    parsed = base64_input(text)
    assert parsed.size == length
    assert decoded(text) == data


def test_plain_base64_has_no_type() -> None:
    parsed = base64_input(base64.b64encode(PNG).decode())
    assert parsed.mime_type is None and parsed.size == len(PNG)
    assert decoded(parsed.text) == PNG


@pytest.mark.parametrize(("prefix", "mime_type"), [
    ("data:image/png;base64,", "image/png"),
    ("data:video/mp4;codecs=avc1;base64,", "video/mp4"),
    ("data:image/svg+xml;base64,", "image/svg+xml"),
    ("data:;base64,", None),
])
def test_a_data_url_gives_its_type(prefix: str, mime_type: str | None) -> None:
    parsed = base64_input(prefix + base64.b64encode(PNG).decode())
    assert parsed.mime_type == mime_type
    assert b"".join(parsed.chunks()) == PNG and parsed.size == len(PNG)


def test_whitespace_is_ignored() -> None:
    text = base64.b64encode(PNG).decode()
    wrapped = " " + "\r\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n\t"
    parsed = base64_input(wrapped)
    assert parsed.size == len(PNG) and b"".join(parsed.chunks()) == PNG


@pytest.mark.parametrize("value", [None, "", 5, b"iVBORw0KGgo=", ["iVBORw0KGgo="], "   ",
                                   "abc", "abcde", "data:image/png;base64,", "QUJD\u00e9===",
                                   "data:image/png,iVBORw0KGgo=", "QUJD====", "QQ==QQ==",
                                   "Q===", "QQ=A", "=QQ=", "===="])
def test_refused_before_decoding(value: Any) -> None:
    with pytest.raises(InvalidItem):
        base64_input(value)


@pytest.mark.parametrize("text", ["!!!!", "ab-_", "QUJ*", "QU.D", "A\x7fBC", "QUJD" * 5 + "QU?D",
                                  "QUJD\x00\x00\x00\x00"])
def test_refused_while_decoding(text: str) -> None:
    parsed = base64_input(text)  # the length is plausible...
    with pytest.raises(InvalidItem, match="fileData is not valid base64"):
        b"".join(parsed.chunks())  # ...the content is not


def test_decoding_goes_slice_by_slice(monkeypatch: Any) -> None:
    monkeypatch.setattr(upload_input, "SLICE_CHARS", 8)
    data = bytes(range(256)) * 3
    chunks = list(base64_input(base64.b64encode(data).decode()).chunks())
    assert len(chunks) == len(base64.b64encode(data)) // 8
    assert all(len(chunk) == 6 for chunk in chunks) and b"".join(chunks) == data


def test_padding_inside_is_refused_even_where_each_slice_would_decode(monkeypatch: Any
                                                                       ) -> None:
    """Two base64 texts glued together: with 4-character slices each would decode."""
    monkeypatch.setattr(upload_input, "SLICE_CHARS", 4)
    for glued in ("QQ==" + "QkND", "QkI=" + "QkND", "QkND" + "QQ==" + "QkND"):
        with pytest.raises(InvalidItem, match="fileData is not valid base64"):
            list(base64_input(glued).chunks())
    last = base64_input("QkND" + "QQ==")
    assert last.size == 4 and b"".join(last.chunks()) == b"BCCA"


def test_a_bad_slice_fails_after_the_good_ones(monkeypatch: Any) -> None:
    monkeypatch.setattr(upload_input, "SLICE_CHARS", 8)
    text = base64.b64encode(bytes(48)).decode()
    chunks = base64_input(text[:40] + "*" + text[41:]).chunks()
    assert [next(chunks) for _ in range(5)] == [bytes(6)] * 5
    with pytest.raises(InvalidItem):
        next(chunks)
