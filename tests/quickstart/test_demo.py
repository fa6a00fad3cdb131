import pytest
from django.core.management import call_command

from campaign import demo
from campaign.models import Campaign, Official
from letters import rendering
from letters.models import LetterTemplate

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent():
    call_command("load_demo")
    first = Campaign.objects.get(slug=demo.DEMO_SLUG)
    call_command("load_demo")
    assert Campaign.objects.count() == 1
    assert LetterTemplate.objects.count() == 1
    assert Official.objects.count() == 2
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
