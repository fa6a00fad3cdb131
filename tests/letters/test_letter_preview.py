"""The letter template's preview in the admin: one letter per official, escaped,
in constant queries, of unsaved text too, and only for those allowed to view."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.services.letter_previews import SAMPLE_SIGNER, letter_template_previews
from letters.models import LetterTemplate
from tests.factories import (
    CampaignFactory,
    OfficialFactory,
    StaffUserFactory,
)
from tests.letters.template_admin import (
    PREVIEW,
    change_url,
    page_text,
    rendered_previews,
    template_form,
)

pytestmark = pytest.mark.django_db


def test_preview_shows_one_letter_per_official(staff_client, template, campaign):
    for url in (reverse(PREVIEW, args=[template.pk]), change_url(template)):
        response = staff_client.get(url)
        assert response.status_code == 200
        letters = rendered_previews(response)
        assert len(letters) == 2
        assert "Dear Prime Minister," in letters[0]
        assert "Dear Home Secretary," in letters[1]
        for letter in letters:
            assert "Subject: About Save the Library" in letter
            assert SAMPLE_SIGNER.full_name in letter


def test_preview_escapes_official_and_template_text(staff_client, template):
    official = OfficialFactory(salutation="Dear <script>alert(1)</script> O'Brien")
    CampaignFactory(letter_template=template, targets=[official])
    response = staff_client.get(reverse(PREVIEW, args=[template.pk]))
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien," in page


def test_preview_skips_inactive_officials_and_falls_back_to_a_sample(
    staff_client, template
):
    CampaignFactory(
        letter_template=template, targets=[OfficialFactory(is_active=False)]
    )
    letters = rendered_previews(staff_client.get(reverse(PREVIEW, args=[template.pk])))
    assert len(letters) == 1
    assert "a sample official" in letters[0]
    assert "Dear Minister," in letters[0]
    assert "Subject: About [campaign title]" in letters[0]


def test_preview_reads_targets_in_constant_queries(
    staff_client, template, campaign, django_assert_num_queries
):
    url = reverse(PREVIEW, args=[template.pk])
    with CaptureQueriesContext(connection) as one_campaign:
        staff_client.get(url)

    CampaignFactory(letter_template=template)  # two more officials
    campaign.targets.add(*OfficialFactory.create_batch(3))
    with django_assert_num_queries(2):  # campaigns, then all their targets
        assert len(letter_template_previews(template=template)) == 7
    with CaptureQueriesContext(connection) as two_campaigns:
        response = staff_client.get(url)
    assert len(rendered_previews(response)) == 7
    assert len(two_campaigns) == len(one_campaign)


def test_preview_of_unsaved_text_saves_nothing(staff_client, template, campaign):
    history_before = LetterTemplate.history.count()
    response = staff_client.post(
        reverse(PREVIEW, args=[template.pk]),
        template_form(
            template, body_template="{{ official.salutation }},\n\nNew words."
        ),
    )
    assert response.status_code == 200
    letters = rendered_previews(response)
    assert len(letters) == 2
    assert "Dear Prime Minister,\n\nNew words." in letters[0]
    assert "not saved" in page_text(response)
    assert LetterTemplate.objects.get().body_template == template.body_template
    assert LetterTemplate.history.count() == history_before

    hostile = staff_client.post(
        reverse(PREVIEW, args=[template.pk]),
        template_form(template, body_template="{{ settings.SECRET_KEY }} {% debug %}"),
    )
    assert hostile.status_code == 200
    assert rendered_previews(hostile) == []
    assert 'Unknown field "{{ settings.SECRET_KEY }}"' in page_text(hostile)
    assert settings.SECRET_KEY not in page_text(hostile)


def test_preview_of_a_new_template_uses_a_sample_official(staff_client):
    response = staff_client.post(
        reverse("admin:letters_lettertemplate_preview_new"),
        {"subject_template": "Hello", "body_template": "{{ official.salutation }}"},
    )
    assert response.status_code == 200
    (letter,) = rendered_previews(response)
    assert "Dear Minister" in letter
    assert not LetterTemplate.objects.exists()


def test_preview_needs_permission(client, template):
    url = reverse(PREVIEW, args=[template.pk])
    assert client.get(url).status_code == 302  # to the admin login

    user = StaffUserFactory()
    client.force_login(user)
    assert client.get(url).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_lettertemplate"))
    assert client.get(url).status_code == 200
    assert (
        client.post(url, template_form(template)).status_code == 403
    )  # no change perm
    # A read-only change page still shows the letters, without the edit preview.
    change = client.get(change_url(template))
    assert change.status_code == 200
    assert len(rendered_previews(change)) == 1
    assert "Preview the text in the editor" not in change.content.decode()
