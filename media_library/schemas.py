"""The request bodies of the spec, field by field (camelCase in, model fields out)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from media_library.models import CategoryType, ItemType, SnippetType, TemplateType
from media_library.validation import (
    Field,
    Problem,
    Schema,
    boolean,
    enum,
    integer,
    string,
    string_list,
    url,
    uuid_value,
)

CATEGORY_CREATE = Schema({
    "name": Field(string(100, empty=False), "name", required=True),
    "description": Field(string(), "description"),
    "type": Field(enum(CategoryType.values), "type", required=True),
    "color": Field(string(20), "color"),
    "icon": Field(string(50), "icon"),
})
CATEGORY_UPDATE = Schema({
    **{k: v for k, v in CATEGORY_CREATE.fields.items() if k != "type"},
    "name": Field(string(100, empty=False), "name", required=True),
    "displayOrder": Field(integer(0), "display_order", nullable=False),
})
CATEGORY_REORDER = Schema({
    "type": Field(enum(CategoryType.values), "type", required=True),
    "categoryIds": Field(string_list(max_items=1000, max_length=36, distinct=False), "category_ids",
                         required=True),
})

_COMMON = {
    "categoryId": Field(uuid_value, "category_id"),
    "tags": Field(string_list(), "tags", nullable=False),
}
ITEM_CREATE = Schema({
    "type": Field(enum(ItemType.values), "type", required=True),
    "name": Field(string(255, empty=False), "name", required=True),
    "description": Field(string(), "description"),
    "fileUrl": Field(url, "file_url", required=True),
    "thumbnailUrl": Field(url, "thumbnail_url"),
    "mimeType": Field(string(100), "mime_type"),
    "fileSize": Field(integer(0, 2**63 - 1), "file_size"),
    "width": Field(integer(0), "width"),
    "height": Field(integer(0), "height"),
    "duration": Field(integer(0), "duration"),
    "cloudinaryPublicId": Field(string(255), "cloudinary_public_id"),
    "cloudinaryAssetId": Field(string(255), "cloudinary_asset_id"),
    **_COMMON,
})
ITEM_UPDATE = Schema({
    "name": Field(string(255, empty=False), "name", required=True),
    "description": Field(string(), "description"),
    "isStarred": Field(boolean, "is_starred", nullable=False),
    **_COMMON,
})
# The multipart upload's text fields; the file's own facts (type, mimeType, size,
# dimensions, duration) come from its bytes. ``name`` defaults to the file's name, and a
# ``type`` given must be the one the bytes show.
ITEM_UPLOAD = Schema({
    "name": Field(string(255, empty=False), "name"),
    "description": ITEM_CREATE.fields["description"],
    "type": Field(enum(ItemType.values), "type", nullable=False),
    "isStarred": Field(boolean, "is_starred", nullable=False),
    **_COMMON,
})


def _slots(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise Problem("must be an array")
    return value  # each slot is checked by content() with its index in the message


SLOT = Schema({
    "id": Field(string(100, empty=False), "id", required=True),
    "label": Field(string(255, empty=False), "label", required=True),
    "required": Field(boolean, "required", required=True),
    "acceptedTypes": Field(string_list(max_items=3, max_length=10), "acceptedTypes",
                           required=True),
})
CONTENT = Schema({
    "text": Field(string(), "text", required=True),
    "mediaSlots": Field(_slots, "mediaSlots", required=True),
    "hashtags": Field(string_list(), "hashtags", required=True),
    "defaultCaption": Field(string(), "defaultCaption"),
})
_SLOT_TYPES = ("image", "video", "gif")


def content(value: Any) -> dict[str, Any]:
    """The template content object, exactly the spec's fields (others are dropped)."""
    problems: list[str] = []
    cleaned = CONTENT.collect(value, problems, prefix="content.")
    slots = []
    seen: set[str] = set()
    for n, slot in enumerate(cleaned.get("mediaSlots") or []):
        checked = SLOT.collect(slot, problems, prefix=f"content.mediaSlots.{n}.")
        types = checked.get("acceptedTypes")
        if types is not None and (not types or not set(types) <= set(_SLOT_TYPES)):
            problems.append(f"content.mediaSlots.{n}.acceptedTypes must be a non-empty array "
                            f"of: {', '.join(_SLOT_TYPES)}")
        if checked.get("id") in seen:
            problems.append(f"content.mediaSlots.{n}.id must be unique")
        seen.add(str(checked.get("id")))
        slots.append(checked)
    if problems:
        raise _Nested(problems)
    cleaned["mediaSlots"] = slots
    if cleaned.get("defaultCaption") is None:
        cleaned.pop("defaultCaption", None)
    return cleaned


class _Nested(Problem):
    """Problems with their own field paths, passed through as they are."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ContentSchema(Schema):
    """A Schema whose ``content`` field reports nested paths (content.mediaSlots.0.id)."""

    def collect(self, data: Any, problems: list[str], *, partial: bool = False,
                prefix: str = "") -> dict[str, Any]:
        raw = data.get("content") if isinstance(data, dict) else None
        cleaned = super().collect({k: v for k, v in data.items() if k != "content"}
                                  if isinstance(data, dict) else data,
                                  problems, partial=partial, prefix=prefix)
        if (isinstance(data, dict) and "content" in data) or not partial:
            if raw is None:
                problems.append("content should not be empty")
            else:
                try:
                    cleaned["content"] = content(raw)
                except _Nested as nested:
                    problems.extend(nested.problems)
        return cleaned


_TEMPLATE_FIELDS = {
    "name": Field(string(255, empty=False), "name", required=True),
    "description": Field(string(), "description"),
    "templateType": Field(enum(TemplateType.values), "template_type", required=True),
    "platforms": Field(string_list(max_items=20, max_length=50), "platforms", nullable=False),
    "thumbnailUrl": Field(url, "thumbnail_url"),
    **_COMMON,
}
TEMPLATE_CREATE = ContentSchema(_TEMPLATE_FIELDS)
TEMPLATE_UPDATE = ContentSchema({**_TEMPLATE_FIELDS,
                                 "isStarred": Field(boolean, "is_starred", nullable=False)})
TEMPLATE_CLONE = Schema({"name": Field(string(255, empty=False), "name")})

SNIPPET_CREATE = Schema({
    "name": Field(string(255, empty=False), "name", required=True),
    "snippetType": Field(enum(SnippetType.values), "snippet_type", required=True),
    "content": Field(string(empty=False), "content", required=True),
    **_COMMON,
})
SNIPPET_UPDATE = Schema({**SNIPPET_CREATE.fields,
                         "isStarred": Field(boolean, "is_starred", nullable=False)})

LINK_CREATE = Schema({
    "name": Field(string(255, empty=False), "name", required=True),
    "url": Field(url, "url", required=True),
    "description": Field(string(), "description"),
    **_COMMON,
})
LINK_UPDATE = Schema({**LINK_CREATE.fields,
                      "isStarred": Field(boolean, "is_starred", nullable=False)})

BULK = Schema({
    "ids": Field(string_list(max_items=100, max_length=36), "ids", required=True),
    "action": Field(enum(["delete", "restore", "move", "star", "unstar", "permanentDelete"]),
                    "action", required=True),
    "categoryId": Field(uuid_value, "category_id"),
})


def bulk_input(data: Any) -> dict[str, Any]:
    """The bulk body: ids non-empty UUIDs, ``categoryId`` present for ``move``."""
    cleaned = BULK.clean(data)
    problems = []
    ids = cleaned["ids"]
    if not ids:
        problems.append("ids should not be empty")
    parsed = []
    for value in ids:
        try:
            parsed.append(uuid_value(value))
        except Problem:
            problems.append("each value in ids must be a UUID")
            break
    if cleaned["action"] == "move" and not cleaned.get("category_id"):
        problems.append("categoryId should not be empty")
    if problems:
        raise ValidationError(problems)
    cleaned["ids"] = parsed
    return cleaned
