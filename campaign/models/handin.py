"""A hand-in pack: the PDF and CSV of a campaign's vetted supporters, built by a
worker (campaign/services/handin.py) and kept as a zip under MEDIA_ROOT."""

from django.conf import settings
from django.db import models

from .campaigns import Campaign, Official


class HandinPack(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        DONE = "done", "Ready to download"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="handin_packs"
    )
    official = models.ForeignKey(
        Official,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="handin_packs",
        help_text="The official it is handed to. Blank: every supporter of the "
        "campaign, with the letter to each of its officials.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_total = models.PositiveIntegerField(
        default=0, help_text="Personal letters and supporters' rows to write."
    )
    rows_done = models.PositiveIntegerField(default=0)
    supporters = models.PositiveIntegerField(
        default=0, help_text="Supporters listed in the pack."
    )
    excluded = models.PositiveIntegerField(
        default=0, help_text="Signatures left out after vetting."
    )
    file = models.FileField(upload_to="handin/", blank=True, editable=False)
    size = models.PositiveBigIntegerField("size (bytes)", default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Builds started (a worker that died mid-build: +1)."
    )
    # Which delivery of the build task holds the claim (a redelivery after its
    # worker died may take it over at once), and its last sign of life.
    task_id = models.CharField(max_length=64, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who asked for it (blank: the command line).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "hand-in pack"
        verbose_name_plural = "hand-in packs"
        indexes = [
            # The sweep: packs queued or building, by their last sign of life.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status__in=["queued", "building"]),
                name="handin_pack_unfinished",
            )
        ]

    def __str__(self) -> str:
        to = self.official.name if self.official_id else "all officials"
        return f"Hand-in pack: {self.campaign} ({to})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
