"""Areas, a small postcode dataset loaded through the real import (PostgreSQL's
COPY) and a campaign by postcode writing to each supporter's representative."""

import io
from datetime import date

import pytest

from campaign.models import Area, AreaTargeting, DeliveryMode
from campaign.services.postcode_imports import postcode_dataset_import
from tests.factories import CampaignFactory, OfficialFactory

# Two areas by full postcode; sector N1 9 and district N1 span both.
ROWS = [
    ("SW1A 1AA", "E01"),
    ("sw1a1ab", "E01"),
    ("SW1A 2AA", "E02"),
    ("N1 9GU", "E01"),
    ("N1 9GX", "E02"),
    ("EC1 4", "E03"),  # a sector-level row: its district comes from it
]


def csv_bytes(rows, header="pcds,region,pcon") -> bytes:
    lines = [header, *(f"{pc},x,{code}" for pc, code in rows)]
    return ("\n".join(lines) + "\n").encode()


def import_rows(rows, *, name="Test postcodes", version=date(2026, 8, 1), **kwargs):
    return postcode_dataset_import(
        file=io.BytesIO(csv_bytes(rows)),
        name=name,
        version=version,
        postcode_column="pcds",
        area_column="pcon",
        **kwargs,
    )


@pytest.fixture
def areas(db):
    """E01 and E02 with their members; E03 with no one at the moment."""
    return {
        "E01": Area.objects.create(
            code="E01",
            name="Northtown",
            official=OfficialFactory(
                name="Nora North", position="MP", email="nora@example.org"
            ),
        ),
        "E02": Area.objects.create(
            code="E02",
            name="Southtown",
            official=OfficialFactory(
                name="Sam South", position="MP", email="sam@example.org"
            ),
        ),
        "E03": Area.objects.create(code="E03", name="Easttown"),
    }


@pytest.fixture
def dataset(areas):
    return import_rows(ROWS).dataset


@pytest.fixture
def by_postcode(dataset, letter_template):
    """A live campaign by postcode with no fixed official, every letter sent on
    its own."""
    campaign = CampaignFactory(
        slug="write-to-your-mp", letter_template=letter_template, targets=[]
    )
    AreaTargeting.objects.create(
        campaign=campaign, dataset=dataset, delivery_mode=DeliveryMode.EVERY_LETTER
    )
    return campaign
