"""The public pages through Django's test client: what a supporter sees, what a
bad request gets (never a 500), and the query budget of the campaign page."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign.models import Campaign, ConfirmationEmail, Letter, Official, Signature
from letters.models import LetterTemplate
from tests.factories import (
    CampaignFactory,
    OfficialFactory,
    SignatureFactory,
    bulk_signatures,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def campaign():
    return CampaignFactory(
        slug="save-the-library",
        title="Save the Library",
        signers_may_edit=True,
        targets=[
            OfficialFactory(name="Alex Morgan", salutation="Dear Prime Minister"),
            OfficialFactory(name="Sam Okafor", salutation="Dear Home Secretary"),
        ],
    )


@pytest.fixture
def page_url(campaign):
    return reverse("campaign:detail", args=[campaign.slug])


def form_data(**overrides) -> dict:
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "postcode": "NW1 6XE",
        "town": "Marylebone",
        "personal_paragraph": "Libraries taught me to read.",
        "consent_to_send": "on",
        "sign": "1",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def text(response) -> str:
    return response.content.decode()


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
    def queries(expected: int) -> None:
        cache.clear()
        with django_assert_num_queries(expected):  # cold: campaign, targets, count
            assert client.get(page_url).status_code == 200
        with django_assert_num_queries(expected - 1):  # warm: the count is cached
            assert client.get(page_url).status_code == 200

    queries(3)
    bulk_signatures(campaign, 500, status="confirmed")
    queries(3)
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


# --- confirming --------------------------------------------------------------------


def test_get_on_the_confirmation_link_changes_nothing(
    client, campaign, django_capture_on_commit_callbacks
):
    signature = SignatureFactory(campaign=campaign)
    url = reverse("campaign:confirm", args=[signature.token])

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(url)
        client.get(url)
        client.head(url)

    body = text(response)
    assert response.status_code == 200
    assert "Confirm and send my letter" in body
    assert f'<form method="post" action="{url}">' in body
    assert 'name="csrfmiddlewaretoken"' in body
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING
    assert signature.confirmed_at is None
    assert not Letter.objects.exists()
    assert callbacks == []


def test_confirm_post_thanks_with_the_new_count_and_is_idempotent(
    client, campaign, django_capture_on_commit_callbacks
):
    SignatureFactory.create_batch(4, campaign=campaign, status="confirmed")
    signature = SignatureFactory(campaign=campaign, full_name="Ada Lovelace")
    url = reverse("campaign:confirm", args=[signature.token])

    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post(url)
    with django_capture_on_commit_callbacks() as more_callbacks:
        second = client.post(url)

    assert first.status_code == second.status_code == 200
    assert "Thank you, Ada Lovelace" in text(first)
    assert 'data-count="5"' in text(first)
    assert "Alex Morgan and Sam Okafor" in text(first)
    for share in ("mailto:?subject=", "https://wa.me/", "https://x.com/intent/post",
                  "https://www.facebook.com/sharer/sharer.php"):  # fmt: skip
        assert share in text(first)
    assert "Thank you, Ada Lovelace" in text(second)
    assert Letter.objects.count() == 2
    assert len(callbacks) == 2 and more_callbacks == []
    # A scanner opening the link afterwards sees the thank-you page too.
    assert "Thank you, Ada Lovelace" in text(client.get(url))


def test_expired_link_is_a_friendly_page_with_a_way_to_sign_again(client, campaign):
    signature = SignatureFactory(
        campaign=campaign, token_created_at=timezone.now() - timedelta(days=8)
    )
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "This link has expired" in text(response)
        assert f'href="/campaigns/{campaign.slug}/"' in text(response)
    assert Signature.objects.get().status == Signature.Status.PENDING
    assert not Letter.objects.exists()


def test_link_lifetime_follows_the_setting(client, campaign, settings):
    settings.CONFIRMATION_TOKEN_MAX_AGE_DAYS = 2
    now = timezone.now()
    # Both would confirm under the default of 7 days.
    stale = SignatureFactory(
        campaign=campaign, token_created_at=now - timedelta(days=3)
    )
    fresh = SignatureFactory(
        campaign=campaign, token_created_at=now - timedelta(days=1)
    )

    refused = client.post(reverse("campaign:confirm", args=[stale.token]))
    assert refused.status_code == 410
    assert "This link has expired" in text(refused)
    assert "Confirmation links work for 2 days" in text(refused)
    stale.refresh_from_db()
    assert (stale.status, stale.confirmed_at) == (Signature.Status.PENDING, None)
    assert not Letter.objects.exists()

    confirmed = client.post(reverse("campaign:confirm", args=[fresh.token]))
    assert confirmed.status_code == 200
    assert f"Thank you, {fresh.full_name}" in text(confirmed)
    fresh.refresh_from_db()
    assert fresh.status == Signature.Status.CONFIRMED
    assert set(Letter.objects.values_list("signature_id", flat=True)) == {fresh.pk}
    assert Letter.objects.count() == 2


def test_confirm_after_close_is_a_friendly_page(client, campaign):
    signature = SignatureFactory(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "This campaign has closed" in text(response)
    assert not Letter.objects.exists()


def test_confirm_while_no_one_is_targeted_waits_and_works_later(client, campaign):
    signature = SignatureFactory(campaign=campaign)
    Official.objects.update(is_active=False)
    url = reverse("campaign:confirm", args=[signature.token])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 409
        assert "not taking signatures right now" in text(response)
        assert "your letter has not been sent" in text(response)
    assert Signature.objects.get().status == Signature.Status.PENDING

    Official.objects.update(is_active=True)
    response = client.post(url)
    assert "Thank you," in text(response)
    assert Letter.objects.count() == 2


@pytest.mark.parametrize(
    "token",
    ["x" * 43, "short", "a" * 500, "%00", "..%2F..%2Fetc", "tok%0D%0Aen", "'; DROP"],
)
def test_unknown_or_malformed_tokens_are_a_friendly_404(client, token):
    for response in (
        client.get(f"/confirm/{token}/"),
        client.post(f"/confirm/{token}/"),
    ):
        assert response.status_code == 404
        # A "/" inside never reaches the view: the site-wide 404 page answers.
        friendly = "Page not found" if "%2F" in token else "We don't recognise this"
        assert friendly in text(response)


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
