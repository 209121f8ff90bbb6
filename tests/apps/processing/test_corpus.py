"""The hostile corpus through upload, the real scanner and the pipeline, in process.

Every sample ends in its defined state, nothing raises out of a task, and the file
view answers every ready sample without a 500. (The same corpus runs through a real
worker process in test_worker.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from PIL import Image

from apps.core.errors import DomainError
from apps.processing import scanning
from apps.processing.tasks import run_pipeline
from apps.storage.blobs import blob_store
from apps.storage.models import ProcessingState, ScanStatus, StoredFile
from tests.apps.processing.corpus import Sample, corpus

pytestmark = pytest.mark.django_db


def outcome_of(stored: StoredFile) -> str:
    stored.refresh_from_db()
    if stored.scan_status == ScanStatus.INFECTED:
        return "infected"
    return str(stored.processing_state)


@pytest.mark.parametrize("sample", corpus(), ids=lambda s: s.name)
def test_sample_ends_in_its_defined_state(sample: Sample, user: Any, client: Client) -> None:
    try:
        stored = blob_store.put(sample.make(), owner=user, name=sample.name)
    except DomainError as exc:
        assert f"refused:{exc.code}" in sample.outcome.split("|")
        assert not StoredFile.objects.exists()  # nothing half-stored
        return
    scanning.scan_file(stored)
    run_pipeline(stored_file_id=str(stored.pk))
    outcome = outcome_of(stored)
    assert outcome in sample.outcome.split("|"), stored.processing_error
    if outcome == ProcessingState.FAILED:
        assert stored.processing_error  # a reason, for the user and the operator
        assert not stored.variants.exists()
    if sample.name == "thousands.gif":  # the preview keeps ANIMATED_MAX_FRAMES of 2000
        assert stored.frame_count == 2000
        with blob_store.open(stored.variants.get(spec="preview-1024", format="webp")) as f:
            assert Image.open(f).n_frames == 100
    if outcome == ProcessingState.READY:
        response = client.get(blob_store.signed_url(stored))
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
        for variant in stored.variants.all():
            assert client.get(blob_store.signed_url(variant)).status_code == 200
    else:
        with pytest.raises(DomainError):
            blob_store.signed_url(stored) if outcome == "infected" else _refuse(stored)


def _refuse(stored: StoredFile) -> None:
    """A failed file is still the user's (clean) file: it is served as stored, but has no
    variants; this raises so the ``else`` branch above reads the same for both."""
    assert blob_store.signed_url(stored)
    raise DomainError("failed files have no renditions")
