"""Request bodies of the author's files API (private to this app, prefixed with it).

Fields are camelCase as the spec's DTOs; ``to_internal`` hands services model field
names. Unknown fields are ignored; errors are field lists in problem+json.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from author_media.folders import folder_path

MAX_TAGS = 50
MAX_TAG_LENGTH = 50


@extend_schema_field(OpenApiTypes.STR)
class AuthorMediaFolderField(serializers.Field):
    """A folder path, normalised (``" /a/b/ "`` → ``"a/b"``); null or "" for none."""

    def to_internal_value(self, data: Any) -> str | None:
        try:
            return folder_path(data, "folder")
        except serializers.ValidationError as exc:  # the messages, under this field
            detail = exc.detail
            raise serializers.ValidationError(
                detail["folder"] if isinstance(detail, dict) else detail) from None

    def to_representation(self, value: Any) -> Any:
        return value


def _tags() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH, allow_blank=False),
        max_length=MAX_TAGS, required=False)


class AuthorMediaUpdateSerializer(serializers.Serializer):
    """PUT: altText, caption, folder, tags (the site of a file is fixed at upload)."""

    folder = AuthorMediaFolderField(required=False, allow_null=True)
    altText = serializers.CharField(max_length=500, required=False, allow_null=True,
                                    allow_blank=True, source="alt_text")
    caption = serializers.CharField(max_length=10_000, required=False, allow_null=True,
                                    allow_blank=True)
    tags = _tags()

    def validate_tags(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in value if t.strip()))


class AuthorMediaUploadFieldsSerializer(AuthorMediaUpdateSerializer):
    siteId = serializers.CharField(max_length=100, required=False, allow_null=True,
                                   source="site_id")


class AuthorMediaMoveSerializer(serializers.Serializer):
    folder = AuthorMediaFolderField(allow_null=True)


class AuthorMediaFolderCreateSerializer(serializers.Serializer):
    name = AuthorMediaFolderField(required=False, allow_null=True)
    path = AuthorMediaFolderField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # "parent" is a Serializer attribute, so the field is added here, not declared
        fields = super().get_fields()
        fields["parent"] = AuthorMediaFolderField(required=False, allow_null=True)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        leaf = attrs.get("path") or attrs.get("name")
        if not leaf:
            raise serializers.ValidationError({"name": ["A folder name (or path) is required."]})
        parent = attrs.get("parent")
        full = folder_path(f"{parent}/{leaf}" if parent else leaf, "name")
        return {"path": full}


class AuthorMediaReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=False)
