"""``save_to_library`` (the spec's ``saveToLibrary``) and the services behind the API:
the storage layout, the ``library_items`` row, what runs after commit, and the errors
that return None with nothing stored and nothing charged."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from typing import Any

import pytest
from django.db import connection
from PIL import Image

from apps.storage.models import (
    BlobTombstone,
    ProcessingState,
    QuotaReservation,
    ScanStatus,
    StoredFile,
)
from tests.apps.processing.images import animated_gif
from tests.apps.processing.photos import GPS_IFD, private_jpeg
from tests.apps.processing.videos import video_bytes
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import (
    HTML,
    JPEG,
    PNG,
    WEBP,
    assert_ledger_matches_files,
    b64,
    ledger_state,
    mp4,
    set_limit,
)
from user_library.models import LibraryItem
from user_library.services import (
    SavedItem,
    declared_format,
    library_filename,
    library_item_create,
    save_to_library,
)

pytestmark = pytest.mark.django_db

EMPTY_LEDGER = (0, 0, 0, 0, 0)


def layout(user: Any, extension: str) -> re.Pattern[str]:
    """``user-media/{userId}/{timestamp}-{random}.{ext}``"""
    return re.compile(rf"^user-media/{user.pk}/(\d{{13}})-([a-z0-9]{{8}})\.{extension}$")


def assert_nothing_stored(user: Any, storage: LibraryStorage) -> None:
    assert not LibraryItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert ledger_state(user) == EMPTY_LEDGER
    assert not QuotaReservation.objects.exists()
    assert storage.stored_keys() == set()
    assert not BlobTombstone.objects.exists()


# -- save_to_library ----------------------------------------------------------------------

def test_save_to_library_stores_the_file_and_the_row(user: Any, storage: LibraryStorage,
                                                     django_capture_on_commit_callbacks: Any
                                                     ) -> None:
    before_ms = int(time.time() * 1000)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        saved = save_to_library(user.pk, "image", "product-enhance", b64(PNG), "image/png",
                                {"prompt": "a cat", "seed": 3, "extra": [1]})
    assert len(callbacks) == 1  # the scan, queued for after the commit
    assert isinstance(saved, SavedItem)
    match = layout(user, "png").match(saved.storage_path)
    assert match, saved.storage_path
    assert before_ms <= int(match.group(1)) <= before_ms + 60_000
    with connection.cursor() as cursor:  # the spec's table
        cursor.execute("SELECT user_id, media_type, source, metadata FROM library_items"
                       " WHERE id = %s", [saved.id])
        row = cursor.fetchone()
    assert row is not None
    assert (row[0], row[1], row[2]) == (user.pk, "image", "product-enhance")
    assert json.loads(row[3]) == {"prompt": "a cat", "seed": 3, "extra": [1]}
    item = LibraryItem.objects.select_related("stored_file").get(pk=saved.id)
    assert item.storage_path == saved.storage_path == item.stored_file.key
    assert item.stored_file.owner_user_id == user.pk
    assert (item.stored_file.size, item.stored_file.mime_type) == (len(PNG), "image/png")
    assert storage.read(saved.storage_path) == PNG
    assert ledger_state(user) == (len(PNG), 0, 1, 1, 0)


def test_after_commit_the_file_is_scanned_probed_and_given_variants(
        user: Any, library: Library, storage: LibraryStorage) -> None:
    saved = library.save(user, JPEG, "image/jpeg")
    stored = saved.stored
    assert stored.scan_status == ScanStatus.CLEAN and not stored.is_quarantined
    assert stored.scanned_at is not None  # judged by the real clamd, not "not scanned"
    assert stored.processing_state == ProcessingState.READY
    assert (stored.width, stored.height) == (64, 48)
    assert set(stored.variants.values_list("spec", "format")) == {
        ("thumb-256", "webp"), ("thumb-256", "avif"), ("preview-1024", "webp")}
    assert stored.meta["steps_done"] == ["probe", "metadata", "variants", "embed"]
    storage.assert_consistent()


def test_a_saved_video_gets_probed_and_a_poster(user: Any, library: Library,
                                                storage: LibraryStorage) -> None:
    saved = library.save(user, mp4(), "video/mp4", source="fashion-motion")
    assert layout(user, "mp4").match(saved.storage_path)
    stored = saved.stored
    assert (stored.scan_status, stored.processing_state) == (ScanStatus.CLEAN,
                                                             ProcessingState.READY)
    assert (stored.width, stored.height) == (32, 24)
    assert stored.duration == pytest.approx(1.0, abs=0.15)
    kinds = set(stored.variants.values_list("kind", "format"))
    assert ("poster", "jpeg") in kinds and ("thumbnail", "webp") in kinds
    storage.assert_consistent()


@pytest.mark.parametrize(("data", "mime_type", "extension", "media_type"), [
    (JPEG, "image/jpeg", "jpg", "image"),
    (WEBP, "image/webp", "webp", "image"),
    (animated_gif(3), "image/gif", "gif", "image"),
    (video_bytes("webm", "libvpx", size=(32, 24), frames=4), "video/webm", "webm", "video"),
], ids=["jpeg", "webp", "gif", "webm"])
def test_the_extension_comes_from_the_sniffed_type(user: Any, data: bytes, mime_type: str,
                                                   extension: str, media_type: str) -> None:
    saved = save_to_library(user.pk, media_type, "generate", b64(data), mime_type, {})
    assert saved is not None
    assert layout(user, extension).match(saved.storage_path), saved.storage_path
    item = LibraryItem.objects.get(pk=saved.id)
    assert item.media_type == media_type


def test_untyped_data_is_named_by_its_bytes(user: Any) -> None:
    saved = save_to_library(user.pk, "image", "generate", b64(PNG), "application/octet-stream",
                            {})
    assert saved is not None and layout(user, "png").match(saved.storage_path)


def test_storage_paths_are_unique(user: Any) -> None:
    paths = {save_to_library(user.pk, "image", "generate", b64(PNG), "image/png", {})
             for _ in range(5)}
    assert None not in paths and len({p.storage_path for p in paths if p}) == 5


@pytest.mark.parametrize("kind", ["bytesio", "file"])
def test_a_binary_stream_is_accepted(user: Any, storage: LibraryStorage, tmp_path: Any,
                                     kind: str) -> None:
    if kind == "bytesio":
        saved = save_to_library(user.pk, "image", "angles", io.BytesIO(JPEG), "image/jpeg",
                                {"seed": 1})
    else:
        path = tmp_path / "gen.jpg"
        path.write_bytes(JPEG)
        with path.open("rb") as handle:
            saved = save_to_library(user.pk, "image", "angles", handle, "image/jpeg", None)
    assert saved is not None
    assert layout(user, "jpg").match(saved.storage_path)
    assert storage.read(saved.storage_path) == JPEG
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)


def test_a_data_url_is_accepted_as_file_data(user: Any) -> None:
    saved = save_to_library(user.pk, "image", "generate", f"data:image/png;base64,{b64(PNG)}",
                            "image/png", {})
    assert saved is not None and layout(user, "png").match(saved.storage_path)


# -- save_to_library: None, nothing stored ------------------------------------------------

REFUSED: dict[str, dict[str, Any]] = {
    "bad-base64": {"file_data": "%%% not base64 %%%"},
    "truncated-base64": {"file_data": b64(PNG)[:-3]},
    "empty": {"file_data": ""},
    "declared-type-contradicts": {"mime_type": "image/jpeg"},
    "html": {"file_data": b64(HTML), "mime_type": "text/html"},
    "html-as-image": {"file_data": b64(HTML)},
    "unknown-source": {"source": "midjourney"},
    "wrong-media-type": {"media_type": "video"},
    "unknown-media-type": {"media_type": "3d"},
    "metadata-wrong-type": {"metadata": {"seed": "x"}},
    "metadata-not-a-mapping": {"metadata": ["a"]},
    "stream-of-html": {"file_data": io.BytesIO(HTML)},
    "stream-contradicting-type": {"file_data": io.BytesIO(PNG), "mime_type": "image/webp"},
    "empty-stream": {"file_data": io.BytesIO(b"")},
}


@pytest.mark.parametrize("case", list(REFUSED.values()), ids=list(REFUSED))
def test_save_to_library_returns_none_and_stores_nothing(user: Any, storage: LibraryStorage,
                                                         caplog: Any,
                                                         case: dict[str, Any]) -> None:
    args = {"media_type": "image", "source": "generate", "file_data": b64(PNG),
            "mime_type": "image/png", "metadata": {}, **case}
    if isinstance(args["file_data"], io.BytesIO):
        args["file_data"].seek(0)
    with caplog.at_level(logging.ERROR, logger="user_library.services"):
        assert save_to_library(user.pk, **args) is None
    assert "saveToLibrary failed" in caplog.text
    assert_nothing_stored(user, storage)


@pytest.mark.parametrize("user_id", [uuid.UUID("3f0b9c1e-6a77-4f3e-8d0a-9c1b2e3f4a5b"),
                                     "not-a-user-id", None])
def test_save_to_library_for_an_unknown_user_is_none(user: Any, user_id: Any,
                                                     local_storage: LibraryStorage) -> None:
    assert save_to_library(user_id, "image", "generate", b64(PNG), "image/png", {}) is None
    assert not StoredFile.objects.exists() and local_storage.stored_keys() == set()


def test_save_to_library_over_quota_is_none_and_charges_nothing(user: Any, library: Library,
                                                                storage: LibraryStorage) -> None:
    set_limit(user, len(PNG) + len(JPEG) - 1)
    first = library.save(user, PNG)
    state, keys = ledger_state(user), storage.stored_keys()
    assert save_to_library(user.pk, "image", "generate", b64(JPEG), "image/jpeg", {}) is None
    # a stream declares no size: refused when it is charged, after the upload
    assert save_to_library(user.pk, "image", "generate", io.BytesIO(JPEG), "image/jpeg",
                           {}) is None
    assert ledger_state(user) == state and storage.stored_keys() == keys
    assert list(LibraryItem.objects.values_list("pk", flat=True)) == [first.item.pk]
    assert not QuotaReservation.objects.exists() and not BlobTombstone.objects.exists()


def test_a_stream_over_the_per_file_limit_is_cut_off(user: Any, settings: Any,
                                                     storage: LibraryStorage) -> None:
    settings.USER_LIBRARY = {"MAX_FILE_BYTES": 1000}
    big = JPEG + bytes(2000)  # a JPEG head: only the size refuses it
    assert save_to_library(user.pk, "image", "generate", io.BytesIO(big), "image/jpeg",
                           {}) is None
    assert save_to_library(user.pk, "image", "generate", b64(big), "image/jpeg", {}) is None
    assert_nothing_stored(user, storage)


# -- the platform's rewrite of an original (private metadata) -----------------------------

def test_stripping_private_metadata_keeps_the_layout_and_the_ledger_exact(
        user: Any, library: Library, storage: LibraryStorage) -> None:
    data = private_jpeg()
    saved = library.save(user, data, "image/jpeg")
    stored = saved.stored
    assert stored.meta.get("rewritten"), "the private EXIF was not removed"
    assert stored.size < len(data)
    item = LibraryItem.objects.select_related("stored_file").get(pk=saved.id)
    assert item.storage_path.startswith(f"user-media/{user.pk}/")
    assert item.storage_path.endswith(".jpg")
    assert saved.storage_path not in storage.stored_keys()  # the old bytes went
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(GPS_IFD)  # the test input has a location
    with Image.open(io.BytesIO(storage.read(item.storage_path))) as kept:
        assert not kept.getexif().get_ifd(GPS_IFD)
    assert ledger_state(user)[0] == stored.size
    assert_ledger_matches_files(user)
    storage.assert_consistent()


# -- helpers ------------------------------------------------------------------------------

def test_library_filename() -> None:
    names = {library_filename(".png") for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"\d{13}-[a-z0-9]{8}\.png", name) for name in names)
    assert re.fullmatch(r"\d{13}-[a-z0-9]{8}", library_filename(""))


@pytest.mark.parametrize(("declared", "expected"), [
    (None, None), ("", None), ("application/octet-stream", None), ("image/png", "image/png"),
    (" Image/JPEG ; q=1", "image/jpeg"), ("image/jpg", "image/jpeg"),
    ("image/pjpeg", "image/jpeg"), ("video/x-m4v", "video/mp4"), ("video/mp4", "video/mp4"),
])
def test_declared_format(declared: str | None, expected: str | None) -> None:
    assert declared_format(declared) == expected


def test_library_item_create_takes_chunks(user: Any) -> None:
    item = library_item_create(user=user, source="generate",
                               stream=iter([PNG[:10], PNG[10:50], PNG[50:]]),
                               mime_type="image/png")
    assert item.stored_file.size == len(PNG) and item.media_type == "image"
    assert item.storage_path == item.stored_file.key
