import pytest
from django.core.management import call_command

from campaign import demo, demo_areas
from campaign.models import Campaign, Official, PostcodeArea, PostcodeDataset
from letters import rendering
from letters.models import LetterTemplate

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent():
    call_command("load_demo")
    first = Campaign.objects.get(slug=demo.DEMO_SLUG)
    call_command("load_demo")
    assert Campaign.objects.count() == 2
    assert LetterTemplate.objects.count() == 2
    assert Official.objects.count() == 2 + len(demo_areas.WARDS)
    assert PostcodeArea.objects.count() == PostcodeDataset.objects.get().postcodes
    again = Campaign.objects.get(slug=demo.DEMO_SLUG)
    assert again.updated_at == first.updated_at
    assert again.status == Campaign.Status.LIVE
    assert sorted(again.targets.values_list("position", flat=True)) == [
        "Home Secretary",
        "Prime Minister",
    ]


def test_demo_never_addresses_a_real_inbox():
    call_command("load_demo")
    assert all(
        e.endswith("@example.org")
        for e in Official.objects.values_list("email", flat=True)
    )


def test_demo_template_passes_the_admins_checks_and_uses_the_merge_fields():
    # The same checks as saving in the admin (which requires {{ signer.name }}).
    LetterTemplate(
        name=demo.TEMPLATE_NAME, subject_template=demo.SUBJECT, body_template=demo.BODY
    ).full_clean()
    assert {
        "official.salutation",
        "signer.name",
        "signer.town",
        "signer.personal_paragraph",
    } <= rendering.fields_used(demo.BODY)


def test_create_admin_prints_a_working_login(capsys, client):
    call_command("load_demo", "--create-admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert client.login(username="admin", password=password)
    assert client.get("/admin/").status_code == 200


def test_the_demo_by_postcode_is_open_and_finds_each_ward():
    from campaign import selectors
    from campaign.areas import postcode_areas

    call_command("load_demo")
    campaign = Campaign.objects.get(slug=demo_areas.SLUG)
    assert campaign in selectors.campaigns_open()
    dataset = campaign.area_targeting.dataset
    for postcode, code in demo_areas.POSTCODES:
        found = postcode_areas(dataset_id=dataset.pk, postcode=postcode)
        assert [area.code for area in found.areas] == [code]
    # The sector the demo splits offers both wards.
    split = postcode_areas(dataset_id=dataset.pk, postcode="QP3 1ZZ")
    assert [area.code for area in split.areas] == ["QW03", "QW04"]
    LetterTemplate(
        name="x", subject_template=demo_areas.SUBJECT, body_template=demo_areas.BODY
    ).full_clean()
