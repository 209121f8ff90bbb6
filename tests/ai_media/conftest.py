"""Fixtures of the ai_media tests: the API secret, a writer and a reader client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

SECRET = "ai-media-test-secret-0123456789"


@pytest.fixture
def secret(settings: Any) -> str:
    settings.API_SECRET_KEY = SECRET
    return SECRET


@pytest.fixture
def writer(secret: str, db: None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def reader(db: None) -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _no_clip(settings: Any) -> None:
    """No CLIP model unless a test configures the tiny one."""
    settings.CLIP_MODEL_DIR = ""


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The processing tests' tiny ONNX CLIP model (512-d), built once per worker."""
    from tests.apps.processing.clip_model import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("models") / "ViT-tiny__ai_media")


@pytest.fixture
def clip_on(settings: Any, tiny_clip: Any, tmp_path: Any) -> Iterator[Any]:
    from apps.processing.engines import clip

    clip.clear_embedders()
    settings.CLIP_MODEL_DIR = str(tiny_clip.root)
    settings.VAR_DIR = tmp_path / "var"
    yield tiny_clip
    clip.clear_embedders()
