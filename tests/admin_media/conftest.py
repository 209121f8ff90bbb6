"""A staff client, and media rows written the way the console's data arrives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from admin_media.models import Media
from apps.accounts.models import User

BASE = "/api/admin/media"
T0 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


@pytest.fixture
def staff(make_user: Callable[..., User]) -> APIClient:
    user = make_user()
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def make_media(db: None) -> Callable[..., Media]:
    made: list[int] = []

    def make(**fields: Any) -> Media:
        made.append(1)
        n = len(made)
        defaults: dict[str, Any] = {
            "id": f"media_{n:03d}", "supabase_id": "user_456", "record_id": f"record_{n}",
            "task_id": f"task_{n}", "url": f"https://example.com/media/{n}.jpg",
            "type": "image/jpeg", "media_type": "image", "aspect_ratio": "16/9",
            "upload_source": "user_upload", "category": ["portrait"],
            "meta": {"width": 1920, "height": 1080, "size": 245760},
            "created_at": T0 + timedelta(minutes=n), "updated_at": T0 + timedelta(minutes=n)}
        return Media.objects.create(**{**defaults, **fields})

    return make
