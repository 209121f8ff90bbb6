"""Every model of the platform is in the admin, and the read-only lists added for the
derived and recorded rows (variants, reservations, transitions, embeddings, tags,
memberships) render with their rows in a constant number of queries, refusing edits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from ai_media.services import media_upsert_many
from apps.accounts.models import Membership, User, Workspace
from apps.processing.models import Embedding, StoredFileTransition
from apps.processing.variants import variants_generate
from apps.storage.blobs import blob_store
from apps.storage.models import QuotaLedger, QuotaReservation, ScanStatus, StoredFile
from tests.user_library.helpers import JPEG

pytestmark = pytest.mark.django_db

PLATFORM_APPS = {"accounts", "storage", "processing", "user_library", "media_library",
                 "ai_media", "author_media", "admin_media"}
# Django's admin cannot list a model with a composite primary key; these two are
# admin_media's derived index rows, shown through the console media they index.
NOT_LISTABLE = {"admin_media.MediaCategoryEntry", "admin_media.MediaTally"}


def test_every_platform_model_is_registered() -> None:
    missing = {m._meta.label for m in apps.get_models()
               if m._meta.app_label in PLATFORM_APPS and m not in admin.site._registry}
    assert missing == NOT_LISTABLE


def _rows(user: User, n: int) -> None:
    """n of each: a clean file with variants and an embedding, a transition, a
    reservation, a membership, an ai_media item with tags and a vector."""
    rng = np.random.default_rng(n)
    for i in range(n):
        stored = blob_store.put(JPEG, owner=user, name=f"p{i}.jpg")
        ledger = QuotaLedger.objects.filter(owner_user=user).first()
        StoredFile.objects.filter(pk=stored.pk).update(scan_status=ScanStatus.CLEAN)
        stored.refresh_from_db()
        variants_generate(stored)
        StoredFileTransition.objects.create(stored_file=stored, field="scan_status",
                                            from_state="pending", to_state="clean",
                                            actor=user, detail="released: test")
        Embedding.objects.create(stored_file=stored, model="tiny",
                                 vector=rng.standard_normal(512).astype(np.float32))
        if ledger is not None:
            QuotaReservation.objects.create(ledger=ledger, bytes=1000 + i,
                                            expires_at=timezone.now() + timedelta(hours=i - 1))
        workspace = Workspace.objects.create(name=f"w{user.username}{i}", created_by=user)
        Membership.objects.create(workspace=workspace, user=user, role="owner")
    media_upsert_many([{"media_type": "image", "media_url": f"https://x.example/{i}.jpg",
                        "ai_tags": {"hair": ["red"], "n": [str(i)]},
                        "clip_embedding": rng.standard_normal(512).tolist()}
                       for i in range(n)])


LISTS = ["/admin/storage/variant/", "/admin/storage/quotareservation/",
         "/admin/processing/storedfiletransition/", "/admin/processing/embedding/",
         "/admin/ai_media/mediatag/", "/admin/ai_media/mediaembedding/",
         "/admin/accounts/membership/"]


@pytest.mark.parametrize("url", LISTS)
def test_read_only_lists_run_constant_queries(url: str, console_client: Client,
                                              make_user: Any,
                                              django_assert_max_num_queries: Any) -> None:
    owner = make_user("owner")
    _rows(owner, 2)
    with django_assert_max_num_queries(30) as few:
        first = console_client.get(url)
    _rows(make_user("other"), 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = console_client.get(url)
    assert first.status_code == page.status_code == 200
    html = page.content.decode()
    assert 'id="result_list"' in html
    assert html.count("<tr") > first.content.decode().count("<tr")  # the new rows show
    assert f'href="{url}add/"' not in html  # no "add" button


def test_a_variant_row_links_to_its_rendition(console_client: Client, user: User) -> None:
    _rows(user, 1)
    html = console_client.get("/admin/storage/variant/").content.decode()
    assert 'target="_blank"' in html and "thumb" in html


def test_read_only_rows_cannot_be_changed_or_deleted(console_client: Client,
                                                     user: User) -> None:
    _rows(user, 1)
    embedding = Embedding.objects.get()
    url = f"/admin/processing/embedding/{embedding.pk}/"
    assert console_client.post(f"{url}change/", {"model": "other"}).status_code == 403
    assert console_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert Embedding.objects.get().model == "tiny"
    page = console_client.get(f"{url}change/").content.decode()
    assert "tiny" in page and "vector" not in page.split('id="content-main"')[-1][:5000]
