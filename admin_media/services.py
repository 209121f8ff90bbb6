"""Writes of the console: categories for many, one media's edit, soft deletes, creation.

Batch writes lock their rows in id order (two consoles updating overlapping batches
cannot deadlock) and touch only live rows: an unknown or deleted id is not counted. The
category entries and tallies follow every write by trigger (models.py).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from admin_media.errors import InvalidRequest, MediaNotFound
from admin_media.messages import POSTER_VIDEO_ONLY
from admin_media.models import Media, MediaType
from admin_media.validation import MediaEdit

# PUT's names -> the model's fields (posterUrl goes into meta)
EDITABLE = {"category": "category", "aspectRatio": "aspect_ratio", "supabaseId": "supabase_id"}


def _locked_live(ids: list[str]) -> dict[str, Media]:
    rows = (Media.objects.select_for_update().filter(pk__in=ids, is_delete=False)
            .order_by("id").only("id", "url"))
    return {row.pk: row for row in rows}


@transaction.atomic
def media_set_categories(*, media_ids: list[str], categories: list[str]) -> list[str]:
    """Set ``categories`` on the live media among ``media_ids``; their ids, in the
    request's order."""
    found = _locked_live(media_ids)
    Media.objects.filter(pk__in=list(found)).update(category=categories,
                                                    updated_at=timezone.now())
    return [media_id for media_id in media_ids if media_id in found]


@transaction.atomic
def media_soft_delete(*, media_ids: list[str]) -> list[Media]:
    """Mark the live media among ``media_ids`` deleted; them, in the request's order."""
    found = _locked_live(media_ids)
    Media.objects.filter(pk__in=list(found)).update(is_delete=True, updated_at=timezone.now())
    return [found[media_id] for media_id in media_ids if media_id in found]


@transaction.atomic
def media_edit(*, edit: MediaEdit) -> Media:
    """Apply PUT's fields to a live media (MediaNotFound otherwise); ``posterUrl`` only
    to a video, into ``meta.posterUrl``."""
    media = Media.objects.select_for_update().filter(pk=edit.id, is_delete=False).first()
    if media is None:
        raise MediaNotFound()
    if "posterUrl" in edit.fields:
        if media.media_type != MediaType.VIDEO:
            raise InvalidRequest(POSTER_VIDEO_ONLY)
        media.meta = {**(media.meta or {}), "posterUrl": edit.fields["posterUrl"]}
    for name, field in EDITABLE.items():
        if name in edit.fields:
            setattr(media, field, edit.fields[name])
    media.updated_at = timezone.now()
    media.save(update_fields=[*(EDITABLE[n] for n in edit.fields if n in EDITABLE),
                              *(["meta"] if "posterUrl" in edit.fields else []),
                              "updated_at"])
    return media


def media_create(*, fields: dict[str, Any]) -> Media:
    """A new live media from checked fields (validation.media_new / ingest)."""
    now = timezone.now()
    return Media.objects.create(created_at=now, updated_at=now, **fields)
