"""The console's errors: each a message id (messages.py) with its status, translated and
put in the ``{success: false, message, data: null}`` envelope when rendered."""

from __future__ import annotations

from admin_media import messages
from apps.core.errors import DomainError, NotFoundError


class InvalidRequest(DomainError):
    """400 with one of the spec's messages (or ours, in its style)."""

    code = "invalid"


class MediaNotFound(NotFoundError):
    default_message = messages.NOT_FOUND


class OperationFailed(DomainError):
    """500 with the message the spec gives the failed operation."""

    status_code = 500
    code = "server_error"
