"""A hypothesis state machine over two workspaces' media libraries.

Rules: upload, soft delete (to the bin), restore, permanent delete, the nightly purge of
the bin past its retention, and quota changes, in any order, through the HTTP API of
media_library. A model says what each workspace should hold; after every step the
invariants are checked against the database and the API: the quota ledger equals the
bytes of everything not purged (a binned file still occupies its space), nothing
restored is ever purged, and neither workspace ever sees the other's items.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Role, User, Workspace
from apps.processing.tasks import purge_recycle_bin
from apps.storage import quota
from apps.storage.models import QuotaLedger
from media_library.conf import QUOTA_BUCKET
from media_library.models import MediaItem
from tests.hardening.figures import FULL, record

pytestmark = pytest.mark.django_db
TENANTS = ("a", "b")


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8 + seed % 64, 8 + seed // 64 % 64), (seed % 256, 1, 2)).save(
        buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Item:
    tenant: str
    id: str
    size: int
    state: str = "live"  # live | binned | purged


class LibraryMachine(RuleBasedStateMachine):
    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()  # each run starts from the same database
        self.seed = 0
        self.model: list[Item] = []
        self.workspaces: dict[str, Workspace] = {}
        self.clients: dict[str, APIClient] = {}
        for tenant in TENANTS:
            user = User.objects.create_user(username=f"sm-{tenant}-{id(self)}")
            workspace = Workspace.objects.create(name=f"tenant {tenant}")
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
            client = APIClient()
            client.force_authenticate(user)
            self.workspaces[tenant], self.clients[tenant] = workspace, client

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    def base(self, tenant: str) -> str:
        return f"/workspaces/{self.workspaces[tenant].pk}/media-library"

    def ledger(self, tenant: str) -> QuotaLedger:
        return quota.ledger_for(self.workspaces[tenant], QUOTA_BUCKET)

    # -- rules ----------------------------------------------------------------------
    @rule(target=items, tenant=st.sampled_from(TENANTS))
    def upload(self, tenant: str) -> Any:
        self.seed += 1
        data = png(self.seed)
        ledger = self.ledger(tenant)
        fits = ledger.used_bytes + ledger.reserved_bytes + len(data) <= quota.limit_of(ledger)
        response = self.clients[tenant].post(
            f"{self.base(tenant)}/items/upload",
            {"file": SimpleUploadedFile(f"p{self.seed}.png", data, "image/png")},
            format="multipart")
        assert response.status_code == (201 if fits else 413), response.content[:300]
        if response.status_code != 201:
            return None
        item = Item(tenant, response.json()["id"], len(data))
        self.model.append(item)
        return item

    def _call(self, method: str, item: Item | None, suffix: str = "") -> Item | None:
        if item is None:
            return None
        client = self.clients[item.tenant]
        response = getattr(client, method)(f"{self.base(item.tenant)}/items/{item.id}{suffix}")
        expected = 404 if item.state == "purged" else 200
        assert response.status_code == expected, (method, suffix, item, response.content[:300])
        return item

    @rule(item=items)
    def soft_delete(self, item: Item | None) -> None:
        if self._call("delete", item) and item and item.state == "live":
            item.state = "binned"

    @rule(item=items)
    def restore(self, item: Item | None) -> None:
        if self._call("post", item, "/restore") and item and item.state == "binned":
            item.state = "live"

    @rule(item=consumes(items))
    def delete_for_good(self, item: Item | None) -> None:
        if self._call("delete", item, "/permanent") and item:
            item.state = "purged"

    @rule()
    def nightly_purge_past_retention(self) -> None:
        binned = [i for i in self.model if i.state == "binned"]
        MediaItem.objects.filter(pk__in=[i.id for i in binned]).update(
            deleted_at=timezone.now() - timedelta(days=3650))
        with self.on_commit():
            purge_recycle_bin()
        for item in binned:
            item.state = "purged"

    @rule(tenant=st.sampled_from(TENANTS), limit=st.integers(0, 40_000))
    def change_quota(self, tenant: str, limit: int) -> None:
        QuotaLedger.objects.filter(pk=self.ledger(tenant).pk).update(limit_bytes=limit)

    @rule(item=items, other=st.sampled_from(TENANTS))
    def cross_tenant_read(self, item: Item | None, other: str) -> None:
        if item is None or other == item.tenant:
            return
        intruder = self.clients[other]
        for path in (f"{self.base(other)}/items/{item.id}",  # a foreign id in my workspace
                     f"{self.base(item.tenant)}/items/{item.id}"):  # their workspace
            assert intruder.get(path).status_code in (403, 404)

    def on_commit(self) -> Any:
        from django.test import TestCase

        return TestCase.captureOnCommitCallbacks(execute=True)

    # -- invariants -----------------------------------------------------------------
    @invariant()
    def ledger_is_the_bytes_not_purged(self) -> None:
        for tenant in TENANTS:
            kept = [i for i in self.model if i.tenant == tenant and i.state != "purged"]
            ledger = self.ledger(tenant)
            record("ATOMIC", invariant_breaks=int(
                (ledger.used_bytes, ledger.file_count) != (sum(i.size for i in kept), len(kept))))
            assert (ledger.used_bytes, ledger.file_count) == (sum(i.size for i in kept),
                                                              len(kept))

    @invariant()
    def nothing_restored_or_kept_was_purged(self) -> None:
        kept = {i.id for i in self.model if i.state != "purged"}
        present = {str(pk) for pk in MediaItem.objects.filter(pk__in=kept)
                   .values_list("pk", flat=True)}
        assert present == kept

    @invariant()
    def each_workspace_lists_only_its_own(self) -> None:
        for tenant in TENANTS:
            response = self.clients[tenant].get(f"{self.base(tenant)}/items?limit=100")
            listed = {row["id"] for row in response.json()["items"]}
            live = {i.id for i in self.model if i.tenant == tenant and i.state == "live"}
            assert listed == live, (tenant, listed ^ live)


def test_library_state_machine(workspace_storage: None) -> None:
    run_state_machine_as_test(LibraryMachine, settings=settings(
        max_examples=60 if FULL else 8, stateful_step_count=25 if FULL else 12,
        deadline=None, database=None, suppress_health_check=list(HealthCheck)))


@pytest.fixture
def workspace_storage(settings: Any) -> None:
    settings.MEDIA_LIBRARY = {"QUOTA_BYTES": 60_000}
