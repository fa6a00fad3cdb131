"""Campaigns by postcode: the supporter's postcode finds their representative,
shown before signing and stored at signing; a postcode that finds no one keeps
the form and signs nothing."""

import pytest
from django.urls import reverse

from campaign import selectors
from campaign.areas import CHOOSE_AREA, NO_OFFICIAL, UNKNOWN_POSTCODE
from campaign.models import AreaTargeting, DeliveryMode, Letter, Signature
from campaign.selectors import SigningState
from campaign.services.letter_creation import letters_create_for
from campaign.services.signing import campaign_sign
from tests.factories import CampaignFactory, OfficialFactory
from tests.support.http import text


def sign_data(postcode: str, **extra) -> dict:
    return {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": postcode,
        "consent_to_send": "on",
        "sign": "1",
        **extra,
    }


def url(campaign) -> str:
    return reverse("campaign:detail", args=[campaign.slug])


def test_a_campaign_by_postcode_without_fixed_officials_is_open(by_postcode):
    assert selectors.campaign_signing_state(campaign=by_postcode) is SigningState.OPEN
    assert by_postcode in selectors.campaigns_open()


def test_the_page_says_the_letter_goes_to_your_representative(client, by_postcode):
    page = text(client.get(url(by_postcode)))
    assert "Your own representative, found from your postcode" in page
    assert "No one yet" not in page
    assert "Enter your postcode and the letter is addressed" in page


def test_signing_stores_the_representative_and_confirming_writes_to_them(
    client, by_postcode, areas
):
    response = client.post(url(by_postcode), sign_data("sw1a 2aa"))
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.area, signature.representative) == (
        areas["E02"],
        areas["E02"].official,
    )
    # Elected since: the letter still goes to whom they saw when signing.
    areas["E02"].official = OfficialFactory()
    areas["E02"].save()
    letters = letters_create_for(signature=signature)
    assert [letter.official.name for letter in letters] == ["Sam South"]
    assert "Dear Sam South" in letters[0].body


@pytest.mark.parametrize(
    ("postcode", "message"),
    [
        ("ZZ9 9ZZ", UNKNOWN_POSTCODE),
        ("EC1 4AA", NO_OFFICIAL.format(area="Easttown")),
        ("N1 9ZZ", CHOOSE_AREA),
    ],
    ids=["unknown", "no-official", "several-areas"],
)
def test_no_representative_keeps_the_form_and_signs_nothing(
    client, by_postcode, postcode, message
):
    response = client.post(url(by_postcode), sign_data(postcode, town="Islington"))
    page = text(response)
    assert response.status_code == 200
    assert message.replace("'", "&#x27;") in page
    assert 'value="Islington"' in page and 'value="ada@example.com"' in page
    assert not Signature.objects.exists()


def test_where_a_sector_spans_areas_the_supporter_picks_theirs(
    client, by_postcode, areas
):
    page = text(client.post(url(by_postcode), sign_data("N1 9ZZ")))
    for area in ("E01", "E02"):
        assert f'form="sign-form" name="area" id="area-{areas[area].pk}"' in page
    client.post(url(by_postcode), sign_data("N1 9ZZ", area=areas["E01"].pk))
    assert Signature.objects.get().representative.name == "Nora North"


def test_a_chosen_area_must_be_one_the_postcode_is_in(client, by_postcode, areas):
    client.post(url(by_postcode), sign_data("N1 9ZZ", area=areas["E03"].pk))
    assert not Signature.objects.exists()


def test_preview_without_javascript_shows_whom_they_write_to(client, by_postcode):
    data = {"postcode": "SW1A 1AA", "preview": "1"}
    page = text(client.post(url(by_postcode), data))
    assert "You are writing to <strong>Nora North</strong>, MP, who represents" in page
    assert "Letter to Nora North, MP (Northtown)" in page
    assert "Dear Nora North" in page
    assert "There is a problem" not in page  # the empty fields are no error yet


def test_the_live_preview_fragment_names_the_representative(client, by_postcode):
    preview = reverse("campaign:preview", args=[by_postcode.slug])
    fragment = text(client.post(preview, {"postcode": "sw1a2aa"}))
    assert "You are writing to <strong>Sam South</strong>" in fragment
    unknown = text(client.post(preview, {"postcode": "ZZ9 9ZZ"}))
    assert UNKNOWN_POSTCODE.replace("'", "&#x27;") in unknown
    assert "Letter to your representative (enter your postcode)" in unknown


def test_fixed_officials_get_the_letter_too(client, by_postcode):
    minister = OfficialFactory(name="Hana Home", position="Home Secretary")
    by_postcode.targets.add(
        minister, through_defaults={"delivery_mode": DeliveryMode.EVERY_LETTER}
    )
    client.post(url(by_postcode), sign_data("SW1A 1AA"))
    signature = Signature.objects.get()
    letters = letters_create_for(signature=signature)
    assert sorted(x.official.name for x in letters) == ["Hana Home", "Nora North"]
    assert letters_create_for(signature=signature) == []  # once each


def test_the_service_refuses_a_campaign_by_postcode_without_an_area(by_postcode):
    with pytest.raises(Exception, match="find this postcode"):
        campaign_sign(
            campaign=by_postcode,
            full_name="Ada",
            email="ada@example.com",
            postcode="ZZ9 9ZZ",
            consent_to_send=True,
        )
    assert not Signature.objects.exists()


def test_a_fixed_campaign_ignores_areas(client, campaign, dataset):
    client.post(url(campaign), sign_data("SW1A 1AA"))
    signature = Signature.objects.get()
    assert signature.representative is None and signature.area is None


def test_the_area_letters_follow_the_campaigns_delivery_mode(client, by_postcode):
    AreaTargeting.objects.filter(campaign=by_postcode).update(
        delivery_mode=DeliveryMode.HAND_IN
    )
    client.post(url(by_postcode), sign_data("SW1A 1AA"))
    signature = Signature.objects.select_related("campaign").get()
    letters_create_for(signature=signature)
    assert Letter.objects.get().status == "held"


def test_signing_by_postcode_adds_one_query(client, by_postcode, dataset):
    """The cached page's campaign and one lookup: the sign POST stays lean."""
    client.get(url(by_postcode))  # fills the page cache
    fixed = CampaignFactory(slug="fixed", targets=[OfficialFactory()])
    client.get(url(fixed))
    counts = {}
    for campaign, postcode in ((fixed, "SW1A 1AA"), (by_postcode, "SW1A 1AA")):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.post(url(campaign), sign_data(postcode))
        assert response.status_code == 302
        counts[campaign.slug] = len(queries)
    assert counts[by_postcode.slug] == counts["fixed"] + 1


def test_the_admin_sets_the_area_mode_and_reroutes_waiting_letters(
    staff_client, client, by_postcode, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # nothing may be sent here
    AreaTargeting.objects.filter(campaign=by_postcode).update(
        delivery_mode=DeliveryMode.DIGEST_ONLY
    )
    client.post(url(by_postcode), sign_data("SW1A 1AA"))
    letters_create_for(signature=Signature.objects.select_related("campaign").get())
    assert Letter.objects.get().status == "awaiting_digest"
    targeting = AreaTargeting.objects.get(campaign=by_postcode)
    form = {
        "slug": by_postcode.slug,
        "title": by_postcode.title,
        "summary": by_postcode.summary,
        "status": by_postcode.status,
        "signature_goal": by_postcode.signature_goal,
        "letter_template": by_postcode.letter_template_id,
        "target_links-TOTAL_FORMS": "0",
        "target_links-INITIAL_FORMS": "0",
        "target_links-MIN_NUM_FORMS": "0",
        "target_links-MAX_NUM_FORMS": "1000",
        "area_targeting-TOTAL_FORMS": "1",
        "area_targeting-INITIAL_FORMS": "1",
        "area_targeting-MIN_NUM_FORMS": "0",
        "area_targeting-MAX_NUM_FORMS": "1",
        "area_targeting-0-campaign": by_postcode.pk,
        "area_targeting-0-dataset": targeting.dataset_id,
        "area_targeting-0-delivery_mode": DeliveryMode.HAND_IN,
        "area_targeting-0-send_days": "",
        "area_targeting-0-send_from": "",
        "area_targeting-0-send_until": "",
    }
    admin_url = reverse("admin:campaign_campaign_change", args=[by_postcode.pk])
    response = staff_client.post(admin_url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Letter.objects.get().status == "held"
    # Half a delivery window is refused as on an official.
    form["area_targeting-0-send_from"] = "09:00"
    page = staff_client.post(admin_url, form).content.decode()
    assert "Give both ends of the delivery hours" in page
