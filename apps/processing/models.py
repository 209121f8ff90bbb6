"""Records of background work that operators look at."""

from django.db import models
from django.utils import timezone


class StoredFileTransition(models.Model):
    """One state change of a StoredFile, with when it happened and why."""

    stored_file = models.ForeignKey("storage.StoredFile", on_delete=models.CASCADE,
                                    related_name="transitions")
    field = models.CharField(max_length=20)  # processing_state | scan_status
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    detail = models.CharField(max_length=500, blank=True)
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
