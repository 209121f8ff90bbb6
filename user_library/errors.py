"""The errors this app answers with; messages are the spec's where it has one."""

from apps.core.errors import DomainError, NotFoundError


class ItemNotFound(NotFoundError):
    code = "item_not_found"
    default_message = "Item not found"


class InvalidItem(DomainError):
    """A file or field the library refuses (bad base64, lying type, wrong media type)."""

    status_code = 400
    code = "invalid_item"
    default_message = "Invalid item"


class FileTooLarge(DomainError):
    status_code = 413
    code = "file_too_large"
    default_message = "File too large"


class LibraryQuotaExceeded(DomainError):
    status_code = 413
    code = "quota_exceeded"
    default_message = "Storage quota exceeded"
