"""Tokens of the local signed URLs: HMAC over file, variant, expiry and disposition."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import pytest
from django.core import signing

from apps.core.ids import uuid7
from apps.storage.errors import LinkExpired, LinkInvalid
from apps.storage.signing import _SALT, FileGrant, make_token, read_token


def grant(**changes: Any) -> FileGrant:
    values: dict[str, Any] = {"file_id": uuid7(), "variant_id": None,
                              "expires": int(time.time()) + 60, "disposition": "inline"}
    values.update(changes)
    return FileGrant(**values)


@pytest.mark.parametrize("disposition", ["inline", "attachment"])
def test_round_trip(disposition: str) -> None:
    original = grant(variant_id=uuid7(), disposition=disposition)
    assert read_token(make_token(original)) == original
    plain = grant(disposition=disposition)
    assert read_token(make_token(plain)) == plain


def test_tokens_fit_a_url_path_segment() -> None:
    token = make_token(grant(variant_id=uuid7()))
    assert "/" not in token and token.isascii() and " " not in token


def test_every_changed_character_invalidates_the_token() -> None:
    token = make_token(grant())
    for position in range(0, len(token), 3):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1:]
        with pytest.raises(LinkInvalid):
            read_token(tampered)


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c", "..", "x" * 500])
def test_garbage_is_invalid(token: str) -> None:
    with pytest.raises(LinkInvalid):
        read_token(token)


def test_token_from_another_secret_or_salt_is_invalid(settings: Any) -> None:
    payload = [uuid7().hex, "", int(time.time()) + 60, "i"]
    with pytest.raises(LinkInvalid):
        read_token(signing.dumps(payload, salt="another.purpose"))
    token = make_token(grant())
    settings.SECRET_KEY = "a-different-secret-key-for-this-test-only-0123456789"
    with pytest.raises(LinkInvalid):
        read_token(token)


@pytest.mark.parametrize("payload", [
    ["not-hex", "", 1, "i"],
    [UUID(int=1).hex, "", 10**12, "x"],          # unknown disposition
    [UUID(int=1).hex, "", "soon", "i"],
    [UUID(int=1).hex, ""],
    {"file": UUID(int=1).hex},
])
def test_well_signed_but_malformed_payload_is_invalid(payload: Any) -> None:
    with pytest.raises(LinkInvalid):
        read_token(signing.dumps(payload, salt=_SALT))


def test_expiry_is_checked_against_now() -> None:
    expires = int(time.time()) + 100
    token = make_token(grant(expires=expires))
    assert read_token(token, now=expires).expires == expires  # valid up to its last second
    with pytest.raises(LinkExpired):
        read_token(token, now=expires + 1)
    with pytest.raises(LinkExpired):
        read_token(make_token(grant(expires=int(time.time()) - 1)))


def test_error_codes_are_403_and_410() -> None:
    assert (LinkInvalid.status_code, LinkInvalid.code) == (403, "link_invalid")
    assert (LinkExpired.status_code, LinkExpired.code) == (410, "link_expired")


def test_token_maker_makes_exactly_what_django_signing_makes() -> None:
    from django.core import signing

    for variant in (None, uuid7()):
        original = grant(variant_id=variant)
        for _ in range(3):  # a second boundary between the two calls: try again
            before = int(time.time())
            ours = make_token(original)
            payload = [original.file_id.hex, variant.hex if variant else "",
                       original.expires, original.disposition[0]]
            django = signing.dumps(payload, salt=_SALT, compress=False)
            if int(time.time()) == before:
                break
        assert ours == django
        assert read_token(ours) == original
