"""Updates in the admin: write (refused with a message when unsafe), preview,
"Send me a test" (a real SMTP server), "Send to N supporters" with N shown
first, a double click sending once, then progress, pause, resume, cancel."""

import pytest
from django.urls import reverse

from campaign.models import Update, UpdateEmail

from .conftest import draft, supporters

pytestmark = pytest.mark.django_db


def url(name: str, update: Update) -> str:
    return reverse(f"admin:campaign_update_{name}", args=[update.pk])


def test_unsafe_text_is_refused_with_a_clear_message(staff_client, campaign):
    response = staff_client.post(
        reverse("admin:campaign_update_add"),
        {
            "campaign": campaign.pk,
            "subject": "Hello\r\nBcc: everyone@example.net",
            "body": "Dear {{ official.salutation }}",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "single line" in errors["subject"][0]
    assert "not to officials" in errors["body"][0]
    assert not Update.objects.exists()


def test_preview_test_email_and_n_before_confirming(staff_client, campaign, smtp):
    supporters(campaign, 3)
    update = draft(campaign)
    page = staff_client.get(url("change", update))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Send to 3 supporters" in text
    assert "3 people signed. The minister replied." in text  # the preview

    response = staff_client.post(url("test", update))
    assert response.status_code == 302
    (message,) = smtp.wait_for(1)
    assert message["To"] == staff_client.user.email
    assert message["Subject"] == "[TEST] News from Save the Library"
    assert not UpdateEmail.objects.exists()  # no supporter got anything

    confirm = staff_client.get(url("send", update))
    assert b'<strong id="audience-count">3</strong>' in confirm.content
    assert not UpdateEmail.objects.exists()  # the GET only asks


def test_a_double_click_sends_once(staff_client, campaign):
    supporters(campaign, 5)
    update = draft(campaign)
    first = staff_client.post(url("send", update), follow=True)
    second = staff_client.post(url("send", update), follow=True)
    assert "Sending to 5 supporters" in first.content.decode()
    assert "cannot be sent twice" in second.content.decode()
    assert UpdateEmail.objects.filter(update=update).count() == 5


def test_progress_pause_resume_cancel(staff_client, campaign):
    supporters(campaign, 4)
    update = draft(campaign)
    staff_client.post(url("send", update))
    UpdateEmail.objects.filter(pk=UpdateEmail.objects.order_by("pk")[0].pk).update(
        status="sent"
    )
    page = staff_client.get(url("change", update)).content.decode()
    assert '<strong data-count="sent">1</strong>' in page
    assert '<strong data-count="waiting">3</strong>' in page
    assert ">Pause</button>" in page

    staff_client.post(url("pause", update))
    update.refresh_from_db()
    assert update.status == Update.Status.PAUSED
    assert UpdateEmail.objects.filter(status="paused").count() == 3
    assert (
        ">Resume</button>" in staff_client.get(url("change", update)).content.decode()
    )

    staff_client.post(url("resume", update))
    assert UpdateEmail.objects.filter(status="pending").count() == 3
    staff_client.post(url("cancel", update))
    update.refresh_from_db()
    assert update.status == Update.Status.CANCELLED
    assert UpdateEmail.objects.filter(status="cancelled").count() == 3
    # A GET of an action changes nothing.
    staff_client.get(url("resume", update))
    assert UpdateEmail.objects.filter(status="cancelled").count() == 3
