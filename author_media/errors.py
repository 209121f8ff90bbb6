"""Errors of the author's files module (rendered as RFC 9457 problem+json)."""

from apps.core.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError


class MediaFileNotFound(NotFoundError):
    default_message = "Media file not found."


class FolderNotFound(NotFoundError):
    default_message = "Folder not found."


class FolderNotEmpty(ConflictError):
    code = "folder_not_empty"
    default_message = ("The folder holds files: pass mode=moveToRoot to keep them without a "
                       "folder, or mode=delete to delete them too.")


class StorageLimitExceeded(DomainError):
    status_code = 413
    code = "storage_limit_exceeded"
    default_message = "This upload would exceed your storage limit."


class FileTooLarge(DomainError):
    status_code = 413
    code = "file_too_large"
    default_message = "The file is larger than allowed."


class NotAnImage(DomainError):
    status_code = 422
    code = "not_an_image"
    default_message = "Only images can be optimized, resized or cropped."


class MediaNotCleared(ConflictError):
    code = "media_not_cleared"
    default_message = "The file has not been cleared by the virus scan."


class MediaNotProcessed(ConflictError):
    code = "media_not_processed"
    default_message = "The image is still being processed; try again shortly."


class ImageUnreadable(DomainError):
    status_code = 422
    code = "image_unreadable"
    default_message = "The image could not be read."


class OperationNotFound(NotFoundError):
    default_message = "Operation not found."


class AdminOnly(PermissionDeniedError):
    default_message = "Only administrators may do this."


# -- upload sessions (presigned, multipart, tus) --


class UploadNotFound(NotFoundError):
    default_message = "Upload not found."


class UploadGone(DomainError):
    status_code = 410
    code = "upload_gone"
    default_message = "This upload was aborted, expired or refused; start a new one."


class UploadComplete(ConflictError):
    code = "upload_complete"
    default_message = "This upload is complete; it takes no more bytes."


class UploadLocked(DomainError):
    status_code = 423
    code = "upload_locked"
    default_message = "Another request is working on this upload; retry shortly."


class UploadNotReceived(ConflictError):
    code = "upload_not_received"
    default_message = "Nothing has been uploaded for this upload yet; upload the file first."


class SizeMismatch(DomainError):
    status_code = 422
    code = "size_mismatch"
    default_message = "The uploaded file's size is not the size that was declared."


class WrongProtocol(ConflictError):
    code = "wrong_protocol"
    default_message = "This upload does not take that request."
