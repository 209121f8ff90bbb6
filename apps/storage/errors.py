"""Errors of the blob store and the quota ledger."""

from apps.core.errors import DomainError, NotFoundError


class UploadTooLarge(DomainError):
    status_code = 413
    code = "too_large"
    default_message = "The file is larger than allowed."


class UnsupportedType(DomainError):
    status_code = 415
    code = "unsupported_type"
    default_message = "This type of file is not accepted."


class TypeMismatch(DomainError):
    status_code = 415
    code = "type_mismatch"
    default_message = "The file's content does not match its name or declared type."


class EmptyUpload(DomainError):
    status_code = 400
    code = "empty"
    default_message = "The file is empty."


class QuotaExceeded(DomainError):
    status_code = 413
    code = "quota_exceeded"
    default_message = "Storage quota exceeded."


class StorageUnavailable(DomainError):
    """The storage backend refused or failed a write: nothing was recorded, retry later."""

    status_code = 503
    code = "storage_unavailable"
    default_message = "File storage is unavailable; try again shortly."


class BlobNotFound(NotFoundError):
    default_message = "File not found."


class LinkInvalid(DomainError):
    status_code = 403
    code = "link_invalid"
    default_message = "This link is invalid."


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"
    default_message = "This link has expired."


class LengthRequired(DomainError):
    status_code = 411
    code = "length_required"
    default_message = ("Send the upload with a Content-Length: this server cannot read a "
                       "chunked request body.")
