"""Celery tasks of author_media (found by the worker's autodiscovery): the upload
sessions' expiry (``upload_tasks``) and the image operations (``operation_tasks``)."""

from author_media import operation_tasks, upload_tasks

__all__ = ["operation_tasks", "upload_tasks"]
