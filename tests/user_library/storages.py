"""Storage backends whose deletes fail, as an unreachable disk or S3 endpoint would.

Configured through ``settings.STORAGES`` (see ``conftest.LibraryStorage.break_deletes``),
so the platform's own ``blob_store`` — the one the library's views and services use —
talks to them; saving and reading keep working.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage

from apps.storage.backends import S3Storage


class DeleteOutage(OSError):
    pass


class _FailingDeletes:
    def delete(self, name: Any) -> None:
        raise DeleteOutage(f"storage unreachable: cannot delete {name}")


class FailingDeleteFileSystemStorage(_FailingDeletes, FileSystemStorage):
    pass


class FailingDeleteS3Storage(_FailingDeletes, S3Storage):
    pass
