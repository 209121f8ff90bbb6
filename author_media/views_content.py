"""``GET /v1/media/files/<id>/<token>[/<spec>[.<format>]]``: the stable public URL of a
file or of one of its variants (``format`` defaults to the configured VARIANT_FORMAT;
ad-hoc variants such as a PNG resize or an optimized JPEG need it named).

No login: the token (an HMAC of the id, ``links.py``) is the capability, so a site can
embed its logo. The file must be live and cleared by the scanner; the response is a
302 to a short-lived signed URL of the storage. Bandwidth: on S3 the bytes never pass
through the platform, so the size of what is signed for is counted here, when the URL
is issued; on local storage the file view counts what it actually streams.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from apps.processing.engines.variant_specs import ENCODINGS
from apps.processing.variants import variant_for
from apps.storage.blobs import blob_store, is_servable
from apps.storage.models import StoredFile, Variant
from apps.storage.signals import bytes_served
from author_media.conf import author_media_settings
from author_media.links import token_matches
from author_media.models import MediaFile


@require_http_methods(["GET", "HEAD"])
def content(request: HttpRequest, media_id: int, token: str, spec: str | None = None,
            format: str | None = None) -> HttpResponse:
    if format is not None and format not in ENCODINGS:  # a spec name with a dot in it
        spec, format = f"{spec}.{format}", None
    if not token_matches(media_id, token):
        raise Http404
    media = (MediaFile.objects.select_related("stored_file")
             .filter(pk=media_id, deleted_at__isnull=True, is_quarantined=False).first())
    stored = media.stored_file if media else None
    if stored is None or not is_servable(stored):
        raise Http404
    obj: StoredFile | Variant = stored
    if spec is not None:
        variant = variant_for(stored, spec, format or str(author_media_settings.VARIANT_FORMAT))
        if variant is None:
            raise Http404
        obj = variant
    url = blob_store.signed_url(obj, ttl=int(author_media_settings.SIGNED_URL_TTL))
    if not blob_store.is_local and request.method == "GET":
        bytes_served.send(sender=StoredFile, stored_file=stored,
                          variant=obj if isinstance(obj, Variant) else None, nbytes=obj.size)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, max-age=60"
    return response
