"""Which failures are worth a retry."""

from __future__ import annotations

import socket

from django.db import InterfaceError, OperationalError


class TransientError(Exception):
    """Raise (or wrap) this for a failure that may pass: a retry with backoff follows."""


class PermanentError(Exception):
    """The input itself is bad: retrying cannot help; the item is marked failed."""


# Failures of the things a task talks to (database, broker, storage, clamd).
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    TransientError, OperationalError, InterfaceError, ConnectionError, TimeoutError,
    socket.timeout,
)
try:  # storage over S3
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import EndpointConnectionError

    TRANSIENT_EXCEPTIONS += (BotoConnectionError, EndpointConnectionError)
except ImportError:  # pragma: no cover
    pass
