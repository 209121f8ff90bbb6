"""The variants service: freshness by spec hash and source bytes, the pipeline steps that
use it (EXIF kept, private metadata stripped from the original), and the operations."""

from __future__ import annotations

import copy
import hashlib
import io
import struct
from typing import Any

import pytest
from PIL import Image

from apps.processing import scanning, steps, variants
from apps.processing.engines.variant_specs import SpecError
from apps.processing.tasks import regenerate_variants, run_pipeline
from apps.processing.variants import (
    InvalidOperation,
    NotAnImage,
    Optimized,
    fresh_variants,
    image_crop,
    image_optimize,
    image_resize,
    stale_files,
    variant_for,
    variants_generate,
)
from apps.storage.blobs import blob_store
from apps.storage.errors import BlobNotFound
from apps.storage.models import (
    BlobTombstone,
    MediaKind,
    ProcessingState,
    QuotaLedger,
    ScanStatus,
    StoredFile,
    Variant,
)
from tests.apps.processing import photos
from tests.apps.processing.images import animated_gif

pytestmark = pytest.mark.django_db

SPECS: dict[str, dict[str, Any]] = {
    "small": {"kind": "thumbnail", "width": 32, "height": 32,
              "formats": {"webp": {"quality": 80}, "png": {}}},
    "medium": {"kind": "preview", "width": 96, "height": 96,
               "formats": {"webp": {"quality": 82}}, "animated": True},
}
JPEG = photos.photo_bytes("JPEG", (160, 120), quality=85)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _specs(settings: Any) -> None:
    settings.PROCESSING = {"VARIANT_SPECS": copy.deepcopy(SPECS)}


def configure(settings: Any, **changes: dict[str, Any] | None) -> None:
    """Change spec definitions in settings (None removes one)."""
    specs = copy.deepcopy(SPECS)
    for name, definition in changes.items():
        if definition is None:
            specs.pop(name, None)
        else:
            specs[name] = definition
    settings.PROCESSING = {**settings.PROCESSING, "VARIANT_SPECS": specs}


def processed(user: Any, data: bytes = JPEG, name: str = "photo.jpg") -> StoredFile:
    """Stored, cleared by the real scanner, and run through the default pipeline."""
    stored = blob_store.put(data, owner=user, name=name)
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    return StoredFile.objects.get(pk=stored.pk)


def rows(stored: StoredFile) -> dict[tuple[str, str], Variant]:
    return {(v.spec, v.format): v for v in Variant.objects.filter(stored_file=stored)}


def decoded(obj: StoredFile | Variant) -> Image.Image:
    with blob_store.open(obj) as handle:
        data = handle.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def read(obj: StoredFile | Variant) -> bytes:
    with blob_store.open(obj) as handle:
        return handle.read()


def exists(key: str) -> bool:
    return bool(blob_store.storage.exists(key))


def colour_at(image: Image.Image, point: tuple[int, int], corner: str,
              tolerance: int = 12) -> bool:
    pixel = image.convert("RGB").getpixel(point)
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, photos.CORNERS[corner],
                                                       strict=True))


# -- generation and freshness -----------------------------------------------------------
def test_pipeline_writes_one_fresh_variant_per_spec_and_format(user: Any) -> None:
    stored = processed(user)
    specs = variants.configured_specs()
    found = rows(stored)
    assert set(found) == {("small", "webp"), ("small", "png"), ("medium", "webp")}
    for (name, fmt), variant in found.items():
        assert variant.spec_hash == specs[name].hash
        assert variant.source_sha256 == stored.sha256
        assert specs[name].hash in variant.key and stored.sha256[:12] in variant.key
        assert variant.kind == specs[name].kind and variant.mime_type == f"image/{fmt}"
        image = decoded(variant)
        assert image.format == fmt.upper() and image.size == (variant.width, variant.height)
        assert variant.size == len(read(variant))
    assert (found["small", "webp"].width, found["small", "webp"].height) == (32, 24)
    assert (found["medium", "webp"].width, found["medium", "webp"].height) == (96, 72)


def test_a_second_run_writes_nothing(user: Any) -> None:
    stored = processed(user)
    before = {k: (v.pk, v.key) for k, v in rows(stored).items()}
    assert variants_generate(stored) == []
    assert {k: (v.pk, v.key) for k, v in rows(stored).items()} == before


def test_changing_one_spec_regenerates_only_that_spec(
        user: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    stored = processed(user)
    before = rows(stored)
    configure(settings, medium={**SPECS["medium"], "formats": {"webp": {"quality": 60}}})
    with django_capture_on_commit_callbacks(execute=True):
        written = variants_generate(stored)
    assert [(v.spec, v.format) for v in written] == [("medium", "webp")]
    after = rows(stored)
    for key in [("small", "webp"), ("small", "png")]:
        assert (after[key].pk, after[key].key, after[key].spec_hash) == (
            before[key].pk, before[key].key, before[key].spec_hash)
    new_hash = variants.configured_specs()["medium"].hash
    medium = after["medium", "webp"]
    assert medium.spec_hash == new_hash != before["medium", "webp"].spec_hash
    assert new_hash in medium.key and exists(medium.key)
    assert not exists(before["medium", "webp"].key)  # the old rendering's bytes are gone
    assert not BlobTombstone.objects.exists()
    assert variants_generate(stored) == []


def test_removing_a_format_deletes_that_variant_only(
        user: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    stored = processed(user)
    before = rows(stored)
    configure(settings, small={**SPECS["small"], "formats": {"webp": {"quality": 80}}})
    with django_capture_on_commit_callbacks(execute=True):
        written = variants_generate(stored)
    # The format list is part of the spec's hash: the webp is re-made under the new hash.
    assert [(v.spec, v.format) for v in written] == [("small", "webp")]
    after = rows(stored)
    assert set(after) == {("small", "webp"), ("medium", "webp")}
    assert after["small", "webp"].spec_hash == variants.configured_specs()["small"].hash
    assert after["medium", "webp"].pk == before["medium", "webp"].pk
    assert not exists(before["small", "png"].key)
    assert not exists(before["small", "webp"].key)
    assert not BlobTombstone.objects.exists()
    assert variant_for(stored, "small", "png") is None


def test_adding_a_format_renders_it(user: Any, settings: Any) -> None:
    stored = processed(user)
    configure(settings, small={**SPECS["small"],
                               "formats": {"webp": {"quality": 80}, "png": {}, "jpeg": {}}})
    written = variants_generate(stored)
    assert ("small", "jpeg") in {(v.spec, v.format) for v in written}
    assert {v.spec for v in written} == {"small"}
    jpeg = variant_for(stored, "small", "jpeg")
    assert jpeg is not None and decoded(jpeg).format == "JPEG"


def test_spec_names_narrow_and_force_rerenders(user: Any) -> None:
    stored = processed(user)
    before = rows(stored)
    written = variants_generate(stored, spec_names=["small"], force=True)
    assert sorted((v.spec, v.format) for v in written) == [("small", "png"), ("small", "webp")]
    after = rows(stored)
    assert after["medium", "webp"].pk == before["medium", "webp"].pk
    assert after["small", "webp"].pk != before["small", "webp"].pk
    assert len(after) == 3
    with pytest.raises(SpecError, match="no variant spec named nope"):
        variants_generate(stored, spec_names=["small", "nope"])


def test_variant_for_serves_only_fresh_variants(user: Any, settings: Any) -> None:
    stored = processed(user)
    first = variant_for(stored, "small")
    assert first is not None and first.format == "webp"  # the spec's first format
    png = variant_for(stored, "small", "png")
    assert png is not None and png.format == "png"
    assert variant_for(stored, "small", "avif") is None
    assert variant_for(stored, "nope") is None
    assert {(v.spec, v.format) for v in fresh_variants(stored)} == set(rows(stored))
    configure(settings, medium={**SPECS["medium"], "version": 2})
    assert variant_for(stored, "medium") is None  # made under the old definition
    assert {v.spec for v in fresh_variants(stored)} == {"small"}


def test_variant_for_never_returns_a_variant_of_other_bytes(user: Any) -> None:
    stored = processed(user)
    resized = image_resize(stored=stored, width=40, height=None)
    Variant.objects.filter(stored_file=stored, spec="small", format="webp").update(
        source_sha256="0" * 64)
    Variant.objects.filter(pk=resized.pk).update(source_sha256="1" * 64)
    assert variant_for(stored, "small") is None
    assert variant_for(stored, "small", "png") is not None
    assert variant_for(stored, resized.spec) is None
    assert {(v.spec, v.format) for v in fresh_variants(stored)} == {("small", "png"),
                                                                     ("medium", "webp")}


def test_ad_hoc_variants_are_fresh_while_the_bytes_are(user: Any) -> None:
    stored = processed(user)
    resized = image_resize(stored=stored, width=40, height=None)
    assert resized.pk in {v.pk for v in fresh_variants(stored)}
    found = variant_for(stored, resized.spec)
    assert found is not None and found.pk == resized.pk


def test_replaced_bytes_drop_old_variants_and_new_ones_follow(
        user: Any, django_capture_on_commit_callbacks: Any) -> None:
    stored = processed(user)
    old_sha, old_key = stored.sha256, stored.key
    old_keys = [v.key for v in rows(stored).values()]
    new = photos.photo_bytes("JPEG", (160, 120), seed=9)
    with django_capture_on_commit_callbacks(execute=True):
        blob_store.replace_content(stored, new, reason="test rewrite")
    stored.refresh_from_db()
    assert stored.sha256 == hashlib.sha256(new).hexdigest() != old_sha
    assert stored.size == len(new) and read(stored) == new
    assert not Variant.objects.filter(stored_file=stored).exists()
    assert not any(exists(key) for key in [old_key, *old_keys])
    assert not BlobTombstone.objects.exists()
    assert variant_for(stored, "small") is None and fresh_variants(stored) == []
    assert stored.meta["rewritten"][-1] == {"reason": "test rewrite", "from_sha256": old_sha,
                                            "from_size": len(JPEG)}
    written = variants_generate(stored)
    assert len(written) == 3
    for variant in written:
        assert variant.source_sha256 == stored.sha256 and stored.sha256[:12] in variant.key
    assert variant_for(stored, "small") is not None


def test_stale_files_lists_ready_images_lacking_a_fresh_variant(user: Any,
                                                                settings: Any) -> None:
    a = processed(user, JPEG, "a.jpg")
    b = processed(user, photos.photo_bytes("PNG", (80, 60)), "b.png")
    blob_store.put(JPEG, owner=user, name="pending.jpg")  # not processed yet
    doc = processed(user, PDF, "doc.pdf")
    assert doc.kind == MediaKind.DOCUMENT
    small = variants.configured_specs()["small"]
    medium = variants.configured_specs()["medium"]
    assert list(stale_files(small)) == [] and list(stale_files(medium)) == []
    Variant.objects.filter(stored_file=b, spec="small", format="png").delete()
    assert list(stale_files(small)) == [b] and list(stale_files(medium)) == []
    configure(settings, medium={**SPECS["medium"], "width": 90})
    changed = variants.configured_specs()["medium"]
    assert list(stale_files(changed)) == sorted([a, b], key=lambda f: f.pk)
    variants_generate(a)
    assert list(stale_files(changed)) == [b]
    Variant.objects.filter(stored_file=a, spec="medium").update(source_sha256="0" * 64)
    assert list(stale_files(changed)) == sorted([a, b], key=lambda f: f.pk)


@pytest.mark.parametrize("change", [
    {"scan_status": ScanStatus.PENDING}, {"scan_status": ScanStatus.SCANNING},
    {"scan_status": ScanStatus.FLAGGED}, {"scan_status": ScanStatus.ERROR},
    {"scan_status": ScanStatus.INFECTED}, {"is_quarantined": True},
])
def test_signed_url_of_a_variant_needs_a_cleared_file(user: Any, change: dict[str, Any]) -> None:
    stored = processed(user)
    variant = variant_for(stored, "small")
    assert variant is not None
    assert blob_store.signed_url(variant)
    StoredFile.objects.filter(pk=stored.pk).update(**change)
    with pytest.raises(BlobNotFound):
        blob_store.signed_url(Variant.objects.get(pk=variant.pk))


def test_non_images_have_no_variants(user: Any) -> None:
    doc = processed(user, PDF, "doc.pdf")
    assert not Variant.objects.filter(stored_file=doc).exists()
    assert "exif" not in doc.meta
    with pytest.raises(NotAnImage):
        variants_generate(doc)
    steps.make_variants(doc)  # the step skips what is not an image
    steps.metadata(doc)
    assert not Variant.objects.filter(stored_file=doc).exists()


def test_regenerate_variants_task(user: Any, settings: Any) -> None:
    stored = processed(user)
    assert regenerate_variants(stored_file_id=str(stored.pk)) == 0  # all fresh
    assert regenerate_variants(stored_file_id=str(stored.pk), spec_names=["small"],
                               force=True) == 2
    configure(settings, medium={**SPECS["medium"], "version": 2})
    StoredFile.objects.filter(pk=stored.pk).update(is_quarantined=True)
    assert regenerate_variants(stored_file_id=str(stored.pk)) == 0  # never served: untouched
    StoredFile.objects.filter(pk=stored.pk).update(is_quarantined=False)
    assert regenerate_variants(stored_file_id=str(stored.pk)) == 1
    assert regenerate_variants(stored_file_id="00000000-0000-0000-0000-000000000000") == 0


# -- the pipeline: EXIF kept, private metadata stripped ---------------------------------
def test_pipeline_strips_private_metadata_from_the_original(
        user: Any, django_capture_on_commit_callbacks: Any) -> None:
    original = photos.private_jpeg((160, 120))
    stored = blob_store.put(original, owner=user, name="holiday.jpg")
    old_key, old_sha, old_size = stored.key, stored.sha256, stored.size
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    with django_capture_on_commit_callbacks(execute=True):
        assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    stored.refresh_from_db()
    facts = stored.meta["exif"]
    assert facts["make"] == "Canon" and facts["model"] == "Canon EOS R5"
    assert facts["taken_at"] == "2023-05-06T07:08:09" and facts["has_gps"] is True
    assert photos.SERIAL not in str(stored.meta)
    served = read(stored)
    for secret in (photos.SERIAL.encode(), photos.LENS_SERIAL_VALUE.encode(),
                   photos.OWNER.encode(), b"SECRET-SERIAL-42", b"GPSLatitude"):
        assert secret not in served
    image = Image.open(io.BytesIO(served))
    assert image.getexif().get_ifd(0x8825) == {}
    assert image.getexif()[0x0110] == "Canon EOS R5"
    assert image.tobytes() == Image.open(io.BytesIO(original)).tobytes()
    assert stored.sha256 == hashlib.sha256(served).hexdigest() != old_sha
    assert stored.size == len(served) < old_size
    assert stored.key != old_key and not exists(old_key)
    assert not BlobTombstone.objects.exists()
    assert QuotaLedger.objects.get(owner_user=user).used_bytes == stored.size
    assert stored.meta["rewritten"] == [{"reason": "private metadata removed",
                                         "from_sha256": old_sha, "from_size": old_size}]
    found = rows(stored)
    assert set(found) == {("small", "webp"), ("small", "png"), ("medium", "webp")}
    assert all(v.source_sha256 == stored.sha256 for v in found.values())
    assert variant_for(stored, "medium") is not None


def test_pipeline_keeps_the_original_when_stripping_is_off(user: Any, settings: Any) -> None:
    settings.PROCESSING = {**settings.PROCESSING, "STRIP_PRIVATE_METADATA": False}
    original = photos.private_jpeg((160, 120))
    stored = processed(user, original, "holiday.jpg")
    assert read(stored) == original
    assert stored.sha256 == hashlib.sha256(original).hexdigest()
    assert "rewritten" not in stored.meta
    assert stored.meta["exif"]["model"] == "Canon EOS R5"
    assert QuotaLedger.objects.get(owner_user=user).used_bytes == len(original)
    assert len(rows(stored)) == 3


def test_pipeline_leaves_an_original_with_nothing_private_alone(user: Any) -> None:
    original = photos.photo_bytes("JPEG", (64, 48), exif=photos.public_exif().tobytes())
    stored = processed(user, original)
    assert read(stored) == original and "rewritten" not in stored.meta
    assert stored.meta["exif"] == {"make": "Nikon", "model": "Z 6",
                                   "taken_at": "2021-01-02T03:04:05", "has_gps": False}


def test_pipeline_renders_rotated_photos_upright(user: Any) -> None:
    stored = processed(user, photos.oriented_jpeg(6, (120, 80)))
    assert (stored.width, stored.height) == (120, 80)  # as displayed
    assert stored.meta["orientation"] == 6
    variant = variant_for(stored, "small", "png")
    assert variant is not None and (variant.width, variant.height) == (32, 21)
    image = decoded(variant)
    assert colour_at(image, (2, 2), "top_left", tolerance=40)
    assert colour_at(image, (29, 18), "bottom_right", tolerance=40)


def test_pipeline_gives_an_animated_gif_an_animated_preview(user: Any) -> None:
    stored = processed(user, animated_gif(6, (48, 48)), "loop.gif")
    assert stored.kind == MediaKind.GIF and stored.frame_count == 6
    preview = variant_for(stored, "medium")
    thumb = variant_for(stored, "small")
    assert preview is not None and thumb is not None
    assert getattr(decoded(preview), "n_frames", 1) == 6
    assert getattr(decoded(thumb), "n_frames", 1) == 1  # "small" is not animated


def _jpeg_with_unreadable_exif() -> bytes:
    payload = b"Exif\0\0" + b"XX\x00\x2a" + b"\0" * 20
    jpeg = photos.photo_bytes("JPEG", (64, 48))
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_pipeline_survives_an_unreadable_exif_block(user: Any) -> None:
    """The metadata step must not crash (and leave the file 'processing' for the sweeper
    to re-queue forever) on a JPEG whose EXIF block is not TIFF."""
    stored = blob_store.put(_jpeg_with_unreadable_exif(), owner=user, name="odd.jpg")
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    stored.refresh_from_db()
    assert variant_for(stored, "small") is not None


def test_pipeline_fails_a_truncated_gif_with_a_reason(user: Any) -> None:
    """An interrupted GIF upload: a permanent failure with a reason, not a crash."""
    stored = blob_store.put(animated_gif(4)[:95], owner=user, name="cut.gif")
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.FAILED
    stored.refresh_from_db()
    assert stored.processing_error.startswith("probe: ")


# -- operations -------------------------------------------------------------------------
QUADRANTS = photos.encode(photos.quadrants((120, 80)), "PNG")


def test_resize_with_one_dimension_keeps_the_aspect(user: Any) -> None:
    stored = processed(user)  # 160x120 JPEG
    by_width = image_resize(stored=stored, width=80, height=None)
    assert (by_width.width, by_width.height) == (80, 60)
    assert by_width.kind == "resized" and by_width.format == "webp"
    assert by_width.spec == "resize-80x60-contain"
    assert by_width.source_sha256 == stored.sha256
    assert decoded(by_width).size == (80, 60)
    by_height = image_resize(stored=stored, width=None, height=30)
    assert (by_height.width, by_height.height) == (40, 30)


def test_resize_keeps_png_as_png_and_takes_an_explicit_format(user: Any) -> None:
    stored = processed(user, QUADRANTS, "q.png")
    assert image_resize(stored=stored, width=60, height=None).format == "png"
    avif = image_resize(stored=stored, width=60, height=None, format="avif")
    assert avif.mime_type == "image/avif" and decoded(avif).format == "AVIF"


def test_resize_cover_fills_both_dimensions(user: Any) -> None:
    stored = processed(user)
    variant = image_resize(stored=stored, width=50, height=50, fit="cover")
    assert (variant.width, variant.height) == (50, 50) == decoded(variant).size


def test_resizing_again_replaces_the_same_variant(user: Any) -> None:
    stored = processed(user)
    first = image_resize(stored=stored, width=80, height=None)
    second = image_resize(stored=stored, width=80, height=None)
    assert Variant.objects.filter(stored_file=stored, spec=first.spec).count() == 1
    assert Variant.objects.get(stored_file=stored, spec=first.spec).pk == second.pk


@pytest.mark.parametrize("kwargs, message", [
    ({"width": None, "height": None}, "Give a width, a height, or both."),
    ({"width": 50, "height": None, "format": "gif"}, "format must be one of"),
    ({"width": 50, "height": 50, "fit": "stretch"}, "'fit' must be one of"),
    ({"width": 9000, "height": None}, "'width' must be a whole number"),
])
def test_resize_rejects_bad_requests(user: Any, kwargs: dict[str, Any], message: str) -> None:
    stored = processed(user)
    with pytest.raises(InvalidOperation, match=message):
        image_resize(stored=stored, **kwargs)


def test_crop_takes_the_region(user: Any) -> None:
    stored = processed(user, QUADRANTS, "q.png")
    variant = image_crop(stored=stored, x=60, y=40, width=60, height=40)
    assert (variant.width, variant.height) == (60, 40) and variant.kind == "cropped"
    assert variant.format == "png"
    image = decoded(variant)
    for point in [(0, 0), (30, 20), (59, 39)]:
        assert colour_at(image, point, "bottom_right")


def test_crop_with_an_aspect_shrinks_around_the_centre(user: Any) -> None:
    stored = processed(user, QUADRANTS, "q.png")
    square = image_crop(stored=stored, x=0, y=0, width=120, height=80, aspect=1.0)
    assert square.spec == "crop-20-0-80x80" and (square.width, square.height) == (80, 80)
    image = decoded(square)
    assert colour_at(image, (5, 5), "top_left") and colour_at(image, (75, 5), "top_right")
    assert colour_at(image, (5, 75), "bottom_left")
    wide = image_crop(stored=stored, x=0, y=0, width=120, height=80, aspect=3.0)
    assert wide.spec == "crop-0-20-120x40" and (wide.width, wide.height) == (120, 40)
    image = decoded(wide)
    assert colour_at(image, (5, 5), "top_left") and colour_at(image, (5, 35), "bottom_left")


def test_crop_is_in_display_coordinates_of_a_rotated_photo(user: Any) -> None:
    stored = processed(user, photos.oriented_jpeg(6, (120, 80)))
    variant = image_crop(stored=stored, x=60, y=0, width=60, height=40)
    assert (variant.width, variant.height) == (60, 40)
    assert colour_at(decoded(variant), (30, 20), "top_right", tolerance=30)


@pytest.mark.parametrize("box", [(-1, 0, 10, 10), (0, -1, 10, 10), (111, 0, 10, 10),
                                 (0, 71, 10, 10), (0, 0, 0, 10), (0, 0, 10, 0),
                                 (0, 0, 121, 80), (0, 0, 120, 81)])
def test_crop_outside_the_image_is_refused(user: Any, box: tuple[int, int, int, int]) -> None:
    stored = processed(user, QUADRANTS, "q.png")
    x, y, width, height = box
    with pytest.raises(InvalidOperation, match="within the 120x80 image"):
        image_crop(stored=stored, x=x, y=y, width=width, height=height)
    assert not Variant.objects.filter(stored_file=stored, kind="cropped").exists()


@pytest.mark.parametrize("aspect", [0.0, 0.001, 101.0])
def test_crop_aspect_out_of_range_is_refused(user: Any, aspect: float) -> None:
    stored = processed(user, QUADRANTS, "q.png")
    with pytest.raises(InvalidOperation, match="aspect"):
        image_crop(stored=stored, x=0, y=0, width=120, height=80, aspect=aspect)


def test_operations_need_a_raster_image(user: Any) -> None:
    doc = processed(user, PDF, "doc.pdf")
    with pytest.raises(NotAnImage):
        image_resize(stored=doc, width=10, height=None)
    with pytest.raises(NotAnImage):
        image_crop(stored=doc, x=0, y=0, width=1, height=1)
    with pytest.raises(NotAnImage):
        image_optimize(stored=doc)
    unprobed = blob_store.put(JPEG, owner=user, name="new.jpg")  # no dimensions yet
    with pytest.raises(NotAnImage):
        image_resize(stored=unprobed, width=10, height=None)


def test_optimize_shrinks_a_bloated_jpeg(user: Any) -> None:
    stored = processed(user, photos.photo_bytes("JPEG", (320, 240), quality=100))
    result = image_optimize(stored=stored)
    variant = result.variant
    assert variant is not None
    assert variant.kind == "optimized" and variant.format == "jpeg"
    assert result.original_size == stored.size
    assert result.optimized_size == variant.size == len(read(variant)) < stored.size
    assert result.ratio < 1 and result.ratio == round(variant.size / stored.size, 4)
    image = decoded(variant)
    assert image.format == "JPEG" and image.size == (320, 240)
    assert image.info.get("progressive") == 1 and len(image.getexif()) == 0
    assert variant_for(stored, "optimized") is not None


def test_optimize_renders_upright_without_metadata(user: Any) -> None:
    exif = photos.private_exif(orientation=6).tobytes()
    stored_pixels = photos.stored_for_orientation(photos.photo((160, 120)), 6)
    data = photos.encode(stored_pixels, "JPEG", quality=100, exif=exif)
    stored = processed(user, data)
    result = image_optimize(stored=stored)
    assert result.variant is not None
    assert (result.variant.width, result.variant.height) == (160, 120)
    image = decoded(result.variant)
    assert image.size == (160, 120) and len(image.getexif()) == 0
    assert photos.SERIAL.encode() not in read(result.variant)


def test_optimize_keeps_nothing_when_it_cannot_shrink(user: Any) -> None:
    tiny = photos.encode(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG", optimize=True)
    stored = processed(user, tiny, "tiny.png")
    result = image_optimize(stored=stored)
    assert result.variant is None and result.ratio == 1.0
    assert result.original_size == result.optimized_size == stored.size
    assert not Variant.objects.filter(stored_file=stored, kind="optimized").exists()


def test_optimize_leaves_animations_alone(user: Any) -> None:
    stored = processed(user, animated_gif(3), "loop.gif")
    result = image_optimize(stored=stored)
    assert result.variant is None and result.ratio == 1.0


def test_optimized_ratio() -> None:
    assert Optimized(None, 1000, 600).ratio == 0.6
    assert Optimized(None, 3, 1).ratio == 0.3333
    assert Optimized(None, 0, 0).ratio == 1.0
