"""What the admin shows of a stored file: its thumbnail (or video poster) through a
signed URL, its size in human units, its dimensions, its variants with links; and
``StoredFileThumbnailAdmin``, the base of every admin whose model holds a stored file.

Every function reads the file's variants from ``variants.all()``, so a change list that
prefetches them (``prefetch_related("variants")`` on the files) renders a page in a
constant number of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.storage.blobs import blob_store, download_name, is_servable
from apps.storage.models import StoredFile, Variant, VariantKind

_PICTURE_KINDS = (VariantKind.THUMBNAIL, VariantKind.POSTER, VariantKind.PREVIEW)


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def dimensions(stored: StoredFile | None) -> str:
    if stored is None or not stored.width or not stored.height:
        return "—"
    text = f"{stored.width} x {stored.height}"
    if stored.duration:
        text += f", {stored.duration:.1f} s"
    return text


def _picture(stored: StoredFile) -> Variant | None:
    """The smallest thumbnail, else the poster, else a preview."""
    found = [v for v in stored.variants.all() if v.kind in _PICTURE_KINDS]
    found.sort(key=lambda v: (_PICTURE_KINDS.index(VariantKind(v.kind)), v.size))
    return found[0] if found else None


def thumbnail(stored: StoredFile | None, *, size: int = 64) -> SafeString | str:
    """An <img> of the file's thumbnail (signed URL), or why there is none."""
    if stored is None:
        return "—"
    if not is_servable(stored):
        return format_html('<span class="badge badge-held" title="{}">{}</span>',
                           stored.scan_result or "", stored.get_scan_status_display())
    variant = _picture(stored)
    if variant is None:
        return format_html('<span class="badge">{}</span>', "no thumbnail")
    url = blob_store.signed_url(variant)
    return format_html('<img src="{}" alt="{}" loading="lazy" class="admin-thumb" '
                       'style="max-width:{}px;max-height:{}px;border-radius:4px">',
                       url, stored.original_name, size, size)


def variant_links(stored: StoredFile | None) -> SafeString | str:
    """Every variant with its spec, format, size and a signed link (when servable)."""
    if stored is None:
        return "—"
    variants = sorted(stored.variants.all(), key=lambda v: (v.kind, v.spec, v.format))
    if not variants:
        return "—"
    servable = is_servable(stored)
    sign = blob_store.url_signer() if servable else None
    rows = []
    for v in variants:
        label = (f"{v.get_kind_display()} {v.spec} ({v.format}, {dimensions_of(v)}, "
                 f"{human_size(v.size)})")
        href = sign(file_id=stored.pk, variant_id=v.pk, key=v.key, mime_type=v.mime_type,
                    filename=download_name(stored, v)) if sign else ""
        rows.append((href, label))
    return format_html('<ul class="variant-links">{}</ul>', format_html_join(
        "", '<li><a href="{}" target="_blank" rel="noopener">{}</a></li>', rows))


def variant_link(variant: Variant) -> SafeString | str:
    """A signed link to one variant, when its file may be served."""
    stored = variant.stored_file
    if not is_servable(stored):
        return "—"
    href = blob_store.url_signer()(file_id=stored.pk, variant_id=variant.pk, key=variant.key,
                                   mime_type=variant.mime_type,
                                   filename=download_name(stored, variant))
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', href, variant.spec)


def dimensions_of(variant: Variant) -> str:
    return f"{variant.width}x{variant.height}" if variant.width and variant.height else "?"


class StoredFileThumbnailAdmin(admin.ModelAdmin):
    """An admin of a model with a ``stored_file`` foreign key: the file's thumbnail in
    the list (``preview``) and a large one on its page (``preview_large``), with the
    variants prefetched so that a list page costs the same queries whatever its length."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("stored_file__variants")

    @admin.display(description="")
    def preview(self, obj: Any) -> SafeString | str:
        return thumbnail(obj.stored_file)

    @admin.display(description="preview")
    def preview_large(self, obj: Any) -> SafeString | str:
        return thumbnail(obj.stored_file, size=320)
