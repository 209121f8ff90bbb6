"""Domain errors that services raise, independent of HTTP frameworks.

A service says *what* went wrong (too large, quota exceeded, wrong type); the API
layer's exception handler turns it into the calling app's error dialect, using the
``status_code`` and ``code`` carried here. Keeping the hint on the error avoids a
mapping table that every new error would have to be added to.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *,
                 extra: dict[str, object] | None = None) -> None:
        self.message = message or self.default_message
        # members a dialect may add to the body (problem+json extension members)
        self.extra = extra or {}
        super().__init__(self.message)


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The resource changed or is in a conflicting state."


class PermissionDeniedError(DomainError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."
