"""The beat task of the upload sessions (config/settings.py runs it every 600 s):
sessions of every protocol (presigned, multipart, tus) left open past their expiry are
closed — staged bytes, S3 parts and unconfirmed objects deleted, quota reservations
released (``upload_sessions.expire_due``)."""

from __future__ import annotations

from apps.processing.taskbase import platform_task
from author_media import upload_sessions


@platform_task("author_media.expire_uploads")
def expire_uploads() -> int:
    """Idempotent: a session already closed is skipped; one busy with a request is left
    for the next run."""
    return upload_sessions.expire_due()
