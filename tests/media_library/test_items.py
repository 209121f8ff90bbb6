"""Media items beyond what all kinds share (test_objects.py): their fields, the type
and tag filters, sorting, recent items and bulk actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from media_library.models import MediaItem
from tests.media_library.factories import (
    counts,
    item_body,
    make_category,
    make_item,
    problems,
    snapshot,
)

FULL = {
    "type": "video", "name": "Teaser", "description": "Summer teaser",
    "fileUrl": "https://res.cloudinary.com/demo/video/upload/teaser.mp4",
    "thumbnailUrl": "https://res.cloudinary.com/demo/video/upload/teaser.jpg",
    "mimeType": "video/mp4", "fileSize": 3_000_000_000, "width": 1920, "height": 1080,
    "duration": 30, "cloudinaryPublicId": "ws/media/teaser", "cloudinaryAssetId": "abc123",
    "tags": ["summer", "teaser"],
}


def test_create_keeps_every_field(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/items", FULL, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in FULL} == FULL
    row = MediaItem.objects.get(pk=body["id"])
    assert (row.type, row.file_size, row.duration, row.cloudinary_asset_id) == (
        "video", 3_000_000_000, 30, "abc123")


def test_optional_fields_are_null(member: APIClient, base: str) -> None:
    body = member.post(f"{base}/items", item_body(tags=None), format="json").json()
    for name in ("description", "thumbnailUrl", "mimeType", "fileSize", "width", "height",
                 "duration", "cloudinaryPublicId", "cloudinaryAssetId", "categoryId"):
        assert body[name] is None, name
    assert body["tags"] == []


@pytest.mark.parametrize(("body", "messages"), [
    ({}, ["type should not be empty", "name should not be empty",
          "fileUrl should not be empty"]),
    (item_body(type="pdf"),
     ["type must be one of the following values: image, video, gif, document"]),
    (item_body(type=["image"]),
     ["type must be one of the following values: image, video, gif, document"]),
    (item_body(name=""), ["name should not be empty"]),
    (item_body(name="x" * 256), ["name must be shorter than or equal to 255 characters"]),
    (item_body(fileUrl="cdn.example.com/a.png"), ["fileUrl must be a URL address"]),
    (item_body(fileUrl="javascript:alert(1)"), ["fileUrl must be a URL address"]),
    (item_body(fileUrl="https://"), ["fileUrl must be a URL address"]),
    (item_body(thumbnailUrl="ftp://x.example.com/t"), ["thumbnailUrl must be a URL address"]),
    (item_body(mimeType="m" * 101), ["mimeType must be shorter than or equal to 100 characters"]),
    (item_body(fileSize=-1), ["fileSize must not be less than 0"]),
    (item_body(width="wide"), ["width must be an integer number"]),
    (item_body(height=1.5), ["height must be an integer number"]),
    (item_body(duration=True), ["duration must be an integer number"]),
    (item_body(tags=[f"t{i}" for i in range(101)]),
     ["tags must contain no more than 100 elements"]),
    (item_body(tags=["x" * 101]), ["each value in tags must be shorter than or equal to 100 "
                                   "characters"]),
    (item_body(description=7), ["description must be a string"]),
    (item_body(categoryId=5), ["categoryId must be a UUID"]),
    (item_body(type="pdf", name=5, fileUrl="nope"),
     ["type must be one of the following values: image, video, gif, document",
      "name must be a string", "fileUrl must be a URL address"]),
])
def test_create_rejects_bad_bodies(body: dict[str, Any], messages: list[str],
                                   member: APIClient, base: str,
                                   workspace: Workspace) -> None:
    response = member.post(f"{base}/items", body, format="json")
    assert response.status_code == 400
    assert problems(response) == messages
    assert counts(workspace)["MediaItem"] == 0


def test_a_body_that_is_not_an_object_is_400(member: APIClient, base: str,
                                             workspace: Workspace) -> None:
    response = member.post(f"{base}/items", [item_body()], format="json")
    assert response.status_code == 400
    assert counts(workspace)["MediaItem"] == 0


def test_update_ignores_fields_it_does_not_take(member: APIClient, base: str,
                                                workspace: Workspace) -> None:
    item = make_item(workspace, "still image", type="image")
    response = member.put(f"{base}/items/{item.id}", {
        "type": "video", "fileUrl": "https://evil.example.com/x", "usageCount": 99,
        "description": "now described"}, format="json")
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.type, item.file_url, item.usage_count, item.description) == (
        "image", "https://cdn.example.com/x.png", 0, "now described")


def test_category_must_match_the_items_type(member: APIClient, base: str,
                                            workspace: Workspace) -> None:
    images = make_category(workspace, "image", "Images")
    videos = make_category(workspace, "video", "Videos")
    response = member.post(f"{base}/items", item_body(type="video", categoryId=str(images.id)),
                           format="json")
    assert response.status_code == 400
    assert counts(workspace)["MediaItem"] == 0
    ok = member.post(f"{base}/items", item_body(type="video", categoryId=str(videos.id)),
                     format="json")
    assert ok.status_code == 201
    moved = member.put(f"{base}/items/{ok.json()['id']}", {"categoryId": str(images.id)},
                       format="json")
    assert moved.status_code == 400
    assert MediaItem.objects.get(pk=ok.json()["id"]).category_id == videos.id


def test_type_filter(viewer: APIClient, base: str, workspace: Workspace) -> None:
    for type_ in ("image", "video", "gif", "document", "video"):
        make_item(workspace, type_, type=type_)
    listed = viewer.get(f"{base}/items", {"type": "video"}).json()
    assert listed["total"] == 2 and {o["type"] for o in listed["items"]} == {"video"}
    assert viewer.get(f"{base}/items", {"type": "document"}).json()["total"] == 1
    bad = viewer.get(f"{base}/items", {"type": "template"})
    assert bad.status_code == 400
    assert problems(bad) == [
        "type must be one of the following values: image, video, gif, document"]


def test_tags_filter_is_an_and(viewer: APIClient, base: str, workspace: Workspace) -> None:
    make_item(workspace, "both", tags=["summer", "banner", "x"])
    make_item(workspace, "summer only", tags=["summer"])
    make_item(workspace, "banner only", tags=["banner"])
    make_item(workspace, "no tags")

    def names(tags: str) -> list[str]:
        return sorted(o["name"] for o in
                      viewer.get(f"{base}/items", {"tags": tags}).json()["items"])

    assert names("summer,banner") == ["both"]
    assert names(" summer , banner ") == ["both"]
    assert names("summer") == ["both", "summer only"]
    assert names("Summer") == []  # tags match exactly
    assert names("summer,banner,autumn") == []


@pytest.fixture
def sortable(workspace: Workspace) -> dict[str, MediaItem]:
    now = timezone.now()
    rows = {
        "b": make_item(workspace, "b", usage_count=5, last_used_at=now - timedelta(hours=3)),
        "a": make_item(workspace, "a", usage_count=1, last_used_at=now - timedelta(hours=1)),
        "c": make_item(workspace, "c", usage_count=9, last_used_at=now - timedelta(hours=2)),
        "d": make_item(workspace, "d"),
    }
    for n, row in enumerate(rows.values()):  # created in the order b, a, c, d
        MediaItem.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=10 - n))
    return rows


@pytest.mark.parametrize(("params", "expected"), [
    ({}, "dcab"),
    ({"sortOrder": "asc"}, "bacd"),
    ({"sortBy": "createdAt", "sortOrder": "desc"}, "dcab"),
    ({"sortBy": "name", "sortOrder": "asc"}, "abcd"),
    ({"sortBy": "name"}, "dcba"),
    ({"sortBy": "usageCount", "sortOrder": "desc"}, "cbad"),
    ({"sortBy": "usageCount", "sortOrder": "asc"}, "dabc"),
])
def test_sorting(params: dict[str, str], expected: str, sortable: dict[str, MediaItem],
                 viewer: APIClient, base: str) -> None:
    items = viewer.get(f"{base}/items", params).json()["items"]
    assert "".join(o["name"] for o in items) == expected


def test_sorting_by_last_use(sortable: dict[str, MediaItem], viewer: APIClient,
                             base: str) -> None:
    newest = [o["name"] for o in viewer.get(f"{base}/items", {"sortBy": "lastUsedAt"})
              .json()["items"]]
    oldest = [o["name"] for o in viewer.get(f"{base}/items", {"sortBy": "lastUsedAt",
                                                              "sortOrder": "asc"})
              .json()["items"]]
    assert [n for n in newest if n != "d"] == ["a", "c", "b"]
    assert [n for n in oldest if n != "d"] == ["b", "c", "a"]
    assert len(newest) == len(oldest) == 4


@pytest.mark.parametrize(("params", "message"), [
    ({"sortBy": "size"},
     "sortBy must be one of the following values: createdAt, name, usageCount, lastUsedAt"),
    ({"sortOrder": "up"}, "sortOrder must be one of the following values: asc, desc"),
])
def test_bad_sort_is_400(params: dict[str, str], message: str, viewer: APIClient,
                         base: str) -> None:
    response = viewer.get(f"{base}/items", params)
    assert response.status_code == 400 and problems(response) == [message]


def test_paging_follows_the_sort(sortable: dict[str, MediaItem], viewer: APIClient,
                                 base: str) -> None:
    page = viewer.get(f"{base}/items", {"sortBy": "name", "sortOrder": "asc", "limit": "2",
                                        "offset": "1"}).json()
    assert [o["name"] for o in page["items"]] == ["b", "c"] and page["total"] == 4


# -- recent ----------------------------------------------------------------------------


def test_recent_defaults_to_20_live_items(viewer: APIClient, base: str,
                                          workspace: Workspace) -> None:
    for n in range(23):
        make_item(workspace, f"i{n}")
    make_item(workspace, "binned", is_deleted=True, deleted_at=timezone.now())
    recent = viewer.get(f"{base}/items/recent")
    assert recent.status_code == 200
    assert len(recent.json()) == 20
    assert "binned" not in {o["name"] for o in recent.json()}
    assert len(viewer.get(f"{base}/items/recent", {"limit": 5}).json()) == 5
    assert len(viewer.get(f"{base}/items/recent", {"limit": 100}).json()) == 23


def test_recent_puts_the_last_used_first(member: APIClient, base: str,
                                         workspace: Workspace) -> None:
    old = make_item(workspace, "old")
    make_item(workspace, "new")
    member.post(f"{base}/items/{old.id}/use")
    assert [o["name"] for o in member.get(f"{base}/items/recent").json()] == ["old", "new"]


@pytest.mark.parametrize(("limit", "message"), [
    ("0", "limit must not be less than 1"), ("101", "limit must not be greater than 100"),
    ("x", "limit must be an integer number")])
def test_recent_limit_is_checked(limit: str, message: str, viewer: APIClient,
                                 base: str) -> None:
    response = viewer.get(f"{base}/items/recent", {"limit": limit})
    assert response.status_code == 400 and problems(response) == [message]


# -- bulk ------------------------------------------------------------------------------


def bulk(client: APIClient, base: str, ids: list[Any], action: str,
         **extra: Any) -> Any:
    return client.post(f"{base}/items/bulk",
                       {"ids": [str(i) for i in ids], "action": action, **extra},
                       format="json")


def _done(count: int) -> dict[str, Any]:
    return {"success": True, "message": "Bulk action completed", "processedCount": count}


def test_bulk_delete_and_restore_count_changes(member: APIClient, base: str,
                                               workspace: Workspace) -> None:
    live = [make_item(workspace, f"l{n}") for n in range(2)]
    gone = make_item(workspace, "gone", is_deleted=True, deleted_at=timezone.now())
    ids = [*(i.id for i in live), gone.id, uuid.uuid4()]
    deleted = bulk(member, base, ids, "delete")
    assert deleted.status_code == 200 and deleted.json() == _done(2)
    assert MediaItem.objects.filter(is_deleted=True, deleted_at__isnull=False).count() == 3
    restored = bulk(member, base, [live[0].id], "restore")
    assert restored.json() == _done(1)
    assert bulk(member, base, [live[0].id], "restore").json() == _done(0)
    live[0].refresh_from_db()
    assert not live[0].is_deleted and live[0].deleted_at is None


def test_bulk_star_and_unstar_count_changes(member: APIClient, base: str,
                                            workspace: Workspace) -> None:
    starred = make_item(workspace, "starred", is_starred=True)
    plain = [make_item(workspace, f"p{n}") for n in range(3)]
    ids = [starred.id, *(p.id for p in plain)]
    assert bulk(member, base, ids, "star").json() == _done(3)
    assert MediaItem.objects.filter(is_starred=True).count() == 4
    assert bulk(member, base, ids, "star").json() == _done(0)
    assert bulk(member, base, ids[:2], "unstar").json() == _done(2)
    assert MediaItem.objects.filter(is_starred=True).count() == 2


def test_bulk_move(member: APIClient, base: str, workspace: Workspace) -> None:
    target = make_category(workspace, "image", "target")
    already = make_item(workspace, "already", category=target)
    others = [make_item(workspace, f"o{n}") for n in range(2)]
    ids = [already.id, *(o.id for o in others)]
    response = bulk(member, base, ids, "move", categoryId=str(target.id))
    assert response.json() == _done(2)
    assert set(MediaItem.objects.values_list("category_id", flat=True)) == {target.id}
    listed = member.get(f"{base}/items", {"categoryId": str(target.id)}).json()
    assert listed["total"] == 3


def test_bulk_move_to_a_category_of_another_type_changes_nothing(
        member: APIClient, base: str, workspace: Workspace) -> None:
    videos = make_category(workspace, "video", "videos")
    items = [make_item(workspace, "img", type="image"), make_item(workspace, "vid", type="video")]
    before = snapshot(workspace)
    response = bulk(member, base, [i.id for i in items], "move", categoryId=str(videos.id))
    assert response.status_code == 400
    assert problems(response)
    assert snapshot(workspace) == before


def test_bulk_move_needs_an_existing_category(member: APIClient, base: str,
                                              workspace: Workspace) -> None:
    item = make_item(workspace, "i")
    before = snapshot(workspace)
    missing = bulk(member, base, [item.id], "move")
    assert missing.status_code == 400
    assert problems(missing) == ["categoryId should not be empty"]
    unknown = bulk(member, base, [item.id], "move", categoryId=str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["message"] == "Category not found"
    assert snapshot(workspace) == before


def test_bulk_permanent_delete(admin: APIClient, base: str, workspace: Workspace) -> None:
    keep = make_item(workspace, "keep")
    doomed = [make_item(workspace, "live"),
              make_item(workspace, "binned", is_deleted=True, deleted_at=timezone.now())]
    response = bulk(admin, base, [d.id for d in doomed], "permanentDelete")
    assert response.json() == _done(2)
    assert list(MediaItem.objects.values_list("pk", flat=True)) == [keep.pk]


def test_bulk_accepts_100_ids(member: APIClient, base: str, workspace: Workspace) -> None:
    items = [make_item(workspace, f"i{n}") for n in range(3)]
    ids = [i.id for i in items] + [uuid.uuid4() for _ in range(97)]
    assert bulk(member, base, ids, "star").json() == _done(3)


@pytest.mark.parametrize(("body", "messages"), [
    ({}, ["ids should not be empty", "action should not be empty"]),
    ({"ids": [], "action": "delete"}, ["ids should not be empty"]),
    ({"ids": [str(uuid.uuid4()) for _ in range(101)], "action": "delete"},
     ["ids must contain no more than 100 elements"]),
    ({"ids": ["abc"], "action": "delete"}, ["each value in ids must be a UUID"]),
    ({"ids": [1], "action": "delete"}, ["each value in ids must be a string"]),
    ({"ids": "abc", "action": "delete"}, ["ids must be an array"]),
    ({"ids": [str(uuid.uuid4())], "action": "archive"},
     ["action must be one of the following values: delete, restore, move, star, unstar, "
      "permanentDelete"]),
    ({"ids": [str(uuid.uuid4())], "action": "move", "categoryId": "c"},
     ["categoryId must be a UUID"]),
])
def test_bulk_rejects_bad_bodies(body: dict[str, Any], messages: list[str], admin: APIClient,
                                 base: str, workspace: Workspace) -> None:
    make_item(workspace, "untouched")
    before = snapshot(workspace)
    response = admin.post(f"{base}/items/bulk", body, format="json")
    assert response.status_code == 400
    assert problems(response) == messages
    assert snapshot(workspace) == before
