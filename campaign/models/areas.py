"""Areas (e.g. constituencies), the postcode datasets that place a postcode in an
area, and a campaign's "write to your representative" setting.

A dataset's rows are swapped whole by each import (services/postcode_imports.py):
rows carry the dataset's generation, and only the current generation's are read.
"""

from django.db import models

from ..validators import (
    validate_delivery_hours,
    validate_single_line,
    validate_weekdays,
)
from .campaigns import Campaign, DeliveryMode, Official


class Area(models.Model):
    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[validate_single_line],
        help_text='The code postcode datasets use for it, e.g. "E14001234".',
    )
    name = models.CharField(
        max_length=160,
        validators=[validate_single_line],
        help_text='E.g. "Holborn and St Pancras".',
    )
    official = models.ForeignKey(
        Official,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="areas",
        help_text="Who represents it: supporters here write to them. Blank: no "
        "one at the moment (supporters are told so and cannot sign).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "area"
        verbose_name_plural = "areas"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PostcodeDataset(models.Model):
    """A named list of postcodes (or sectors, or districts) → area codes, loaded
    with `manage.py import_postcodes`."""

    name = models.CharField(
        max_length=120,
        unique=True,
        validators=[validate_single_line],
        help_text='E.g. "ONS postcode directory". A campaign names the dataset it '
        "uses; importing under the same name replaces the dataset's postcodes.",
    )
    version = models.DateField(help_text="The date of the data, e.g. its release.")
    # Rows of this generation are the dataset; an import writes the next one and
    # switches over in the transaction that deletes the old rows.
    generation = models.PositiveIntegerField(default=0, editable=False)
    finest_level = models.PositiveSmallIntegerField(
        default=3,
        editable=False,
        help_text="1: full postcodes, 2: sectors, 3: districts. Coarser levels are "
        "derived from finer ones at import.",
    )
    postcodes = models.PositiveIntegerField(
        "rows", default=0, editable=False, help_text="Rows at every level."
    )
    imported_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "postcode dataset"
        verbose_name_plural = "postcode datasets"

    def __str__(self) -> str:
        return f"{self.name}, {self.version:%Y-%m-%d}"


class PostcodeArea(models.Model):
    """One postcode, sector or district in one area, for one dataset generation.
    Millions of rows: no surrogate id and no database foreign keys (their
    per-row triggers would double an import's time); the import joins areas by
    code, and a deleted area's rows are simply never found again (the lookup
    joins the area)."""

    pk = models.CompositePrimaryKey("dataset_id", "generation", "postcode", "area_id")
    dataset = models.ForeignKey(
        PostcodeDataset,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the primary key's first column
        related_name="+",
    )
    generation = models.PositiveIntegerField()
    # Canonical form (campaign/postcodes.py): "SW1A 1AA", "SW1A 1" or "SW1A".
    postcode = models.CharField(max_length=8)
    area = models.ForeignKey(
        Area,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # never looked up by area
        related_name="+",
    )

    class Meta:
        # The primary key is the lookup's index: (dataset, generation, postcode).
        ordering = ["postcode"]
        verbose_name = "postcode in an area"
        verbose_name_plural = "postcodes in areas"

    def __str__(self) -> str:
        return f"{self.postcode} → area {self.area_id}"


class AreaTargeting(models.Model):
    """A campaign "by postcode": each supporter also writes to their own area's
    official, found from their postcode. How those letters travel is set here,
    once for all of them (there is no target row per area official)."""

    campaign = models.OneToOneField(
        Campaign,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="area_targeting",
    )
    dataset = models.ForeignKey(
        PostcodeDataset,
        on_delete=models.PROTECT,
        related_name="targetings",
        help_text="Which postcode dataset places supporters in their area.",
    )
    delivery_mode = models.CharField(
        max_length=20,
        choices=DeliveryMode.choices,
        default=DeliveryMode.PERSONAL_AND_DIGEST,
        help_text="How letters reach each area's official (as for the officials "
        "above).",
    )
    send_days = models.CharField(
        "delivery days",
        max_length=7,
        blank=True,
        validators=[validate_weekdays],
        help_text="Days area officials' emails may arrive, as digits 1 (Monday) to "
        "7 (Sunday). Blank: any day.",
    )
    send_from = models.TimeField("delivery hours from", null=True, blank=True)
    send_until = models.TimeField("delivery hours until", null=True, blank=True)
    # Part of the signed link to each area official's page (official_pages.py).
    page_version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["campaign"]
        verbose_name = "write to each supporter's representative"
        verbose_name_plural = "write to each supporter's representative"

    def __str__(self) -> str:
        return f"{self.campaign}: representatives by {self.dataset.name}"

    def clean(self) -> None:
        validate_delivery_hours(self.send_from, self.send_until)
