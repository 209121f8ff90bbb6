"""The stable URLs a MediaFile shows (``publicUrl``, ``thumbnailUrl``, ``placeholderUrl``).

``/v1/media/files/<id>/<token>[/<spec>[.<format>]]``: the token is an HMAC of the id, so a URL
cannot be guessed from a (sequential) id, yet never expires — a site's logo keeps
working. The view behind it (``views_content``) checks the file is live and cleared,
counts the bandwidth and redirects to a short-lived signed URL of the storage. A variant
is named by its spec; ``.<format>`` picks one of its formats other than the configured
``VARIANT_FORMAT`` (a PNG resize, an optimized JPEG).
"""

from __future__ import annotations

import hmac

from django.utils.crypto import salted_hmac

_SALT = "author_media.content"


def content_token(media_id: int) -> str:
    return salted_hmac(_SALT, str(media_id), algorithm="sha256").hexdigest()[:32]


def token_matches(media_id: int, token: str) -> bool:
    return hmac.compare_digest(content_token(media_id), token)


def content_url(media_id: int, *, variant: str | None = None,
                format: str | None = None) -> str:
    """The file's URL, or its ``variant``'s (in ``format``, else the configured one)."""
    base = f"/v1/media/files/{media_id}/{content_token(media_id)}"
    if not variant:
        return base
    return f"{base}/{variant}.{format}" if format else f"{base}/{variant}"
