"""``manage.py regenerate_variants``: only stale files, one spec or all, --all, --progress,
--queue (eager Celery runs the task inline), unknown specs, failures reported."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.processing import scanning, variants
from apps.processing.tasks import regenerate_variants as regenerate_task
from apps.processing.tasks import run_pipeline
from apps.storage.blobs import blob_store
from apps.storage.models import ProcessingState, ScanStatus, StoredFile, Variant
from tests.apps.processing import photos

pytestmark = pytest.mark.django_db

SPECS: dict[str, dict[str, Any]] = {
    "small": {"kind": "thumbnail", "width": 24, "height": 24,
              "formats": {"webp": {"quality": 80}, "png": {}}},
    "medium": {"kind": "preview", "width": 64, "height": 64,
               "formats": {"webp": {"quality": 82}}},
}


@pytest.fixture(autouse=True)
def _specs(settings: Any) -> None:
    settings.PROCESSING = {"VARIANT_SPECS": copy.deepcopy(SPECS)}


def change_spec(settings: Any, name: str, **fields: Any) -> None:
    specs = copy.deepcopy(settings.PROCESSING["VARIANT_SPECS"])
    specs[name] = {**specs[name], **fields}
    settings.PROCESSING = {**settings.PROCESSING, "VARIANT_SPECS": specs}


def processed(user: Any, seed: int) -> StoredFile:
    stored = blob_store.put(photos.photo_bytes("JPEG", (96, 72), seed=seed), owner=user,
                            name=f"p{seed}.jpg")
    assert scanning.scan_file(stored) == ScanStatus.CLEAN
    assert run_pipeline(stored_file_id=str(stored.pk)) == ProcessingState.READY
    return StoredFile.objects.get(pk=stored.pk)


@pytest.fixture
def files(user: Any) -> list[StoredFile]:
    return [processed(user, seed) for seed in (1, 2, 3)]


def state(files: list[StoredFile]) -> dict[tuple[str, str, str], tuple[Any, str, str]]:
    return {(str(v.stored_file_id), v.spec, v.format): (v.pk, v.key, v.spec_hash)
            for v in Variant.objects.filter(stored_file__in=files)}


def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("regenerate_variants", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_nothing_stale_means_nothing_done(files: list[StoredFile]) -> None:
    before = state(files)
    out, err = command()
    assert out.strip() == "0 file(s) regenerated, 0 failed, for spec(s) small, medium."
    assert err == "" and state(files) == before


def test_one_changed_spec_rebuilds_only_that_spec(files: list[StoredFile], settings: Any) -> None:
    before = state(files)
    change_spec(settings, "medium", version=2)
    out, _ = command("--spec", "medium")
    assert out.strip() == "3 file(s) regenerated, 0 failed, for spec(s) medium."
    after = state(files)
    new_hash = variants.configured_specs()["medium"].hash
    for key, (pk, storage_key, spec_hash) in after.items():
        if key[1] == "small":
            assert (pk, storage_key, spec_hash) == before[key]
        else:
            assert spec_hash == new_hash != before[key][2] and new_hash in storage_key
    for stored in files:
        assert variants.variant_for(stored, "medium") is not None


def test_without_spec_every_spec_is_checked_and_only_stale_files_touched(
        files: list[StoredFile]) -> None:
    Variant.objects.filter(stored_file=files[1], spec="small", format="png").delete()
    before = state(files)
    out, _ = command()
    assert out.startswith("1 file(s) regenerated, 0 failed")
    after = state(files)
    assert (str(files[1].pk), "small", "png") in after
    for key, value in before.items():
        if key[0] != str(files[1].pk):
            assert after[key] == value  # the fresh files were not re-rendered


def test_spec_is_repeatable(files: list[StoredFile], settings: Any) -> None:
    change_spec(settings, "small", width=20)
    change_spec(settings, "medium", width=60)
    out, _ = command("--spec", "small", "--spec", "medium")
    assert out.strip() == "3 file(s) regenerated, 0 failed, for spec(s) small, medium."
    assert all(variants.variant_for(f, name) is not None
               for f in files for name in ("small", "medium"))


def test_a_spec_that_is_fresh_is_not_rebuilt_when_another_changed(
        files: list[StoredFile], settings: Any) -> None:
    change_spec(settings, "medium", version=2)
    before = state(files)
    out, _ = command("--spec", "small")
    assert out.startswith("0 file(s) regenerated")
    assert state(files) == before


def test_all_rerenders_every_processed_image(files: list[StoredFile]) -> None:
    before = state(files)
    out, _ = command("--all", "--spec", "small")
    assert out.strip() == "3 file(s) regenerated, 0 failed, for spec(s) small."
    after = state(files)
    for key, value in after.items():
        if key[1] == "small":
            assert value[0] != before[key][0]  # new rows even though they were fresh
        else:
            assert value == before[key]


def test_unprocessed_and_non_image_files_are_ignored(files: list[StoredFile],
                                                     user: Any) -> None:
    blob_store.put(photos.photo_bytes("JPEG", (32, 32)), owner=user, name="pending.jpg")
    failed = blob_store.put(photos.photo_bytes("JPEG", (32, 32)), owner=user, name="f.jpg")
    StoredFile.objects.filter(pk=failed.pk).update(processing_state=ProcessingState.FAILED)
    doc = blob_store.put(b"%PDF-1.4\n%%EOF\n", owner=user, name="d.pdf")
    StoredFile.objects.filter(pk=doc.pk).update(processing_state=ProcessingState.READY,
                                                scan_status=ScanStatus.CLEAN)
    out, err = command("--all")
    assert out.startswith("3 file(s) regenerated, 0 failed") and err == ""


def test_unknown_spec_is_a_command_error(files: list[StoredFile]) -> None:
    before = state(files)
    with pytest.raises(CommandError, match="Unknown spec") as caught:
        command("--spec", "small", "--spec", "huge", "--spec", "tiny")
    message = str(caught.value)
    assert "huge, tiny" in message and "Configured: medium, small." in message
    assert state(files) == before


def test_progress_draws_a_bar_on_stderr(files: list[StoredFile], settings: Any) -> None:
    change_spec(settings, "small", version=5)
    out, err = command("--spec", "small", "--progress")
    assert out.startswith("3 file(s) regenerated")
    assert "3/3" in err and "100%" in err and "file" in err


def test_no_bar_without_progress(files: list[StoredFile], settings: Any) -> None:
    change_spec(settings, "small", version=5)
    _, err = command("--spec", "small")
    assert err == ""


def test_queue_hands_each_file_to_the_task(files: list[StoredFile], settings: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    original = regenerate_task.apply_async

    def spy(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs["kwargs"])
        return original(*args, **kwargs)

    monkeypatch.setattr(regenerate_task, "apply_async", spy)
    change_spec(settings, "medium", width=50)
    before = state(files)
    out, _ = command("--spec", "medium", "--queue")
    assert out.strip() == "3 file(s) queued, 0 failed, for spec(s) medium."
    assert sorted(m["stored_file_id"] for m in sent) == sorted(str(f.pk) for f in files)
    assert all(m["spec_names"] == ["medium"] and m["force"] is False for m in sent)
    # Eager Celery ran the tasks: the stale spec is fresh now, the other untouched.
    after = state(files)
    for stored in files:
        variant = variants.variant_for(stored, "medium")
        assert variant is not None and variant.width == 50
        for fmt in ("webp", "png"):
            key = (str(stored.pk), "small", fmt)
            assert after[key] == before[key]
    from config.celery import app

    assert app.amqp.router.route({}, "processing.regenerate_variants")["queue"].name == "media"


def test_queue_with_all_forces(files: list[StoredFile], monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    original = regenerate_task.apply_async

    def spy(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs["kwargs"])
        return original(*args, **kwargs)

    monkeypatch.setattr(regenerate_task, "apply_async", spy)
    before = state(files)
    out, _ = command("--all", "--queue")
    assert out.startswith("3 file(s) queued")
    assert len(sent) == 3 and all(m["force"] is True for m in sent)
    assert all(m["spec_names"] == ["small", "medium"] for m in sent)
    after = state(files)
    assert all(after[key][0] != before[key][0] for key in before)


def test_a_file_that_cannot_be_rendered_is_reported_and_the_rest_done(
        files: list[StoredFile], settings: Any) -> None:
    broken = files[0]
    with blob_store.storage.open(broken.key, "wb") as handle:  # bytes damaged in storage
        handle.write(b"\xff\xd8\xff\xe0 this is no longer a jpeg")
    change_spec(settings, "small", version=3)
    out, err = command("--spec", "small")
    assert out.strip() == "2 file(s) regenerated, 1 failed, for spec(s) small."
    assert err.startswith(f"{broken.pk}: ") and "image" in err
    for stored in files[1:]:
        assert variants.variant_for(stored, "small") is not None
    assert variants.variant_for(broken, "small") is None


@pytest.mark.parametrize("queue", [False, True], ids=["inline", "queued"])
def test_quarantined_files_are_never_decoded(files: list[StoredFile], settings: Any,
                                             queue: bool) -> None:
    """A file an admin quarantined after processing stays untouched: the task refuses
    it (is_servable), and so must the in-process path (a decoder is attack surface)."""
    quarantined = files[0]
    StoredFile.objects.filter(pk=quarantined.pk).update(is_quarantined=True,
                                                        scan_status=ScanStatus.FLAGGED)
    before = state([quarantined])
    change_spec(settings, "small", version=4)
    command("--spec", "small", *(["--queue"] if queue else []))
    assert state([quarantined]) == before
    for stored in files[1:]:
        assert variants.variant_for(stored, "small") is not None
