"""What supporters agreed to, and the record of erasures organisers made.

Consent wording is versioned: a signature points at the exact text it was shown,
so rewording the form later never rewrites what past supporters agreed to.
"""

from django.conf import settings
from django.db import models


class ConsentText(models.Model):
    """One version of the consent wording on the sign form. Rows are never
    edited (the admin only adds new versions); the newest is the one shown."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    text = models.TextField(
        help_text="What the supporter agrees to by ticking the box on the sign "
        "form. Saving adds a new version; earlier signatures keep theirs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = "consent wording"
        verbose_name_plural = "consent wordings"

    def __str__(self) -> str:
        return f"Version {self.version}"


class ErasureRecord(models.Model):
    """An organiser erased a person's data: who, when, how many signatures.
    Deliberately holds no personal data (no name, no address, no ids that lead
    back to one: the signatures it erased are anonymised already)."""

    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    erased_at = models.DateTimeField(auto_now_add=True)
    signatures = models.PositiveIntegerField(help_text="Signatures anonymised.")
    campaigns = models.PositiveIntegerField(help_text="Campaigns they were on.")
    campaign_slugs = models.TextField(
        "campaigns erased from",
        blank=True,
        help_text="The campaigns' slugs, comma-separated (not personal data).",
    )

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = "erasure record"
        verbose_name_plural = "erasure records"

    def __str__(self) -> str:
        return f"Erasure of {self.signatures} signature(s) on {self.erased_at:%Y-%m-%d}"
