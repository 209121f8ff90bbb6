"""Records of background work that operators look at, and what the worker computes."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 512


class StoredFileTransition(models.Model):
    """One state change of a StoredFile, with when it happened and why.

    It is also the audit trail of manual decisions: an admin release records its
    ``actor`` and the reason in ``detail``.
    """

    stored_file = models.ForeignKey("storage.StoredFile", on_delete=models.CASCADE,
                                    related_name="transitions")
    field = models.CharField(max_length=20)  # processing_state | scan_status
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    detail = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["stored_file", "at"], name="transition_file_at")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.from_state} -> {self.to_state}"


class PurgeRun(models.Model):
    """One run of the recycle-bin purge."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    purged = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge at {self.started_at:%Y-%m-%d %H:%M}: {self.purged} purged"


class Embedding(models.Model):
    """The CLIP image embedding of one stored file (L2-normalised, 512-d float32).

    Written by the worker on the ``embeddings`` queue; ``model`` names the encoder that
    made it, so a model change can find and recompute the old ones. Feature apps join
    on ``stored_file`` and search with the HNSW index (cosine distance).
    """

    stored_file = models.OneToOneField("storage.StoredFile", on_delete=models.CASCADE,
                                       primary_key=True, related_name="embedding")
    model = models.CharField(max_length=100)
    vector = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            HnswIndex(name="embedding_vector_hnsw", fields=["vector"], m=16,
                      ef_construction=64, opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.model} embedding of {self.stored_file_id}"
