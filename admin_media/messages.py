"""Every text the console API answers with, as a message id.

The ids are English; ``locale/zh_Hans/LC_MESSAGES/django.po`` holds the spec's Chinese
for each, and Chinese is what a caller gets unless it asks for English
(``Accept-Language: en``; apps.core.languages). Errors are translated when the envelope
is rendered (apps.core.dialects), success messages here, when the view answers.
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_noop as _

# GET
FOUND = _("Media files found")
NONE_FOUND = _("No media files found")
QUERY_FAILED = _("Failed to query media files")
PAGE_INVALID = _("page is invalid: it must be a positive integer")
PAGE_SIZE_INVALID = _("pageSize is invalid: it must be an integer from 1 to 100")
MEDIA_TYPE_INVALID = _("mediaType is invalid: it must be image or video")
CREATED_FROM_INVALID = _("createdFrom is invalid: it must be an ISO 8601 date-time")
CREATED_TO_INVALID = _("createdTo is invalid: it must be an ISO 8601 date-time")
FILTER_INVALID = _("A filter value must be text of at most 512 characters")
# PATCH, DELETE
MEDIA_IDS_INVALID = _("mediaIds is invalid: it must be a non-empty array")
MEDIA_IDS_ITEMS_INVALID = _("mediaIds must hold non-empty strings")
TOO_MANY = _("A batch may hold at most 100 media files")
CATEGORY_INVALID = _("category is invalid: it must be an array")
CATEGORY_ITEMS_INVALID = _("category must hold non-empty strings of at most 64 characters")
CATEGORY_TOO_MANY = _("category may hold at most 100 values")
SET_CATEGORY_FAILED = _("Failed to set the categories")
DELETE_FAILED = _("Failed to delete the media files")
# PUT
ID_INVALID = _("id is invalid: it must be a non-empty string")
NOTHING_TO_UPDATE = _("Give at least one field to update (category, aspectRatio, supabaseId "
                        "or posterUrl)")
ASPECT_FORMAT = _("aspectRatio must have the form n/m (such as 16/9 or 4/3)")
ASPECT_POSITIVE = _("Both terms of aspectRatio must be greater than 0")
SUPABASE_ID_INVALID = _("supabaseId is invalid: it must be a string")
POSTER_URL_INVALID = _("posterUrl is invalid: it must be an http(s) URL")
POSTER_VIDEO_ONLY = _("posterUrl applies to video media only")
NOT_FOUND = _("The media file does not exist or has been deleted")
UPDATED = _("Media file updated")
EDIT_FAILED = _("Failed to edit the media file")
# POST (beyond the spec)
CREATED = _("Media file created")
CREATE_FAILED = _("Failed to create the media file")
URL_INVALID = _("url is invalid: it must be an http(s) URL")
MIME_TYPE_INVALID = _("type is invalid: it must be an image or video MIME type")
MEDIA_TYPE_CONTRADICTS = _("mediaType contradicts type")
TEXT_INVALID = _("%(field)s is invalid: it must be a string of at most %(limit)d characters")
META_INVALID = _("meta is invalid: it must be an object")
FILE_OR_URL = _("Send either a file or a url")
# the request itself
BODY_NOT_JSON = _("The request body is not valid JSON")
BODY_NOT_OBJECT = _("The request body must be a JSON object")
STAFF_ONLY = _("Staff only.")


def updated(count: int) -> str:
    return ngettext("Updated the categories of %(count)d media file",
                    "Updated the categories of %(count)d media files", count) % {"count": count}


def deleted(count: int) -> str:
    return ngettext("Deleted %(count)d media file", "Deleted %(count)d media files",
                    count) % {"count": count}


def text(message: str) -> str:
    """A message in the request's language."""
    return gettext(message)
