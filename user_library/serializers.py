"""Schemas of the library API (drf-spectacular): the shapes of the spec, plus the
documented additive fields. Responses are rendered by ``presenters`` (lean path); these
classes describe them and validate the one structured body (batch delete)."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import serializers

from user_library.conf import BATCH_MAX_IDS
from user_library.models import MediaType, Source


class UserLibraryItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    media_type = serializers.ChoiceField(choices=MediaType.choices)
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]
    created_at = serializers.DateTimeField()
    file_size = serializers.IntegerField()
    storage_path = serializers.CharField()
    signed_url = serializers.CharField(allow_null=True, help_text="Null until the scan clears it.")
    metadata = serializers.DictField(help_text="LibraryItemMetadata; unknown keys are kept.")
    status = serializers.ChoiceField(choices=["pending", "processing", "ready", "failed"])
    mime_type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    thumbnail_url = serializers.CharField(allow_null=True)
    preview_url = serializers.CharField(allow_null=True)


class UserLibrarySimilarItemSerializer(UserLibraryItemSerializer):
    similarity = serializers.FloatField(help_text="1 - cosine distance, in [0, 1].")


class UserLibrarySimilarSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    items = UserLibrarySimilarItemSerializer(many=True)
    embedding = serializers.ChoiceField(
        choices=["ready", "pending", "unavailable"],
        help_text="ready: compared; pending: not embedded yet; unavailable: will not be.")


class UserLibraryListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    items = UserLibraryItemSerializer(many=True)
    total = serializers.IntegerField()
    has_more = serializers.BooleanField()


class UserLibraryItemResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    item = UserLibraryItemSerializer()


class UserLibrarySuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()


class UserLibraryIdField(serializers.UUIDField):
    """An item id as JSON text. DRF's UUIDField also reads numbers (``7`` as
    ``UUID(int=7)``, ``true`` as ``UUID(int=1)``): no id of this API is a number."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class UserLibraryBatchDeleteInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=UserLibraryIdField(), min_length=1,
                                max_length=BATCH_MAX_IDS, allow_empty=False)


class UserLibraryBatchDeleteSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    deleted = serializers.IntegerField()


class UserLibraryUsageBodySerializer(serializers.Serializer):
    used_bytes = serializers.IntegerField()
    total_bytes = serializers.IntegerField()
    used_percent = serializers.FloatField()
    item_count = serializers.IntegerField()
    images_count = serializers.IntegerField()
    videos_count = serializers.IntegerField()


class UserLibraryUsageSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    usage = UserLibraryUsageBodySerializer()


class UserLibraryCreateInputSerializer(serializers.Serializer):
    """Multipart (``file``) or JSON (``fileData`` base64 + ``mimeType``)."""

    file = serializers.FileField(required=False)
    fileData = serializers.CharField(required=False, help_text="Base64 or a data: URL.")
    mimeType = serializers.CharField(required=False)
    media_type = serializers.ChoiceField(choices=MediaType.choices, required=False)
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]
    metadata = serializers.JSONField(required=False)
