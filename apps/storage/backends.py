"""Storage backends with the platform's defaults."""

from __future__ import annotations

from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from storages.backends.s3 import S3Storage as _S3Storage

MIB = 1024 * 1024


class S3Storage(_S3Storage):
    """django-storages' S3 backend with bounded multipart buffering.

    boto3 buffers up to ``multipart_chunksize * max_in_memory_upload_chunks`` bytes when it
    uploads a stream that cannot seek; its default (8 MiB x 10) would let one upload take
    ~80 MB. 2 x 8 MiB keeps the server's memory flat (bench/bench_blob_put.py). (boto3's
    TransferConfig does not take that knob as an argument; s3transfer reads the attribute.)
    """

    def __init__(self, **settings: Any) -> None:
        if "transfer_config" not in settings:
            config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB,
                                    max_concurrency=2)
            config.max_in_memory_upload_chunks = 2
            settings["transfer_config"] = config
        super().__init__(**settings)
        # botocore >= 1.36 adds a CRC checksum pass over every upload by default; the blob
        # store already hashes the stream once, and S3-compatible stores (MinIO, R2, older
        # moto) differ in their support. Checksums only where an operation needs them.
        base: Config = self.client_config  # type: ignore[has-type]  # set by super()
        self.client_config = base.merge(Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ))
