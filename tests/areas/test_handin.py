"""Hand-in packs of a campaign by postcode: each supporter's representative can
be handed a pack of their own supporters, with the letter as they received it."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaign.handin.archive import recipients
from campaign.handin.rows import letter_as_received, targets_for
from campaign.models import Campaign, Signature
from campaign.services.letter_creation import letters_create_for
from tests.factories import OfficialFactory, SignatureFactory
from tests.handin.conftest import pack_read


@pytest.fixture
def supporters(by_postcode, areas):
    """Two of Nora North's constituents, one of Sam South's, one pending."""
    made = {}
    for name, code in [("Ann Arden", "E01"), ("Bea Brook", "E01"), ("Cy Coe", "E02")]:
        area = areas[code]
        signature = SignatureFactory(
            campaign=by_postcode,
            full_name=name,
            area=area,
            representative=area.official,
            status=Signature.Status.CONFIRMED,
            confirmed_at=timezone.now(),
        )
        letters_create_for(signature=signature)
        made[name] = signature
    SignatureFactory(
        campaign=by_postcode,
        full_name="Pending Person",
        area=areas["E01"],
        representative=areas["E01"].official,
    )
    return made


def build(tmp_path, *options):
    out, err = tmp_path / "pack.zip", io.StringIO()
    call_command("handin_pack", "write-to-your-mp", *options, "--output", str(out),
                 stderr=err)  # fmt: skip
    return pack_read(out.read_bytes(), tmp_path)


def test_a_pack_per_representative_has_their_letter_and_only_their_supporters(
    supporters, areas, tmp_path
):
    nora = areas["E01"].official
    pack = build(tmp_path, "--official", str(nora.pk))
    names = [row[1] for row in pack.csv_rows[1:]]
    assert names == ["Ann Arden", "Bea Brook"]
    assert "Dear Nora North" in pack.pdf_text  # the letter as she received it
    assert "To Nora North, MP" in pack.pdf_text  # the cover
    assert "· to Nora North\n" in pack.pdf_text  # the header, not "· to "
    assert "Sam South" not in pack.pdf_text and "Cy Coe" not in pack.pdf_text


def test_the_campaign_wide_pack_has_every_representatives_letter(supporters, tmp_path):
    pack = build(tmp_path)
    assert [row[1] for row in pack.csv_rows[1:]] == ["Ann Arden", "Bea Brook", "Cy Coe"]
    assert "Dear Nora North" in pack.pdf_text and "Dear Sam South" in pack.pdf_text
    assert "· to Nora North, Sam South" in pack.pdf_text


def test_an_official_who_is_no_ones_representative_is_refused(supporters, tmp_path):
    stranger = OfficialFactory(name="Someone Else")
    with pytest.raises(CommandError, match=f"Official {stranger.pk} is not one of"):
        build(tmp_path, "--official", str(stranger.pk))


def test_the_build_page_offers_each_representative(
    supporters, areas, by_postcode, staff_client
):
    url = reverse("admin:campaign_campaign_handin", args=[by_postcode.pk])
    page = staff_client.get(url).content.decode()
    nora, sam = areas["E01"].official, areas["E02"].official
    assert f'<option value="{nora.pk}">' in page
    assert f'<option value="{sam.pk}">' in page
    response = staff_client.post(url, {"official": str(nora.pk)})
    assert response.status_code == 302
    assert by_postcode.handin_packs.get().official == nora


def test_the_header_counts_many_recipients_rather_than_naming_them():
    officials = [OfficialFactory.build(name=f"MP {n}") for n in range(650)]
    assert recipients(officials) == "MP 0 and 649 other officials"
    assert recipients(officials[:2]) == "MP 0, MP 1"
    assert recipients([]) == "no official yet"


def test_the_letters_to_representatives_take_the_same_queries_however_many(
    supporters, by_postcode, areas, django_assert_num_queries
):
    def letters_to():
        campaign = Campaign.objects.select_related("letter_template").get(
            pk=by_postcode.pk
        )
        # The fixed targets, the representatives, the campaign's area setting.
        with django_assert_num_queries(3):
            targets = targets_for(campaign=campaign, official=None)
        return [
            letter_as_received(target=target).body.splitlines()[0] for target in targets
        ]

    assert letters_to() == ["Dear Nora North,", "Dear Sam South,"]
    areas["E03"].official = OfficialFactory(name="Eve East", position="MP")
    areas["E03"].save()
    SignatureFactory(
        campaign=by_postcode,
        area=areas["E03"],
        representative=areas["E03"].official,
        status=Signature.Status.CONFIRMED,
    )
    assert letters_to() == ["Dear Eve East,", "Dear Nora North,", "Dear Sam South,"]
