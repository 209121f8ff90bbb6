"""The dashboard on the admin index: storage from the ledgers, states of the files,
queues and heartbeat (no worker runs in these tests: nobody answers), the last purge."""

from __future__ import annotations

from django.core.cache import cache
from django.test import Client

from apps.accounts.models import User
from apps.processing.dashboard import dashboard, queue_names
from apps.processing.models import PurgeRun
from apps.storage.blobs import blob_store
from apps.storage.models import ScanStatus, StoredFile
from tests.user_library.helpers import JPEG, PNG


def test_the_dashboard_figures(user: User) -> None:
    cache.clear()
    blob_store.put(JPEG, owner=user, name="a.jpg")
    held = blob_store.put(PNG, owner=user, name="b.png")
    StoredFile.objects.filter(pk=held.pk).update(scan_status=ScanStatus.INFECTED)
    PurgeRun.objects.create(purged=3, failed=0)
    board = dashboard()
    assert [(b.label, b.value) for b in board.kinds if b.value] == [("image", 2)]
    assert sum(b.value for b in board.storage) == len(JPEG) + len(PNG)
    assert board.owners[0].label.startswith(user.username)
    assert dict((b.label, b.value) for b in board.scan) == {"PENDING": 1, "INFECTED": 1}
    assert set(board.queues) == set(queue_names()) and "scan" in board.queues
    assert all(depth is None or depth >= 0 for depth in board.queues.values())
    assert board.workers in (None, [])  # no worker in this process's tests
    assert board.last_purge is not None and board.last_purge.purged == 3


def test_the_admin_index_shows_it(console_client: Client, user: User) -> None:
    cache.clear()
    blob_store.put(JPEG, owner=user, name="a.jpg")
    page = console_client.get("/admin/").content.decode()
    assert 'id="platform-dashboard"' in page and 'id="chart-storage"' in page
    assert "Files by kind" in page and "Workers and queues" in page
    assert "Operations" in page  # the console's own index title
