"""Library items in the admin: thumbnails in a constant-query change list, and a
delete that takes the file, its variants and its quota with it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from apps.accounts.models import User
from apps.processing.variants import variants_generate
from apps.storage.models import ScanStatus, StoredFile
from tests.user_library.helpers import JPEG, png, save_item
from user_library.models import LibraryItem

ITEMS = "/admin/user_library/libraryitem/"



def _clean(saved: Any) -> LibraryItem:
    item: LibraryItem = saved.item
    StoredFile.objects.filter(pk=item.stored_file_id).update(scan_status=ScanStatus.CLEAN)
    item.stored_file.refresh_from_db()
    variants_generate(item.stored_file)
    return item


def test_change_list_shows_thumbnails_in_constant_queries(
        console_client: Client, user: User, django_assert_max_num_queries: Any) -> None:
    _clean(save_item(user, JPEG, "image/jpeg"))
    with django_assert_max_num_queries(12) as few:
        assert console_client.get(ITEMS).status_code == 200
    for i in range(10):
        _clean(save_item(user, png(i), "image/png"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = console_client.get(ITEMS).content.decode()
    assert page.count('class="admin-thumb"') == 11


def test_deleting_takes_the_file(console_client: Client, user: User) -> None:
    item = _clean(save_item(user, JPEG, "image/jpeg"))
    answer = console_client.post(f"{ITEMS}{item.pk}/delete/", {"post": "yes"}, follow=True)
    assert answer.status_code == 200
    assert not LibraryItem.objects.exists() and not StoredFile.objects.exists()
