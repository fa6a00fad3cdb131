"""The second demo campaign: "write to your representative", routed by postcode.

Everything here is fictional: the town of Quillford, its four wards, their
councillors (at example.org, never a real inbox) and its postcodes, which start
with QP, an area letter no real UK postcode uses. Sector QP3 1 is split between
two wards, so the demo shows the supporter choosing their ward.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from .models import (
    Area,
    AreaTargeting,
    Campaign,
    DeliveryMode,
    Official,
    PostcodeArea,
    PostcodeDataset,
)
from .postcodes import UNIT, postcode_keys
from .services.pages import campaign_pages_invalidate
from .services.postcode_imports import (
    postcode_generation_next,
    postcode_partition_create,
)

SLUG = "quillford-bus-routes"
TEMPLATE_NAME = "Quillford: save the night buses (demo)"
SUBJECT = "Keep Quillford's night buses running"
BODY = """\
{{ official.salutation }},

I live in your ward ({{ signer.postcode }}) and I am writing about the council's \
plan to end Quillford's night bus routes next spring.

For many of us the night buses are the only safe way home from late shifts at the \
hospital, the depot and the town centre. Please vote against the cut, and ask the \
council to look again at the savings it expects from it.

{{ signer.personal_paragraph }}

Yours sincerely,

{{ signer.name }}
{{ signer.town }}
"""
CAMPAIGN = {
    "title": "Save Quillford's night buses: write to your councillor",
    "summary": (
        "A fictional demo of a campaign by postcode: enter a Quillford postcode "
        "(try QP1 1AA, QP2 4BD or QP3 1AB) and your letter goes to your own "
        "ward councillor."
    ),
    "signature_goal": 500,
    "signers_may_edit": False,
}
DATASET = "Quillford wards (fictional demo)"
DATASET_VERSION = date(2026, 1, 1)

# (code, ward, councillor's name, email)
WARDS = [
    ("QW01", "Quillford Castle", "Robin Ashby", "robin.ashby@example.org"),
    ("QW02", "Quillford Riverside", "Priya Natarajan", "priya.natarajan@example.org"),
    ("QW03", "Quillford East", "Tomasz Wolski", "tomasz.wolski@example.org"),
    ("QW04", "Quillford West", "Grace Mensah", "grace.mensah@example.org"),
]
POSTCODES = [
    ("QP1 1AA", "QW01"),
    ("QP1 1AB", "QW01"),
    ("QP1 2AA", "QW01"),
    ("QP2 4BD", "QW02"),
    ("QP2 4BE", "QW02"),
    ("QP3 1AB", "QW03"),  # sector QP3 1 spans East and West
    ("QP3 1CD", "QW04"),
    ("QP3 2EF", "QW04"),
]


def demo_areas_load(*, template) -> tuple[Campaign, bool]:
    """Create the wards, councillors, dataset and campaign unless they exist
    (edits are kept). Rows are written with the ORM (the demo runs on SQLite),
    at every level postcode_keys() gives, as import_postcodes derives them."""
    with transaction.atomic():
        campaign = Campaign.objects.filter(slug=SLUG).first()
        if campaign is not None:
            return campaign, False
        generation = postcode_generation_next()
        postcode_partition_create(generation=generation)
        dataset = PostcodeDataset.objects.create(
            name=DATASET,
            version=DATASET_VERSION,
            generation=generation,
            finest_level=UNIT,
            imported_at=timezone.now(),
        )
        areas = {}
        for code, ward, name, email in WARDS:
            official = Official.objects.get_or_create(
                email=email,
                defaults={
                    "name": name,
                    "position": f"Councillor for {ward}",
                    "salutation": f"Dear Councillor {name.split()[-1]}",
                    "organisation": "Quillford Borough Council (fictional)",
                    "external_id": code.replace("W", "C"),
                },
            )[0]
            areas[code] = Area.objects.get_or_create(
                code=code, defaults={"name": ward, "official": official}
            )[0]
        rows = {
            (key, code)
            for postcode, code in POSTCODES
            for key in postcode_keys(postcode).values()
        }
        PostcodeArea.objects.bulk_create(
            PostcodeArea(
                dataset=dataset, generation=generation, postcode=key, area=areas[code]
            )
            for key, code in sorted(rows)
        )
        dataset.postcodes = len(rows)
        dataset.save(update_fields=["postcodes"])
        campaign = Campaign.objects.create(
            slug=SLUG,
            letter_template=template,
            status=Campaign.Status.LIVE,
            **CAMPAIGN,
        )
        AreaTargeting.objects.create(
            campaign=campaign,
            dataset=dataset,
            delivery_mode=DeliveryMode.PERSONAL_AND_DIGEST,
        )
        campaign_pages_invalidate(campaign_ids=[campaign.pk])
    return campaign, True
