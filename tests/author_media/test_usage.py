"""Storage accounting: GET /v1/media/usage and /usage/breakdown, tiers, bandwidth through
the stable public URLs (local: the bytes streamed; S3: the size signed for), the monthly
reset, the 80% warnings, and ``usage_recalculate``."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.storage import quota
from author_media import services, usage
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, StorageUsage
from tests.author_media.conftest import (
    assert_usage_matches_files,
    fake_png,
    measured_usage,
    stored_of,
)
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import PDF, PNG, mp4, png

pytestmark = pytest.mark.django_db

Upload = Callable[..., Any]
GIB = 1024**3
TIERS = {"free": {"storage": 1 * GIB, "bandwidth": 10 * GIB},
         "pro": {"storage": 50 * GIB, "bandwidth": 500 * GIB}}


def row_of(user: User) -> StorageUsage:
    return StorageUsage.objects.get(user=user)


def set_tier(settings: Any, user: User, *, storage: int, bandwidth: int) -> None:
    settings.AUTHOR_MEDIA = {"TIERS": {**TIERS, "test": {"storage": storage,
                                                         "bandwidth": bandwidth}}}
    usage.usage_set_tier(user_id=user.pk, tier="test")


def purge(media_id: str) -> None:
    media = MediaFile.objects.get(pk=media_id)
    services.media_file_delete(media=media)
    services.media_file_purge(MediaFile.objects.get(pk=media_id))


# -- the figures ------------------------------------------------------------------------------


def test_a_new_user_has_an_empty_usage_with_the_default_tier(client: APIClient,
                                                             author: User) -> None:
    response = client.get("/v1/media/usage")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["userId"] == str(author.pk) and body["tier"] == "free"
    counters = ("totalBytes", "imageBytes", "documentBytes", "videoBytes", "otherBytes",
                "totalFiles", "imageFiles", "documentFiles", "videoFiles",
                "bandwidthUsedBytes", "reservedBytes")
    assert {k: body[k] for k in counters} == dict.fromkeys(counters, 0)
    assert (body["storageLimitBytes"], body["bandwidthLimitBytes"]) == (GIB, 10 * GIB)
    assert (body["storageWarningAt"], body["bandwidthWarningAt"]) == (None, None)
    assert body["storageHeadroomBytes"] == GIB
    now = datetime.now(UTC)
    first_of_next = (now.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    assert body["bandwidthResetAt"] == first_of_next.isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def test_figures_by_type(upload: Upload, client: APIClient, author: User,
                         storage: LibraryStorage) -> None:
    from tests.apps.processing.images import animated_gif

    video, gif, other = mp4(), animated_gif(3), b"PK\x03\x04" + fake_png(300)[4:]
    sizes = {}
    for name, data, ctype, site in [("a.png", PNG, "image/png", "s1"),
                                    ("b.gif", gif, "image/gif", None),
                                    ("c.pdf", PDF, "application/pdf", "s1"),
                                    ("d.mp4", video, "video/mp4", "s2"),
                                    ("e.zip", other, "application/zip", None)]:
        fields = {"siteId": site} if site else {}
        response = upload(data, filename=name, content_type=ctype, **fields)
        assert response.status_code == 201, response.content
        sizes[name] = len(data)
    body = client.get("/v1/media/usage").json()
    total = sum(sizes.values())
    assert (body["totalBytes"], body["imageBytes"], body["documentBytes"], body["videoBytes"],
            body["otherBytes"]) == (total, sizes["a.png"] + sizes["b.gif"], sizes["c.pdf"],
                                    sizes["d.mp4"], sizes["e.zip"])
    assert (body["totalFiles"], body["imageFiles"], body["documentFiles"],
            body["videoFiles"]) == (5, 2, 1, 1)
    assert body["storageUsedRatio"] == round(total / GIB, 4)
    assert body["storageHeadroomBytes"] == GIB - total
    breakdown = client.get("/v1/media/usage/breakdown")
    assert breakdown.status_code == 200, breakdown.content
    by_type = {e["type"]: (e["bytes"], e["files"], e["share"])
               for e in breakdown.json()["byType"]}
    assert by_type == {
        "image": (sizes["a.png"] + sizes["b.gif"], 2,
                  round((sizes["a.png"] + sizes["b.gif"]) / total, 4)),
        "document": (sizes["c.pdf"], 1, round(sizes["c.pdf"] / total, 4)),
        "video": (sizes["d.mp4"], 1, round(sizes["d.mp4"] / total, 4)),
        "other": (sizes["e.zip"], 1, round(sizes["e.zip"] / total, 4)),
    }
    by_site = {e["siteId"]: (e["bytes"], e["files"]) for e in breakdown.json()["bySite"]}
    assert by_site == {"s1": (sizes["a.png"] + sizes["c.pdf"], 2),
                       "s2": (sizes["d.mp4"], 1),
                       None: (sizes["b.gif"] + sizes["e.zip"], 2)}
    assert breakdown.json()["total"]["totalBytes"] == total
    assert_usage_matches_files(author)


def test_variants_count_and_a_purge_frees_everything(upload: Upload, client: APIClient,
                                                     author: User,
                                                     storage: LibraryStorage) -> None:
    media_id = upload(PNG, process=True, siteId="s1").json()["id"]
    stored = stored_of(media_id)
    variant_bytes = sum(stored.variants.values_list("size", flat=True))
    assert variant_bytes > 0
    body = client.get("/v1/media/usage").json()
    assert body["totalBytes"] == body["imageBytes"] == stored.size + variant_bytes
    assert body["totalFiles"] == body["imageFiles"] == 1
    site = client.get("/v1/media/usage/breakdown").json()["bySite"]
    assert site == [{"siteId": "s1", "bytes": stored.size + variant_bytes, "files": 1}]
    assert quota.ledger_for(author, QUOTA_BUCKET).used_bytes == stored.size + variant_bytes
    # a soft delete keeps the bytes (and the figures); the purge frees them
    assert client.delete(f"/v1/media/{media_id}").status_code == 204
    assert client.get("/v1/media/usage").json()["totalBytes"] == stored.size + variant_bytes
    services.media_file_purge(MediaFile.objects.get(pk=media_id))
    body = client.get("/v1/media/usage").json()
    assert (body["totalBytes"], body["imageBytes"], body["totalFiles"], body["imageFiles"]) == (
        0, 0, 0, 0)
    assert client.get("/v1/media/usage/breakdown").json()["bySite"] == []
    assert_usage_matches_files(author)


def test_reserved_bytes_narrow_the_headroom(client: APIClient, author: User) -> None:
    usage.usage_for(author.pk)
    services.prepare_quota(author)
    quota.quota_reserve(owner=author, nbytes=1234, bucket=QUOTA_BUCKET)
    body = client.get("/v1/media/usage").json()
    assert (body["reservedBytes"], body["storageHeadroomBytes"]) == (1234, GIB - 1234)


# -- tiers ------------------------------------------------------------------------------------


def test_tier_limits_come_from_settings(settings: Any, client: APIClient, author: User) -> None:
    settings.AUTHOR_MEDIA = {"TIERS": TIERS}
    usage.usage_set_tier(user_id=author.pk, tier="pro")
    body = client.get("/v1/media/usage").json()
    assert (body["tier"], body["storageLimitBytes"], body["bandwidthLimitBytes"]) == (
        "pro", 50 * GIB, 500 * GIB)
    assert quota.ledger_for(author, QUOTA_BUCKET).limit_bytes == 50 * GIB
    usage.usage_set_tier(user_id=author.pk, tier="free")
    body = client.get("/v1/media/usage").json()
    assert (body["tier"], body["storageLimitBytes"]) == ("free", GIB)
    assert quota.ledger_for(author, QUOTA_BUCKET).limit_bytes == GIB


def test_the_default_tier_applies_to_new_users(settings: Any, client: APIClient) -> None:
    settings.AUTHOR_MEDIA = {"TIERS": TIERS, "DEFAULT_TIER": "pro"}
    body = client.get("/v1/media/usage").json()
    assert (body["tier"], body["storageLimitBytes"]) == ("pro", 50 * GIB)


def test_a_lower_tier_refuses_uploads_beyond_it(upload: Upload, settings: Any, author: User,
                                               local_storage: LibraryStorage) -> None:
    assert upload(fake_png(800)).status_code == 201
    set_tier(settings, author, storage=500, bandwidth=GIB)
    assert upload(fake_png(10)).status_code == 413
    assert MediaFile.objects.filter(user=author).count() == 1
    set_tier(settings, author, storage=2000, bandwidth=GIB)
    assert upload(fake_png(10)).status_code == 201
    assert_usage_matches_files(author)


# -- storage warning --------------------------------------------------------------------------


def test_storage_warning_at_80_percent_set_kept_and_cleared(
        upload: Upload, client: APIClient, author: User, settings: Any,
        local_storage: LibraryStorage) -> None:
    set_tier(settings, author, storage=1000, bandwidth=GIB)
    big = upload(fake_png(700)).json()["id"]
    assert row_of(author).storage_warning_at is None  # 70%
    upload(fake_png(100))
    assert row_of(author).storage_warning_at is not None  # exactly 80%
    first = row_of(author).storage_warning_at
    upload(fake_png(100))
    assert row_of(author).storage_warning_at == first  # still over: the first time stays
    body = client.get("/v1/media/usage").json()
    assert body["storageWarningAt"] is not None and body["storageUsedRatio"] == 0.9
    client.delete(f"/v1/media/{big}")
    assert row_of(author).storage_warning_at == first  # binned bytes still count
    services.media_file_purge(MediaFile.objects.get(pk=big))
    assert row_of(author).storage_warning_at is None  # 20%
    assert client.get("/v1/media/usage").json()["storageWarningAt"] is None


def test_raising_the_tier_clears_the_storage_warning(upload: Upload, client: APIClient,
                                                    author: User, settings: Any,
                                                    local_storage: LibraryStorage) -> None:
    set_tier(settings, author, storage=1000, bandwidth=GIB)
    upload(fake_png(900))
    assert row_of(author).storage_warning_at is not None
    set_tier(settings, author, storage=10_000, bandwidth=GIB)
    assert client.get("/v1/media/usage").json()["storageWarningAt"] is None


# -- bandwidth --------------------------------------------------------------------------------


def bandwidth(user: User) -> int:
    return row_of(user).bandwidth_used_bytes


def test_bandwidth_through_the_public_url(upload: Upload, client: APIClient, author: User,
                                          storage: LibraryStorage) -> None:
    body = upload(PNG, process=True).json()
    assert bandwidth(author) == 0
    redirect = client.get(body["publicUrl"])
    assert redirect.status_code == 302
    # S3 serves the bytes itself: the size signed for counts when the URL is issued;
    # locally only what the file view streams counts
    assert bandwidth(author) == (len(PNG) if storage.name == "s3" else 0)
    fetched = storage.fetch(redirect["Location"])
    assert (fetched.status, fetched.body) == (200, PNG)
    assert bandwidth(author) == len(PNG)
    # anonymous: the public URL needs no login, and still counts against its owner
    again = APIClient().get(body["publicUrl"])
    assert again.status_code == 302
    storage.fetch(again["Location"])
    assert bandwidth(author) == 2 * len(PNG)
    assert APIClient().head(body["publicUrl"]).status_code == 302
    assert bandwidth(author) == 2 * len(PNG)  # a HEAD serves no bytes
    assert client.get("/v1/media/usage").json()["bandwidthUsedBytes"] == 2 * len(PNG)


def test_bandwidth_of_a_thumbnail(upload: Upload, client: APIClient, author: User,
                                  storage: LibraryStorage) -> None:
    media_id = upload(PNG, process=True).json()["id"]
    thumbnail_url = client.get(f"/v1/media/{media_id}").json()["thumbnailUrl"]
    assert thumbnail_url
    variant = stored_of(media_id).variants.get(spec="thumb-256", format="webp")
    redirect = client.get(thumbnail_url)
    assert redirect.status_code == 302
    fetched = storage.fetch(redirect["Location"])
    assert fetched.status == 200 and len(fetched.body) == variant.size
    assert fetched.body[:4] == b"RIFF"
    assert bandwidth(author) == variant.size


def test_local_bandwidth_counts_only_the_bytes_streamed(upload: Upload, client: APIClient,
                                                        author: User,
                                                        local_storage: LibraryStorage) -> None:
    body = upload(png(7), process=True).json()
    size = body["fileSize"]
    location = client.get(body["publicUrl"])["Location"]
    ranged = local_storage.fetch(location, Range="bytes=0-9")
    assert (ranged.status, len(ranged.body)) == (206, 10)
    assert bandwidth(author) == 10
    suffix = local_storage.fetch(location, Range="bytes=-5")
    assert (suffix.status, len(suffix.body)) == (206, 5)
    assert bandwidth(author) == 15
    assert local_storage.fetch(location, Range=f"bytes={size}-").status == 416
    assert Client().head(location).status_code == 200
    assert bandwidth(author) == 15


def test_local_bandwidth_of_a_download_cut_short(upload: Upload, client: APIClient, author: User,
                                                 local_storage: LibraryStorage) -> None:
    data = b"%PDF-1.4\n" + os.urandom(700_000)
    body = upload(data, filename="big.pdf", content_type="application/pdf",
                  process=True).json()
    assert MediaFile.objects.get(pk=body["id"]).scan_status == "CLEAN"
    response = Client().get(client.get(body["publicUrl"])["Location"])
    assert response.status_code == 200
    first = next(iter(response.streaming_content))
    # the client hangs up after the first chunk: the test client's wrapper of the stream
    # closes the response (without closing the test's database connection)
    response._iterator.close()  # type: ignore[attr-defined]
    assert 0 < len(first) < len(data)
    assert bandwidth(author) == len(first)


def test_bandwidth_is_not_counted_for_refused_urls(upload: Upload, client: APIClient,
                                                   author: User,
                                                   local_storage: LibraryStorage) -> None:
    body = upload(PNG, process=True).json()
    wrong_token = body["publicUrl"].rsplit("/", 1)[0] + "/" + "0" * 32
    assert client.get(wrong_token).status_code == 404
    assert client.get(body["publicUrl"] + "/no-such-spec").status_code == 404
    client.delete(f"/v1/media/{body['id']}")
    assert client.get(body["publicUrl"]).status_code == 404
    assert bandwidth(author) == 0


def test_bandwidth_warning_and_monthly_reset(upload: Upload, client: APIClient, author: User,
                                             settings: Any, monkeypatch: pytest.MonkeyPatch,
                                             local_storage: LibraryStorage) -> None:
    body = upload(PNG, process=True).json()
    set_tier(settings, author, storage=GIB, bandwidth=2 * len(PNG))

    def serve() -> None:
        fetched = local_storage.fetch(client.get(body["publicUrl"])["Location"])
        assert fetched.body == PNG

    serve()
    assert (bandwidth(author), row_of(author).bandwidth_warning_at) == (len(PNG), None)  # 50%
    serve()
    warned = row_of(author).bandwidth_warning_at
    assert bandwidth(author) == 2 * len(PNG) and warned is not None  # 100%
    shown = client.get("/v1/media/usage").json()
    assert shown["bandwidthWarningAt"] is not None and shown["bandwidthUsedRatio"] == 1.0
    serve()
    assert row_of(author).bandwidth_warning_at == warned
    # the month turns: the next bytes start a new count, and the warning goes
    reset_at = row_of(author).bandwidth_reset_at
    later = reset_at + timedelta(days=3, hours=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    serve()
    row = row_of(author)
    assert (row.bandwidth_used_bytes, row.bandwidth_warning_at) == (len(PNG), None)
    assert row.bandwidth_reset_at == usage.next_month(later) > later
    assert row.bandwidth_reset_at.day == 1 and row.bandwidth_reset_at.hour == 0
    serve()
    assert bandwidth(author) == 2 * len(PNG)
    assert row_of(author).bandwidth_warning_at is not None


def test_a_month_with_no_traffic_still_resets(upload: Upload, client: APIClient, author: User,
                                              monkeypatch: pytest.MonkeyPatch,
                                              storage: LibraryStorage) -> None:
    body = upload(PNG, process=True).json()
    StorageUsage.objects.filter(user=author).update(bandwidth_used_bytes=10**6)
    far = row_of(author).bandwidth_reset_at + timedelta(days=75)
    monkeypatch.setattr(timezone, "now", lambda: far)
    storage.fetch(client.get(body["publicUrl"])["Location"])
    row = row_of(author)
    assert row.bandwidth_used_bytes == len(PNG)
    assert row.bandwidth_reset_at == usage.next_month(far)


def test_next_month() -> None:
    assert usage.next_month(datetime(2026, 1, 31, 23, 59, tzinfo=UTC)) == datetime(
        2026, 2, 1, tzinfo=UTC)
    assert usage.next_month(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 1,
                                                                            tzinfo=UTC)
    assert usage.next_month(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 4, 1,
                                                                          tzinfo=UTC)


# -- recalculation ----------------------------------------------------------------------------


def test_recalculate_reports_and_fixes_drift(upload: Upload, author: User,
                                             local_storage: LibraryStorage) -> None:
    upload(PNG, process=True)
    upload(PDF, filename="a.pdf", content_type="application/pdf")
    truth = measured_usage(author)
    assert usage.usage_recalculate(user_id=author.pk) == {}
    StorageUsage.objects.filter(user=author).update(total_bytes=5, image_files=9)
    ledger = quota.ledger_for(author, QUOTA_BUCKET)
    type(ledger).objects.filter(pk=ledger.pk).update(used_bytes=1)
    drift = usage.usage_recalculate(user_id=author.pk, fix=False)
    assert drift == {"total_bytes": (5, truth["total_bytes"]), "image_files": (9, 1)}
    assert row_of(author).total_bytes == 5  # only reported
    drift = usage.usage_recalculate(user_id=author.pk)
    assert set(drift) == {"total_bytes", "image_files"}
    assert_usage_matches_files(author)
    assert usage.usage_recalculate(user_id=author.pk) == {}
    assert row_of(author).bandwidth_used_bytes == 0  # not the recalculation's business


def test_usage_requires_a_login() -> None:
    assert APIClient().get("/v1/media/usage").status_code == 401
    assert APIClient().get("/v1/media/usage/breakdown").status_code == 401
