"""``MediaFileDto``, ``StorageUsageDto`` and friends: camelCase, ids as strings (the
spec's BigInts do not fit a JavaScript number in general), times in ISO-8601 UTC, URLs
absolute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from author_media.models import MediaFile, StorageUsage

Absolute = Callable[[str], str]


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _url(absolute: Absolute, value: str | None) -> str | None:
    return absolute(value) if value else None


def media_file(row: MediaFile, absolute: Absolute, *,
               duplicate_of: int | None = None) -> dict[str, Any]:
    return {
        "id": str(row.pk), "userId": str(row.user_id), "siteId": row.site_id,
        "filename": row.filename, "originalFilename": row.original_filename,
        "mimeType": row.mime_type, "fileSize": row.file_size,
        "storageProvider": row.storage_provider, "storagePath": row.storage_path,
        "storageRegion": row.storage_region,
        "publicUrl": _url(absolute, row.public_url), "cdnUrl": row.cdn_url,
        "width": row.width, "height": row.height, "aspectRatio": row.aspect_ratio,
        "colorProfile": row.color_profile, "dominantColor": row.dominant_color,
        "thumbnailUrl": _url(absolute, row.thumbnail_url),
        "placeholderUrl": _url(absolute, row.placeholder_url),
        "isProcessed": row.is_processed, "processedAt": timestamp(row.processed_at),
        "processingError": row.processing_error,
        "isOptimized": row.is_optimized, "originalSize": row.original_size,
        "optimizedSize": row.optimized_size, "compressionRatio": row.compression_ratio,
        "altText": row.alt_text, "caption": row.caption,
        "usageCount": row.usage_count, "lastUsedAt": timestamp(row.last_used_at),
        "scanStatus": row.scan_status, "scannedAt": timestamp(row.scanned_at),
        "scanResult": row.scan_result, "isQuarantined": row.is_quarantined,
        "folder": row.folder, "tags": row.tags,
        "createdAt": timestamp(row.created_at), "updatedAt": timestamp(row.updated_at),
        "deletedAt": timestamp(row.deleted_at),
        "sha256": row.sha256 or None,
        "duplicateOf": str(duplicate_of) if duplicate_of is not None else None,
    }


def _share(used: int, limit: int) -> float:
    return round(used / limit, 4) if limit else 0.0


def storage_usage(row: StorageUsage, *, reserved_bytes: int = 0) -> dict[str, Any]:
    return {
        "userId": str(row.user_id), "tier": row.tier,
        "totalBytes": row.total_bytes, "imageBytes": row.image_bytes,
        "documentBytes": row.document_bytes, "videoBytes": row.video_bytes,
        "otherBytes": row.other_bytes, "totalFiles": row.total_files,
        "imageFiles": row.image_files, "documentFiles": row.document_files,
        "videoFiles": row.video_files,
        "bandwidthUsedBytes": row.bandwidth_used_bytes,
        "bandwidthResetAt": timestamp(row.bandwidth_reset_at),
        "storageLimitBytes": row.storage_limit_bytes,
        "bandwidthLimitBytes": row.bandwidth_limit_bytes,
        "storageWarningAt": timestamp(row.storage_warning_at),
        "bandwidthWarningAt": timestamp(row.bandwidth_warning_at),
        "calculatedAt": timestamp(row.calculated_at), "updatedAt": timestamp(row.updated_at),
        # beyond the spec: what the limits leave
        "reservedBytes": reserved_bytes,
        "storageHeadroomBytes": max(0, row.storage_limit_bytes - row.total_bytes
                                    - reserved_bytes),
        "storageUsedRatio": _share(row.total_bytes, row.storage_limit_bytes),
        "bandwidthUsedRatio": _share(row.bandwidth_used_bytes, row.bandwidth_limit_bytes),
    }
