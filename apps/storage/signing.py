"""Tokens for the platform's own signed file URLs (local storage).

A token names a StoredFile (and optionally one of its variants), an expiry and a
disposition, and carries an HMAC-SHA256 over all of it keyed by SECRET_KEY with a salt
of its own. Changing one character makes it invalid (403); past its expiry it is gone
(410). The file id rather than the key goes in the token, so the view can refuse a file
that was quarantined or deleted after the link was made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from django.core import signing

from apps.storage.errors import LinkExpired, LinkInvalid

_SALT = "apps.storage.signed-url"
_DISPOSITIONS = {"i": "inline", "a": "attachment"}


@dataclass(frozen=True)
class FileGrant:
    file_id: UUID
    variant_id: UUID | None
    expires: int
    disposition: str


def make_token(grant: FileGrant) -> str:
    payload = [grant.file_id.hex, grant.variant_id.hex if grant.variant_id else "",
               grant.expires, grant.disposition[0]]
    return signing.dumps(payload, salt=_SALT, compress=False)


def read_token(token: str, *, now: float | None = None) -> FileGrant:
    try:
        file_hex, variant_hex, expires, disposition = signing.loads(token, salt=_SALT)
        grant = FileGrant(UUID(hex=file_hex), UUID(hex=variant_hex) if variant_hex else None,
                          int(expires), _DISPOSITIONS[disposition])
    except (signing.BadSignature, ValueError, TypeError, KeyError):
        raise LinkInvalid() from None
    if grant.expires < (now if now is not None else time.time()):
        raise LinkExpired()
    return grant
