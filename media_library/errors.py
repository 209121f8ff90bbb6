"""The not-found messages of the spec, one per kind of object."""

from apps.core.errors import NotFoundError


class CategoryNotFound(NotFoundError):
    default_message = "Category not found"


class MediaItemNotFound(NotFoundError):
    default_message = "Media item not found"


class TemplateNotFound(NotFoundError):
    default_message = "Template not found"


class SnippetNotFound(NotFoundError):
    default_message = "Text snippet not found"


class LinkNotFound(NotFoundError):
    default_message = "Saved link not found"


class WorkspaceNotFound(NotFoundError):
    default_message = "Workspace not found"
