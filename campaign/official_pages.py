"""The page each official gets per campaign: the letter, the count, the personal
letters in full, every supporter's own words and the list of supporters, behind an
unguessable link (no login: officials have no accounts here).

The link carries a signed (target id, page version) pair. Signing makes it
unguessable without storing a secret per row; raising CampaignTarget.page_version
(the admin's "revoke" action) makes every link given out so far fail the check.
"""

from django.conf import settings
from django.core import signing
from django.db.models import F, QuerySet
from django.urls import reverse

from . import exports
from .areas import area_target_by_ids
from .drafting import draft_letter
from .models import CampaignTarget, Letter, LetterStatus
from .postcodes import postcode_district_sql

_SALT = "quillpost.official-page"


def official_page_token(*, target: CampaignTarget) -> str:
    if target.pk is None:  # a representative in a campaign by postcode (areas.py)
        payload = ["area", target.campaign_id, target.official_id, target.page_version]
        return signing.dumps(payload, salt=_SALT)
    return signing.dumps([target.pk, target.page_version], salt=_SALT)


def official_page_url(*, target: CampaignTarget) -> str:
    token = official_page_token(target=target)
    return settings.SITE_URL + reverse("campaign:official_page", args=[token])


def target_for_token(*, token: str) -> CampaignTarget | None:
    """The target a link is for, or None for a forged, mangled or revoked one."""
    try:
        payload = signing.loads(token, salt=_SALT)
        if payload[0] == "area":
            campaign_id, official_id, version = payload[1:]
            return area_target_by_ids(
                campaign_id=campaign_id, official_id=official_id, page_version=version
            )
        target_id, version = payload
    except (signing.BadSignature, ValueError, TypeError, IndexError):
        return None
    return (
        CampaignTarget.objects.select_related("campaign__letter_template", "official")
        .filter(pk=target_id, page_version=version)
        .first()
    )


def target_links_revoke(*, target_ids: list[int]) -> int:
    """Invalidate every page link given out for these targets."""
    return CampaignTarget.objects.filter(pk__in=target_ids).update(
        page_version=F("page_version") + 1
    )


def area_links_revoke(*, campaign_ids: list[int]) -> int:
    """Invalidate every page link given out to these campaigns' representatives
    (campaigns by postcode: one version for all of them)."""
    from .models import AreaTargeting

    return AreaTargeting.objects.filter(campaign_id__in=campaign_ids).update(
        page_version=F("page_version") + 1
    )


def supporter_letters(*, target: CampaignTarget) -> QuerySet[Letter]:
    """One row per supporter writing to this official in this campaign (a
    cancelled letter was withdrawn, so its supporter is not listed)."""
    return (
        Letter.objects.filter(
            signature__campaign_id=target.campaign_id, official_id=target.official_id
        )
        .exclude(status=LetterStatus.CANCELLED)
        .order_by("signature__created_at", "pk")
    )


def standard_letter(*, target: CampaignTarget):
    """The letter as every supporter sends it, with placeholders for the name."""
    return draft_letter(campaign=target.campaign, official=target.official, signer=None)


# What officials get: never email addresses, and the postcode's district only.
SUPPORTER_COLUMNS = [
    ("Name", exports.TextCell("signature__full_name")),
    ("Town", exports.TextCell("signature__town")),
    ("Postcode district", postcode_district_sql("signature__postcode")),
    (
        f"Signed at ({settings.TIME_ZONE})",
        exports.TimestampCell("signature__created_at"),
    ),
    ("Own words", exports.TextCell("signature__personal_paragraph")),
]


def supporters_csv_chunks(*, target: CampaignTarget):
    names = [f"c{i}" for i in range(len(SUPPORTER_COLUMNS))]
    rows = supporter_letters(target=target).annotate(
        **{n: expr for n, (_, expr) in zip(names, SUPPORTER_COLUMNS, strict=True)}
    )
    sql, params = rows.values_list(*names).query.sql_with_params()
    return exports.csv_chunks(
        header=[header for header, _ in SUPPORTER_COLUMNS], sql=sql, params=params
    )
