"""Which area a supporter's postcode is in, for campaigns by postcode.

One indexed query per lookup, on the primary key of PostcodeArea (PostgreSQL's
and SQLite's alike: the demo runs on SQLite): every level the
postcode has (full, sector, district) in one IN list, against the dataset's
current generation (joined, so a page cached before a re-import still finds
the new rows). A level the dataset has no data at simply matches nothing. The
finest level that matches wins; at a sector or district that spans several
areas, the supporter picks one of them (campaign/forms.py).
"""

from dataclasses import dataclass, field

from django.db import connection

from .models import Area, CampaignTarget, Official
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


def _columns(model, alias: str) -> tuple[list[str], str]:
    names = [f.attname for f in model._meta.concrete_fields]
    return names, ", ".join(
        f'{alias}."{f.column}"' for f in model._meta.concrete_fields
    )


_AREA_FIELDS, _AREA_SQL = _columns(Area, "a")
_OFFICIAL_FIELDS, _OFFICIAL_SQL = _columns(Official, "o")
# Written out rather than built by the ORM: compiling the equivalent queryset
# costs a millisecond, four times the query's own time at 2.6M rows (bench/).
# Table and column names come from the models, the values are parameters.
_LOOKUP = f"""
SELECT p.postcode, {_AREA_SQL}, {_OFFICIAL_SQL}
FROM campaign_postcodearea p
JOIN campaign_postcodedataset d ON d.id = p.dataset_id AND d.generation = p.generation
JOIN campaign_area a ON a.id = p.area_id
LEFT JOIN campaign_official o ON o.id = a.official_id
WHERE p.dataset_id = %s AND p.postcode IN (%s, %s, %s)
ORDER BY a.name, a.id
"""  # noqa: S608


def postcode_areas(*, dataset_id: int, postcode: str) -> Found:
    keys = postcode_keys(postcode)
    if not keys:
        return Found()
    with connection.cursor() as cursor:
        # Always three keys (repeated when fewer), so one statement serves all.
        values = list(keys.values())
        cursor.execute(_LOOKUP, [dataset_id, *(values + values[-1:] * 2)[:3]])
        rows = cursor.fetchall()
    split = 1 + len(_AREA_FIELDS)
    for level in (UNIT, SECTOR, DISTRICT):
        areas = []
        for row in rows:
            if row[0] != keys.get(level):
                continue
            area = Area.from_db(connection.alias, _AREA_FIELDS, row[1:split])
            official = row[split:]
            area.official = (
                Official.from_db(connection.alias, _OFFICIAL_FIELDS, official)
                if official[0] is not None
                else None
            )
            areas.append(area)
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
    from .models import Campaign

    campaigns = Campaign.objects.select_related("letter_template", "area_targeting")
    if page_version is not None:
        campaigns = campaigns.filter(area_targeting__page_version=page_version)
    campaign = campaigns.filter(pk=campaign_id).first()
    official = Official.objects.filter(pk=official_id).first()
    if campaign is None or official is None:
        return None
    return area_target(campaign=campaign, official=official)
