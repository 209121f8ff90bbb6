"""Soft delete: the default manager hides the bin; the bin manager shows only it."""

from __future__ import annotations

import pytest

from apps.core.ids import parse_uuid, short_id, uuid7
from tests.testapp.models import Clip

pytestmark = pytest.mark.django_db


def test_soft_delete_and_restore() -> None:
    keep, gone = Clip.objects.create(title="keep"), Clip.objects.create(title="gone")
    gone.soft_delete()
    assert list(Clip.objects.values_list("title", flat=True)) == ["keep"]
    assert list(Clip.bin.values_list("title", flat=True)) == ["gone"]
    assert Clip.all_objects.count() == 2
    assert gone.is_deleted and not keep.is_deleted
    gone.restore()
    assert Clip.objects.count() == 2 and not Clip.bin.exists()


def test_bulk_soft_delete_and_restore_count_only_changed_rows() -> None:
    Clip.objects.bulk_create([Clip(title=str(i)) for i in range(5)])
    assert Clip.objects.filter(title__in=["1", "2"]).soft_delete() == 2
    assert Clip.all_objects.soft_delete() == 3
    assert Clip.all_objects.restore() == 5


def test_ids() -> None:
    ids = [uuid7() for _ in range(1000)]
    assert all(u.version == 7 for u in ids)
    assert len(set(ids)) == 1000
    assert ids[0].bytes[:6] <= ids[-1].bytes[:6]  # time-ordered prefix
    short = {short_id() for _ in range(1000)}
    assert len(short) == 1000 and all(len(s) == 12 and s.isascii() for s in short)
    assert all(set(s) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
               for s in short)
    with pytest.raises(ValueError):
        short_id(4)
    assert parse_uuid("nope") is None and parse_uuid(str(ids[0])) == ids[0]
