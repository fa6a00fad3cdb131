"""Signing through the campaign page's form, and what a bad request gets there
(never a 500)."""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from campaign.models import ConfirmationEmail, Letter, Signature
from letters.models import LetterTemplate
from tests.factories import (
    SignatureFactory,
)
from tests.pages.sign_form import form_data
from tests.support.http import text

pytestmark = pytest.mark.django_db


# --- signing -----------------------------------------------------------------------


def test_signing_stores_a_pending_signature_and_redirects_to_check_inbox(
    client, page_url, campaign
):
    response = client.post(page_url, form_data())

    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/{campaign.slug}/signed/"
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.PENDING
    assert signature.letter_body == ""  # unchanged letter: the campaign's own
    assert ConfirmationEmail.objects.filter(signature=signature).count() == 1
    page = client.get(response["Location"])
    assert "Check your inbox" in text(page)
    assert "spam" in text(page)


def test_duplicate_signing_gives_the_identical_response(client, page_url):
    first = client.post(page_url, form_data(email="Ada.Lovelace@gmail.com"))
    second = Client().post(page_url, form_data(email=" adalovelace+x@GMAIL.com "))

    assert Signature.objects.count() == 1
    assert (first.status_code, first["Location"]) == (
        second.status_code,
        second["Location"],
    )
    assert first.content == second.content
    assert text(client.get(first["Location"])) == text(Client().get(second["Location"]))


def test_missing_fields_are_explained_next_to_the_field_and_at_the_top(
    client, page_url
):
    response = client.post(page_url, {"sign": "1", "full_name": "", "email": ""})

    body = text(response)
    assert response.status_code == 200
    assert "<title>Error:" in body
    summary = body[body.index('id="error-summary"') : body.index("<h1")]
    for message in (
        "Enter your full name.",
        "Enter your email address.",
        "Enter your postcode.",
        "Tick the box to agree that your letter is sent in your name.",
    ):
        assert message in summary
        assert body.count(message) == 2  # summary and next to the field
    assert 'href="#id_full_name"' in summary
    assert 'aria-invalid="true"' in body
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "Ada\r\nBcc: victim@example.com", "single line"),
        ("full_name", "Ada\x07Lovelace", "single line"),
        ("town", "Mary\tlebone", "single line"),
        ("email", "ada@example.com\r\nBcc: victim@example.com", "single line"),
        ("email", "ada@", "Enter an email address like name@example.com."),
        ("personal_paragraph", "Hello\x1bthere", "control characters"),
        ("full_name", "A" * 101, "use at most 100 characters (it has 101)"),
        ("personal_paragraph", "x" * 2001, "use at most 2000 characters"),
        ("postcode", "<b>", "Enter a postcode"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    client, page_url, field, value, message
):
    response = client.post(page_url, form_data(**{field: value}))

    assert response.status_code == 200
    assert message in text(response)
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()


def test_edited_letter_with_unknown_fields_is_a_plain_form_error(client, page_url):
    body = "{{ official.salutation }},\n\n{% debug %} {{ signer.nmae }}\n\n"
    body += "{{ signer.name }}"
    response = client.post(page_url, form_data(letter_body=body))

    page = text(response)
    assert "Your letter can&#x27;t be sent as written" in page
    assert "Template tags like" in page
    assert "did you mean" in page
    assert "Your letter can't be shown until the problems" in page
    assert not Signature.objects.exists()


def test_edited_letter_must_keep_the_signers_name_and_paragraph(client, page_url):
    response = client.post(
        page_url, form_data(letter_body="{{ official.salutation }}, please act.")
    )
    assert "Keep {{ signer.name }} in your letter" in text(response)

    response = client.post(
        page_url,
        form_data(letter_body="{{ official.salutation }}, act.\n\n{{ signer.name }}"),
    )
    assert "so your own paragraph would not be sent" in text(response)
    assert not Signature.objects.exists()


def test_unchanged_letter_is_accepted_whatever_the_template_lacks(
    client, campaign, page_url
):
    """A template stored before {{ signer.name }} was required still renders; a
    supporter who leaves its letter as it is must be able to sign it."""
    legacy = "{{ official.salutation }},\r\n\r\nPlease act.\r\n\r\nThe undersigned"
    LetterTemplate.objects.update(body_template=legacy.replace("\r\n", "\n"))

    response = client.post(
        page_url, form_data(letter_body=legacy, personal_paragraph="")
    )

    assert response.status_code == 302
    assert Signature.objects.get().letter_body == ""  # the campaign's letter


def test_edited_letter_is_stored_and_previewed(client, page_url):
    body = "{{ official.salutation }},\r\n\r\nMy words.\r\n\r\n{{ signer.name }}"
    response = client.post(
        page_url, form_data(letter_body=body, personal_paragraph="", preview="1")
    )
    assert "<p>Dear Prime Minister,</p>\n\n<p>My words.</p>" in text(response)

    client.post(page_url, form_data(letter_body=body, personal_paragraph=""))
    assert Signature.objects.get().letter_body == body.replace("\r\n", "\n")


# --- CSRF and bad requests ---------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused(campaign, page_url):
    signature = SignatureFactory(campaign=campaign, email="pending@example.com")
    strict = Client(enforce_csrf_checks=True)

    responses = [
        strict.post(page_url, form_data()),
        strict.post(reverse("campaign:confirm", args=[signature.token])),
        strict.post(reverse("campaign:preview", args=[campaign.slug]), {}),
    ]

    for response in responses:
        assert response.status_code == 403
        assert "Please try again" in text(response)
    assert Signature.objects.count() == 1
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_with_a_csrf_token_the_strict_client_can_sign_and_confirm(campaign, page_url):
    strict = Client(enforce_csrf_checks=True)
    token = strict.get(page_url).context["csrf_token"]
    response = strict.post(page_url, form_data(csrfmiddlewaretoken=str(token)))
    assert response.status_code == 302

    confirm_url = reverse("campaign:confirm", args=[Signature.objects.get().token])
    token = strict.get(confirm_url).context["csrf_token"]
    response = strict.post(confirm_url, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 200
    assert Signature.objects.get().status == Signature.Status.CONFIRMED


def test_a_huge_body_is_a_friendly_400(client, page_url, settings):
    huge = form_data(
        personal_paragraph="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    )
    response = client.post(page_url, huge)
    assert response.status_code == 400
    assert "Something was wrong with that request" in text(response)
    assert not Signature.objects.exists()


def test_other_methods_are_refused_politely(client, page_url):
    assert client.put(page_url).status_code == 405
    assert client.delete("/confirm/" + "x" * 43 + "/").status_code == 405


def test_error_pages_render_without_a_request():
    """Django renders 500.html (and the CSRF page) with no request context."""
    for name in ("500.html", "400.html", "403_csrf.html"):
        html = render_to_string(name)
        assert "<h1>" in html and "Quillpost" in html
