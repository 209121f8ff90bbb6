"""Storage backends with the platform's defaults."""

from __future__ import annotations

from typing import Any

from boto3.s3.transfer import TransferConfig
from storages.backends.s3 import S3Storage as _S3Storage

MIB = 1024 * 1024


class S3Storage(_S3Storage):
    """django-storages' S3 backend with bounded multipart buffering.

    boto3 buffers ``multipart_chunksize * max_concurrency`` bytes when it uploads a
    stream that cannot seek; its defaults (8 MiB x 10) would let one upload take ~80 MB.
    4 x 8 MiB keeps the server's memory flat and still saturates a link.
    """

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("transfer_config", TransferConfig(
            multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4))
        super().__init__(**settings)
