from django.db import models

from apps.core.models import SoftDeleteModel, TimeStampedModel


class Clip(SoftDeleteModel, TimeStampedModel):
    title = models.CharField(max_length=100)
    stored_file = models.ForeignKey("storage.StoredFile", null=True, on_delete=models.PROTECT)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="clip_created_id")]

    def __str__(self) -> str:
        return self.title


class Link(TimeStampedModel):
    url = models.URLField(max_length=2048)
    preview = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url
