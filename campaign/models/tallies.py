"""The dashboard's rollups: per campaign and day, small enough to read in a few
milliseconds where counting a million signatures takes seconds. Rebuilt per
campaign by campaign/services/tallies.py (beat, DASHBOARD_REFRESH_SECONDS); the
dashboard says how old they are."""

from django.db import models

from .campaigns import Campaign, Official


class SignatureTally(models.Model):
    """Signatures of one campaign signed on one day (site time zone): in total,
    or from one source, or from one postcode district."""

    class Dimension(models.TextChoices):
        TOTAL = "total", "Total"
        SOURCE = "source", "Source"
        DISTRICT = "district", "Postcode district"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="signature_tallies"
    )
    day = models.DateField(help_text="Signing day, site time zone.")
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    value = models.CharField(
        max_length=255, blank=True, help_text="The source or district; blank in total."
    )
    signed = models.PositiveIntegerField(help_text="Signed that day, any status.")
    confirmed = models.PositiveIntegerField(help_text="Of those, confirmed by now.")
    confirm_seconds_median = models.FloatField(
        null=True,
        blank=True,
        help_text="Total rows: median seconds from signing to confirming.",
    )

    class Meta:
        ordering = ["campaign", "day", "dimension", "value"]
        verbose_name = "signature tally"
        verbose_name_plural = "signature tallies"
        # The dashboard: one campaign's rows of one dimension over a date range.
        indexes = [models.Index(fields=["campaign", "dimension", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension} {self.value}: {self.signed}"


class LetterTally(models.Model):
    """A campaign's letters written on one day (the day of confirming, site time
    zone), per official, status and whether they are personal."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="letter_tallies"
    )
    day = models.DateField()
    official = models.ForeignKey(
        Official, on_delete=models.CASCADE, related_name="letter_tallies"
    )
    status = models.CharField(max_length=20)
    personal = models.BooleanField(
        help_text="At least PERSONAL_LETTER_MIN_WORDS words of the supporter's own."
    )
    letters = models.PositiveIntegerField()

    class Meta:
        ordering = ["campaign", "day", "official", "status"]
        verbose_name = "letter tally"
        verbose_name_plural = "letter tallies"
        # The dashboard: one campaign's rows over a date range.
        indexes = [models.Index(fields=["campaign", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.official_id} {self.status}: {self.letters}"


class TallyRefresh(models.Model):
    """When a campaign's tallies were last rebuilt, and how long it took."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="tally_refresh"
    )
    refreshed_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long the rebuild took.")

    class Meta:
        ordering = ["-refreshed_at"]
        verbose_name = "tally refresh"
        verbose_name_plural = "tally refreshes"

    def __str__(self) -> str:
        return f"{self.campaign} at {self.refreshed_at:%Y-%m-%d %H:%M}"
