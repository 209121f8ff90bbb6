"""The recycle-bin purge deletes rows and their files past retention, nothing sooner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.processing.models import PurgeRun
from apps.processing.tasks import purge_recycle_bin
from apps.storage.blobs import blob_store
from apps.storage.models import QuotaLedger, StoredFile
from tests.apps.processing.images import animated_gif
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db(transaction=True)

GIF = animated_gif(3)


def clip(user: Any, title: str, deleted_days_ago: int | None) -> Clip:
    stored = blob_store.put(GIF, owner=user, name=f"{title}.gif")
    deleted = timezone.now() - timedelta(days=deleted_days_ago) if deleted_days_ago else None
    return Clip.all_objects.create(title=title, stored_file=stored, deleted_at=deleted)


def test_purge_removes_expired_bin_rows_and_their_bytes(user: Any) -> None:
    old = clip(user, "old", 31)
    recent = clip(user, "recent", 29)
    alive = clip(user, "alive", None)
    old_key = old.stored_file.key
    assert blob_store.storage.exists(old_key)

    assert purge_recycle_bin() == {"purged": 1, "failed": 0}

    assert not Clip.all_objects.filter(pk=old.pk).exists()
    assert not StoredFile.objects.filter(key=old_key).exists()
    assert not blob_store.storage.exists(old_key)
    assert Clip.all_objects.filter(pk__in=[recent.pk, alive.pk]).count() == 2
    ledger = QuotaLedger.objects.get(owner_user=user)
    assert ledger.file_count == 2 and ledger.used_bytes == 2 * len(GIF)
    run = PurgeRun.objects.get()
    assert run.purged == 1 and run.finished_at is not None
    assert run.detail["testapp.Clip"] == 1 and sum(run.detail.values()) == 1


def test_purge_is_idempotent(user: Any) -> None:
    clip(user, "old", 40)
    assert purge_recycle_bin()["purged"] == 1
    assert purge_recycle_bin()["purged"] == 0
