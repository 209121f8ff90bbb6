"""Stored files in the admin: a change list in constant queries with thumbnails, a detail
page with variants and transitions, and the actions (release and quarantine with a
recorded reason, scan again, regenerate variants) through the scanner's services."""

from __future__ import annotations

from typing import Any

from django.test import Client

from apps.accounts.models import User
from apps.processing import pipeline
from apps.processing.models import StoredFileTransition
from apps.processing.variants import variants_generate
from apps.storage.blobs import blob_store
from apps.storage.models import ScanStatus, StoredFile
from tests.user_library.helpers import JPEG, PNG

CHANGELIST = "/admin/storage/storedfile/"



def _file(user: User, data: bytes = JPEG, *, name: str = "p.jpg",
          scan: str = ScanStatus.CLEAN, quarantined: bool = False) -> StoredFile:
    stored = blob_store.put(data, owner=user, name=name)
    StoredFile.objects.filter(pk=stored.pk).update(scan_status=scan,
                                                   is_quarantined=quarantined)
    stored.refresh_from_db()
    return stored


def _act(client: Client, action: str, files: list[StoredFile], reason: str = "") -> Any:
    return client.post(CHANGELIST, {"action": action, "reason": reason,
                                    "_selected_action": [str(f.pk) for f in files]},
                       follow=True)


def test_the_change_list_runs_constant_queries_and_shows_thumbnails(
        console_client: Client, user: User, django_assert_max_num_queries: Any) -> None:
    for i in range(3):
        variants_generate(_file(user, name=f"a{i}.jpg"))
    with django_assert_max_num_queries(12) as few:
        first = console_client.get(CHANGELIST)
    for i in range(12):
        variants_generate(_file(user, name=f"b{i}.jpg"))
    _file(user, PNG, name="held.png", scan=ScanStatus.INFECTED, quarantined=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = console_client.get(CHANGELIST)
    assert first.status_code == page.status_code == 200
    html = page.content.decode()
    assert html.count('class="admin-thumb"') == 15
    assert "Infected" in html and ("KiB" in html or " B<" in html)


def test_the_detail_page_shows_variants_and_the_audit_log(console_client: Client,
                                                          user: User) -> None:
    stored = _file(user)
    pipeline.run(stored, ["probe", "variants"])
    page = console_client.get(f"{CHANGELIST}{stored.pk}/change/").content.decode()
    assert stored.sha256 in page
    assert "variant-links" in page and "thumb-256" in page
    assert "64 x 48" in page  # the probe's dimensions


def test_release_needs_a_reason_and_records_it(console_client: Client, user: User) -> None:
    held = _file(user, scan=ScanStatus.INFECTED, quarantined=True)
    refused = _act(console_client, "release_from_quarantine", [held]).content.decode()
    assert "Not changed" in refused
    held.refresh_from_db()
    assert held.is_quarantined and held.scan_status == ScanStatus.INFECTED
    done = _act(console_client, "release_from_quarantine", [held], "false positive (reviewed)")
    assert "Released 1 file(s)." in done.content.decode()
    held.refresh_from_db()
    assert held.scan_status == ScanStatus.CLEAN and not held.is_quarantined
    audit = StoredFileTransition.objects.filter(stored_file=held).latest("at")
    assert audit.actor is not None and audit.actor.username == "operator"
    assert "false positive (reviewed)" in audit.detail


def test_quarantine_and_scan_again(console_client: Client, user: User,
                                   django_capture_on_commit_callbacks: Any) -> None:
    stored = _file(user)
    assert "Quarantined 1" in _act(console_client, "quarantine", [stored], "reported").content.decode()
    stored.refresh_from_db()
    assert stored.scan_status == ScanStatus.FLAGGED and stored.is_quarantined
    clean = _file(user, PNG, name="c.png")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _act(console_client, "scan_again", [clean])
    assert "Queued for scanning 1" in answer.content.decode()
    clean.refresh_from_db()
    assert clean.scan_status == ScanStatus.CLEAN  # scanned afresh by clamd
    assert list(StoredFileTransition.objects.filter(stored_file=clean)
                .values_list("to_state", flat=True))[:2] == ["PENDING", "SCANNING"]


def test_regenerate_variants(console_client: Client, user: User) -> None:
    stored = _file(user)
    assert not stored.variants.exists()
    assert "Queued variant regeneration for 1" in _act(
        console_client, "regenerate_variants", [stored]).content.decode()
    assert stored.variants.exists()  # Celery is eager in the tests
