"""The public pages through Django's test client: the home page and the campaign
page (with its query budget), signing through its form, the letter preview, and
user text shown, never run. Confirming, CSRF and bad requests are in
test_confirm_page.py."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign.models import Campaign, ConfirmationEmail, Official, Signature
from campaign.privacy import consent_text_current
from letters.models import LetterTemplate
from tests.factories import (
    CampaignFactory,
    SignatureFactory,
    bulk_signatures,
)
from tests.pages.sign_form import form_data
from tests.support.http import text

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


# --- the home page and the campaign page ------------------------------------------


def test_home_lists_open_campaigns_with_counts(client, campaign):
    SignatureFactory.create_batch(3, campaign=campaign, status="confirmed")
    CampaignFactory(title="A draft", status=Campaign.Status.DRAFT)
    CampaignFactory(title="All over", status=Campaign.Status.CLOSED)
    CampaignFactory(title="Too late", closes_at=timezone.now() - timedelta(hours=1))

    response = client.get("/")

    body = text(response)
    assert response.status_code == 200
    assert "Save the Library" in body
    assert f'href="/campaigns/{campaign.slug}/"' in body
    assert re.search(r'data-count="3">3</strong>\s*signatures of a goal of 100', body)
    assert '<progress class="goal-progress" max="100" value="3"' in body
    for hidden in ("A draft", "All over", "Too late"):
        assert hidden not in body


def test_home_page_queries_do_not_grow_with_campaigns(
    client, django_assert_num_queries
):
    CampaignFactory.create_batch(5)
    # campaigns, then one grouped count for all of them (cold cache)
    with django_assert_num_queries(2):
        client.get("/")
    with django_assert_num_queries(1):
        client.get("/")


def test_campaign_page_shows_each_officials_letter_with_placeholders(client, page_url):
    response = client.get(page_url)

    body = text(response)
    assert response.status_code == 200
    assert body.count("<h1") == 1
    assert "Letter to Alex Morgan, Minister" in body
    assert "Letter to Sam Okafor, Minister" in body
    assert "<p>Dear Prime Minister,</p>" in body
    assert "<p>Dear Home Secretary,</p>" in body
    assert "[your name]" in body
    assert "[your personal paragraph, if you add one]" in body
    for label in ("Full name", "Email address", "Postcode", "Town (optional)"):
        assert re.search(rf'<label\s+for="id_\w+"[^>]*>\s*{re.escape(label)}', body)
    assert "my name and letter are sent to the officials named above" in body
    # The editable letter starts as the campaign's own template.
    assert "{{ official.salutation }}" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_campaign_page_query_count_does_not_depend_on_signatures(
    client, campaign, page_url, django_assert_num_queries
):
    consent_text_current()  # the site's first wording exists from its first visit

    def queries(expected: int) -> None:
        cache.clear()
        # Cold: campaign, targets, supporters reporting replies, count, the
        # consent wording.
        with django_assert_num_queries(expected):
            assert client.get(page_url).status_code == 200
        with django_assert_num_queries(0):  # warm: the page and count are cached
            assert client.get(page_url).status_code == 200

    queries(5)
    bulk_signatures(campaign, 500, status="confirmed")
    queries(5)
    assert 'data-count="500"' in text(client.get(page_url))


def test_closed_campaign_shows_its_count_and_refuses_signatures(
    client, campaign, page_url
):
    SignatureFactory.create_batch(2, campaign=campaign, status="confirmed")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)

    response = client.get(page_url)
    assert response.status_code == 200
    assert "This campaign has closed" in text(response)
    assert "2 people signed" in text(response)
    assert 'id="sign-form"' not in text(response)

    response = client.post(page_url, form_data(email="late@example.com"))
    assert response.status_code == 403
    assert "This campaign has closed" in text(response)
    assert Signature.objects.filter(email="late@example.com").count() == 0


@pytest.mark.parametrize(
    "problem",
    ["no-active-targets", "letter-cannot-render"],
)
def test_live_campaign_that_cannot_send_letters_refuses_signatures(
    client, campaign, page_url, problem
):
    if problem == "no-active-targets":
        Official.objects.update(is_active=False)
    else:  # a row stored before the admin validated templates
        LetterTemplate.objects.update(body_template="{% debug %} {{ signer.name }}")

    for response in (client.get(page_url), client.post(page_url, form_data())):
        assert "not taking signatures right now" in text(response)
        assert 'id="sign-form"' not in text(response)
    assert response.status_code == 403
    assert not Signature.objects.exists()
    assert not ConfirmationEmail.objects.exists()
    if problem == "no-active-targets":  # the home page's rule is SQL: no letter check
        assert "Save the Library" not in text(client.get("/"))


def test_draft_and_unknown_campaigns_are_a_friendly_404(client, campaign):
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    for url in (f"/campaigns/{draft.slug}/", "/campaigns/no-such-thing/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Page not found" in text(response)


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
    assert "Put {{ signer.name }} where the letter is signed" in text(response)

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


# --- the preview -------------------------------------------------------------------


def test_preview_button_rerenders_the_letter_without_storing_anything(client, page_url):
    data = form_data(email="", consent_to_send=None, preview="1")
    del data["sign"]
    response = client.post(page_url, data)

    body = text(response)
    assert response.status_code == 200
    assert "Ada Lovelace" in body.split('id="letter-preview"')[1]
    assert "Libraries taught me to read." in body
    assert "[your name]" not in body
    # An unfinished form is not an error yet.
    assert "error-summary" not in body
    assert "Enter your email address." not in body
    assert not Signature.objects.exists()


def test_preview_fragment_is_the_same_rendering_per_official(client, campaign):
    url = reverse("campaign:preview", args=[campaign.slug])
    response = client.post(url, {"full_name": "Grace Hopper", "town": ""})

    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert body.count("<details") == 2
    assert "<p>Dear Prime Minister,</p>" in body
    assert "<p>Dear Home Secretary,</p>" in body
    assert "Grace Hopper" in body
    assert "[your town]" not in body  # left blank: the line is dropped, as sent
    assert client.get(url).status_code == 405


def test_preview_of_an_empty_form_shows_placeholders(client, campaign):
    url = reverse("campaign:preview", args=[campaign.slug])
    assert "[your name]" in text(client.post(url, {}))


# --- script in user text is shown, never run ---------------------------------------


def test_script_in_name_and_paragraph_is_escaped_everywhere(
    client, page_url, staff_client
):
    data = form_data(full_name=SCRIPT, personal_paragraph=SCRIPT, preview="1")
    preview = text(client.post(page_url, data))
    assert SCRIPT not in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview

    client.post(page_url, form_data(full_name=SCRIPT, personal_paragraph=SCRIPT))
    signature = Signature.objects.get()
    thank_you = text(client.post(reverse("campaign:confirm", args=[signature.token])))
    assert "Thank you, &lt;script&gt;alert(1)&lt;/script&gt;" in thank_you
    assert SCRIPT not in thank_you

    for url in (
        reverse("admin:campaign_signature_changelist"),
        reverse("admin:campaign_signature_change", args=[signature.pk]),
        reverse("admin:campaign_letter_changelist"),
    ):
        admin_page = text(staff_client.get(url))
        assert SCRIPT not in admin_page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin_page


def test_pages_have_no_inline_script_style_or_handlers(client, page_url, campaign):
    """The Content-Security-Policy (default-src 'self') would block them."""
    signature = SignatureFactory(campaign=campaign)
    pages = [
        client.get("/"),
        client.get(page_url),
        client.post(page_url, {"sign": "1"}),
        client.get(reverse("campaign:signed", args=[campaign.slug])),
        client.get(reverse("campaign:confirm", args=[signature.token])),
        client.post(reverse("campaign:confirm", args=[signature.token])),
        client.get("/confirm/nope/"),
        client.get("/no-such-page/"),
    ]
    for response in pages:
        body = text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), response
        assert not re.search(r"\sstyle=", body), response
        assert not re.search(r"\son[a-z]+=", body), response
        assert "cdn" not in body.lower()
