"""The four kinds of library objects, described once so that their shared endpoints
(list, get, update, soft delete, restore, permanent delete, use) are one code path."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.errors import NotFoundError
from media_library import errors, schemas
from media_library.models import (
    CategoryType,
    ItemType,
    LibraryObject,
    MediaItem,
    SavedLink,
    SnippetType,
    Template,
    TemplateType,
    TextSnippet,
)
from media_library.validation import Schema


@dataclass(frozen=True)
class Kind:
    key: str  # the URL segment
    model: type[LibraryObject]
    not_found: type[NotFoundError]
    label: str  # "Media item", for messages
    create: Schema
    update: Schema
    search_fields: tuple[str, ...]
    type_param: str | None = None  # the list filter on the object's own type
    type_field: str | None = None
    type_values: tuple[str, ...] = ()
    # the category type an object may be filed under (media items: their own type)
    category_type: str | None = None
    creator_field: str = "created_by"
    bin_section: str = ""


ITEMS = Kind("items", MediaItem, errors.MediaItemNotFound, "Media item", schemas.ITEM_CREATE,
             schemas.ITEM_UPDATE, ("name", "description"), "type", "type",
             tuple(ItemType.values), None, "uploaded_by", "mediaItems")
TEMPLATES = Kind("templates", Template, errors.TemplateNotFound, "Template",
                 schemas.TEMPLATE_CREATE, schemas.TEMPLATE_UPDATE, ("name", "description"),
                 "templateType", "template_type", tuple(TemplateType.values),
                 CategoryType.TEMPLATE, bin_section="templates")
SNIPPETS = Kind("snippets", TextSnippet, errors.SnippetNotFound, "Text snippet",
                schemas.SNIPPET_CREATE, schemas.SNIPPET_UPDATE, ("name", "content"),
                "snippetType", "snippet_type", tuple(SnippetType.values),
                CategoryType.TEXT_SNIPPET, bin_section="textSnippets")
LINKS = Kind("links", SavedLink, errors.LinkNotFound, "Saved link", schemas.LINK_CREATE,
             schemas.LINK_UPDATE, ("name", "url", "description"),
             category_type=CategoryType.LINK, bin_section="savedLinks")

KINDS = {kind.key: kind for kind in (ITEMS, TEMPLATES, SNIPPETS, LINKS)}
# the recycle bin's ``type`` filter: which section each category type narrows to
BIN_SECTION_OF_TYPE = {**{t: ITEMS for t in ItemType.values}, CategoryType.TEMPLATE: TEMPLATES,
                       CategoryType.TEXT_SNIPPET: SNIPPETS, CategoryType.LINK: LINKS}
