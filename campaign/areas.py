"""Which area a supporter's postcode is in, for campaigns by postcode.

One indexed query per lookup, on the primary key of PostcodeArea: every level the
postcode has (full, sector, district) in one IN list, against the dataset's
current generation (joined, so a page cached before a re-import still finds
the new rows). A level the dataset has no data at simply matches nothing. The
finest level that matches wins; at a sector or district that spans several
areas, the supporter picks one of them (campaign/forms.py).
"""

from dataclasses import dataclass, field

from django.db.models import F

from .models import Area, CampaignTarget, PostcodeArea
from .postcodes import DISTRICT, SECTOR, UNIT, postcode_keys


@dataclass(frozen=True)
class Found:
    """The areas a postcode may be in (each with .official loaded), at the
    finest level the dataset matched; none for an unknown postcode."""

    areas: list[Area] = field(default_factory=list)
    level: int | None = None

    @property
    def is_unknown(self) -> bool:
        return not self.areas

    def area(self, area_id: str | int | None = None) -> Area | None:
        """The one area: the only candidate, or the chosen one among several."""
        if len(self.areas) == 1:
            return self.areas[0]
        return next((a for a in self.areas if str(a.pk) == str(area_id)), None)


def postcode_areas(*, dataset_id: int, postcode: str) -> Found:
    keys = postcode_keys(postcode)
    if not keys:
        return Found()
    rows = list(
        PostcodeArea.objects.filter(
            dataset_id=dataset_id,
            generation=F("dataset__generation"),
            postcode__in=list(keys.values()),
        )
        .select_related("area__official")
        .order_by("area__name", "area_id")
    )
    for level in (UNIT, SECTOR, DISTRICT):
        areas = [row.area for row in rows if row.postcode == keys.get(level)]
        if areas:
            return Found(areas=areas, level=level)
    return Found()


# What a supporter is told: one message per problem, shown by the page, the live
# preview and (defence in depth) the sign service alike.
UNKNOWN_POSTCODE = (
    "We can't find this postcode in our list of areas. Check it, or try the "
    "first part of it (e.g. SW1A)."
)
CHOOSE_AREA = "Your postcode is in more than one area: choose yours below."
CHOOSE_AREA_CODE = "choose_area"
NO_OFFICIAL = (
    "{area} has no representative we can write to at the moment, so this letter "
    "can't be sent for you yet."
)


@dataclass(frozen=True)
class SignerArea:
    """What a postcode gives a supporter of a campaign by postcode: the areas it
    may be in, the one that is theirs (with an official to write to), or why
    not (`problem`, its `code` for the form)."""

    found: Found
    area: Area | None = None
    problem: str = ""
    code: str = ""


def signer_area(*, dataset_id: int, postcode: str, chosen: str = "") -> SignerArea:
    found = postcode_areas(dataset_id=dataset_id, postcode=postcode)
    if found.is_unknown:
        return SignerArea(found, problem=UNKNOWN_POSTCODE, code="unknown_postcode")
    area = found.area(chosen)
    if area is None:
        return SignerArea(found, problem=CHOOSE_AREA, code=CHOOSE_AREA_CODE)
    if area.official is None or not area.official.is_active:
        return SignerArea(
            found, problem=NO_OFFICIAL.format(area=area.name), code="no_official"
        )
    return SignerArea(found, area=area)


def area_target(*, campaign, official) -> CampaignTarget | None:
    """How `official` is written to in `campaign` as a supporter's representative:
    an unsaved CampaignTarget built from the campaign's area setting (its delivery
    mode and page version), for the digests and the official's page, which work
    per target. None when the campaign does not target by postcode."""
    from .selectors import area_targeting

    targeting = area_targeting(campaign=campaign)
    if targeting is None:
        return None
    return CampaignTarget(
        campaign=campaign,
        official=official,
        delivery_mode=targeting.delivery_mode,
        page_version=targeting.page_version,
    )


def area_target_by_ids(
    *, campaign_id: int, official_id: int, page_version: int | None = None
) -> CampaignTarget | None:
    """area_target() from ids (a digest due, an official's page link); with
    `page_version`, only while the campaign's area setting still has it."""
    from .models import Campaign, Official

    campaigns = Campaign.objects.select_related("letter_template", "area_targeting")
    if page_version is not None:
        campaigns = campaigns.filter(area_targeting__page_version=page_version)
    campaign = campaigns.filter(pk=campaign_id).first()
    official = Official.objects.filter(pk=official_id).first()
    if campaign is None or official is None:
        return None
    return area_target(campaign=campaign, official=official)
