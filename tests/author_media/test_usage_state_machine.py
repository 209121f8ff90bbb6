"""StorageUsage under random sequences of uploads (new bytes and duplicates), soft
deletes, purges, processing and variant renders: after every step it equals what the
user's live files and their variants occupy, per kind, and so does the quota ledger."""

from __future__ import annotations

import hashlib
import io
import itertools
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from PIL import Image

from apps.accounts.models import User
from apps.processing.tasks import scan
from apps.processing.variants import variants_generate
from apps.storage.models import StoredFile
from author_media import services
from author_media.models import MediaFile, StorageUsage
from tests.author_media.conftest import assert_usage_matches_files
from tests.user_library.conftest import LibraryStorage

pytestmark = pytest.mark.django_db

FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg")}


def noisy_image(fmt: str, size: tuple[int, int], seed: int) -> bytes:
    """A small image of random pixels: sizes differ with the dimensions and the seed."""
    rng = random.Random(seed)
    pixels = rng.randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buffer, format=fmt)
    return buffer.getvalue()


class UsageMachine(RuleBasedStateMachine):
    """The model: which of the user's uploads are live, binned or purged, and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.user = self.new_user()
        self.data: dict[int, bytes] = {}  # media id -> the bytes uploaded
        self.live: set[int] = set()
        self.binned: set[int] = set()

    def new_user(self) -> User:  # given by the test
        raise NotImplementedError

    def store(self, data: bytes, fmt: str) -> services.Stored:
        mime, ext = FORMATS[fmt]
        return services.media_file_store(
            user=self.user, stream=io.BytesIO(data), name=f"img.{ext}", declared_type=mime,
            declared_size=len(data), fields={})

    def expect_upload(self, data: bytes, fmt: str) -> None:
        digest = hashlib.sha256(data).hexdigest()
        existing = [i for i in self.live
                    if hashlib.sha256(self.data[i]).hexdigest() == digest]
        outcome = self.store(data, fmt)
        if existing:
            assert outcome.duplicate and outcome.media.pk == existing[0]
        else:
            assert not outcome.duplicate and outcome.media.pk not in self.data
            self.data[outcome.media.pk] = data
            self.live.add(outcome.media.pk)

    @rule(fmt=st.sampled_from(sorted(FORMATS)), width=st.integers(1, 48),
          height=st.integers(1, 48), seed=st.integers(0, 5))
    def upload(self, fmt: str, width: int, height: int, seed: int) -> None:
        self.expect_upload(noisy_image(fmt, (width, height), seed), fmt)

    @precondition(lambda self: self.data)
    @rule(data=st.data())
    def upload_again(self, data: st.DataObject) -> None:
        """The bytes of an earlier upload, live (a duplicate), binned or purged (new)."""
        media_id = data.draw(st.sampled_from(sorted(self.data)))
        content = self.data[media_id]
        self.expect_upload(content, "PNG" if content.startswith(b"\x89PNG") else "JPEG")

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def soft_delete(self, data: st.DataObject) -> None:
        media_id = data.draw(st.sampled_from(sorted(self.live)))
        services.media_file_delete(media=MediaFile.objects.get(pk=media_id))
        self.live.discard(media_id)
        self.binned.add(media_id)

    @precondition(lambda self: self.binned)
    @rule(data=st.data())
    def purge(self, data: st.DataObject) -> None:
        media_id = data.draw(st.sampled_from(sorted(self.binned)))
        services.media_file_purge(MediaFile.objects.get(pk=media_id))
        self.binned.discard(media_id)
        assert not MediaFile.objects.filter(pk=media_id).exists()

    @precondition(lambda self: self.live or self.binned)
    @rule(data=st.data())
    def process(self, data: st.DataObject) -> None:
        """The worker's path: the real scan, then the pipeline (probe, sanitize,
        metadata, variants, the file facts)."""
        media_id = data.draw(st.sampled_from(sorted(self.live | self.binned)))
        stored = MediaFile.objects.get(pk=media_id).stored_file
        assert stored is not None
        scan(stored_file_id=str(stored.pk))
        stored.refresh_from_db()
        assert stored.scan_status == "CLEAN"

    @precondition(lambda self: self.live or self.binned)
    @rule(data=st.data(), force=st.booleans())
    def render_variants(self, data: st.DataObject, force: bool) -> None:
        media_id = data.draw(st.sampled_from(sorted(self.live | self.binned)))
        stored = MediaFile.objects.get(pk=media_id).stored_file
        assert stored is not None
        variants_generate(stored, force=force)
        assert stored.variants.exists()

    @invariant()
    def usage_equals_the_files(self) -> None:
        assert_usage_matches_files(self.user)
        held = self.live | self.binned
        assert set(MediaFile.objects.filter(user=self.user).values_list("pk", flat=True)) \
            == held
        assert StoredFile.objects.filter(owner_user=self.user).count() == len(held)
        originals = {m.pk: m.stored_file for m in MediaFile.objects.filter(user=self.user)
                     .select_related("stored_file")}
        for media_id, stored in originals.items():  # the bytes are the upload's, or a rewrite
            assert stored is not None
            assert stored.size == len(self.data[media_id]) or stored.meta.get("rewritten")
        if held:
            assert StorageUsage.objects.get(user=self.user).total_bytes >= sum(
                s.size for s in originals.values() if s is not None)


def test_usage_follows_every_change(make_user: Any, local_storage: LibraryStorage) -> None:
    counter = itertools.count()

    class Machine(UsageMachine):
        def new_user(self) -> User:
            user: User = make_user(f"machine{next(counter)}")
            return user

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=15, stateful_step_count=8, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
