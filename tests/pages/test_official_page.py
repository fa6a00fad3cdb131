"""The official's page: an unguessable, revocable link to the letter and its
supporters, with a formula-safe CSV, and nothing an official should not see."""

import csv
import io

import pytest
from django.urls import reverse

from campaign.models import CampaignTarget, LetterStatus
from campaign.official_pages import (
    official_page_token,
    official_page_url,
    target_links_revoke,
)
from campaign.postcodes import postcode_district
from tests.factories import (
    CampaignFactory,
    LetterFactory,
    OfficialFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def target():
    official = OfficialFactory(name="Sam Okafor")
    campaign = CampaignFactory(title="Clean Air", targets=[official])
    for n, (name, paragraph, own) in enumerate(
        [
            ("Ada Lovelace", "", 0),
            (HOSTILE, "Short words " + HOSTILE, 3),
            ('=HYPERLINK("http://evil")', "", 0),
            ("Grace Hopper", "A long personal letter.", 40),
        ]
    ):
        signature = SignatureFactory(
            campaign=campaign,
            full_name=name,
            email=f"s{n}@example.com",
            postcode="sw1a 1aa",
            personal_paragraph=paragraph,
            status="confirmed",
        )
        LetterFactory(
            signature=signature,
            official=official,
            own_words=own,
            body=f"Letter body of {name}",
            status=LetterStatus.AWAITING_DIGEST,
        )
    withdrawn = SignatureFactory(campaign=campaign, email="gone@example.com")
    LetterFactory(signature=withdrawn, official=official, status="cancelled")
    return CampaignTarget.objects.get(campaign=campaign)


def _page(client, target):
    return client.get(
        reverse("campaign:official_page", args=[official_page_token(target=target)])
    )


def test_page_shows_letter_personal_letters_and_supporters_but_no_emails(
    client, target
):
    response = _page(client, target)
    assert response.status_code == 200
    page = response.content.decode()
    assert "4</strong> supporters" in page
    assert "Letter body of Grace Hopper" in page  # the personal letter, in full
    assert "Letter body of Ada Lovelace" not in page  # a template copy: listed only
    assert "Short words" in page  # short own words still shown
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "@example.com" not in page
    assert "SW1A" in page and "1AA" not in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert (
        "no-store" in response["Cache-Control"]
        or "private" in response["Cache-Control"]
    )


def test_csv_lists_every_supporter_formula_safe(client, target):
    token = official_page_token(target=target)
    response = client.get(reverse("campaign:official_supporters_csv", args=[token]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Name", "Town", "Postcode district"]
    names = [row[0] for row in rows[1:]]
    assert names == [
        "Ada Lovelace",
        HOSTILE,
        '\'=HYPERLINK("http://evil")',
        "Grace Hopper",
    ]
    assert {row[2] for row in rows[1:]} == {"SW1A"}
    assert not any("@" in cell for row in rows for cell in row)


def test_revoked_and_forged_links_are_404(client, target):
    old = official_page_token(target=target)
    assert target_links_revoke(target_ids=[target.pk]) == 1
    target.refresh_from_db()
    assert client.get(reverse("campaign:official_page", args=[old])).status_code == 404
    assert (
        client.get(reverse("campaign:official_supporters_csv", args=[old])).status_code
        == 404
    )
    assert _page(client, target).status_code == 200  # the new link works
    forged = old.replace(old[-4:], "abcd")
    assert (
        client.get(reverse("campaign:official_page", args=[forged])).status_code == 404
    )
    assert official_page_url(target=target).startswith("http")


def test_admin_revoke_action(staff_client, target):
    old = official_page_token(target=target)
    response = staff_client.post(
        reverse("admin:campaign_campaigntarget_changelist"),
        {"action": "revoke_page_links", "_selected_action": [target.pk]},
        follow=True,
    )
    assert "1 link(s) revoked" in response.content.decode()
    target.refresh_from_db()
    assert official_page_token(target=target) != old


@pytest.mark.parametrize(
    ("postcode", "district"),
    [("SW1A 1AA", "SW1A"), ("sw1a1aa", "SW1A"), ("M1 1AE", "M1"), ("LS1 4AP", "LS1")],
)
def test_postcode_district(postcode, district):
    assert postcode_district(postcode) == district
