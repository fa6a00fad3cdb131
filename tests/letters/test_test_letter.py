"""The admin's "Send me a test letter" action, over the real SMTP server."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaign.drafting import SAMPLE_SIGNER
from letters.services import letter_template_send_test
from tests.letters.template_admin import (
    CHANGELIST,
    change_url,
    page_text,
)

pytestmark = pytest.mark.django_db


def _send_test(staff_client, template, **extra):
    return staff_client.post(
        reverse(CHANGELIST),
        {
            "action": "send_test_letter",
            "index": 0,
            "_selected_action": [template.pk],
            **extra,
        },
        follow=True,
    )


def test_send_me_a_test_letter_delivers_over_smtp(
    smtp, staff_client, template, campaign
):
    response = _send_test(staff_client, template)

    (message,) = smtp.wait_for(1)
    assert message["To"] == "organiser@example.org"
    assert message.envelope_rcpt == ["organiser@example.org"]
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Subject"] == "[TEST] About Save the Library"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Prime Minister,\n\nPlease act.")
    assert SAMPLE_SIGNER.name in body
    assert "Nothing was sent to any official." in body
    assert settings.SECRET_KEY not in message.as_string()
    assert (
        "Test letter from \u201cSanctions letter\u201d sent to organiser@example.org."
        in page_text(response)
    )
    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)


def test_test_letter_button_on_the_change_form_returns_to_it(
    smtp, staff_client, template
):
    response = _send_test(staff_client, template, _from_change_form="1")
    (message,) = smtp.wait_for(1)
    assert message["Subject"] == "[TEST] About [campaign title]"
    assert "Dear Minister," in message.get_content()  # the sample official
    assert response.redirect_chain[-1][0] == change_url(template)
    assert "sent to organiser@example.org" in page_text(response)


def test_test_letter_without_an_email_address_is_a_clear_error(
    smtp, staff_client, template
):
    staff_client.user.email = ""
    staff_client.user.save()
    response = _send_test(staff_client, template)
    assert response.status_code == 200
    assert "Your user account has no email address" in page_text(response)
    assert smtp.attempts == 0  # the send is synchronous: nothing is in flight


def test_test_letter_refused_by_the_mail_server_is_reported(
    smtp, staff_client, template
):
    smtp.script("554 5.7.1 Message rejected")
    response = _send_test(staff_client, template)
    assert response.status_code == 200
    assert smtp.attempts == 1
    assert smtp.messages == []
    assert (
        "\u201cSanctions letter\u201d was not sent: the mail server failed"
        in page_text(response)
    )


def test_test_letter_address_cannot_inject_headers(smtp, template):
    with pytest.raises(ValidationError):
        letter_template_send_test(
            template=template, to_email="a@example.org\nBcc: victim@example.org"
        )
    assert smtp.attempts == 0
