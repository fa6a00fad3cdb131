"""Letter templates in the admin, as a logged-in organiser: validation on save,
history and reverting, the "Send me a test letter" action over real SMTP, and that
an edit never rewrites letters already written. Previews: test_letter_preview.py."""

import html
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaign.models import Letter
from campaign.services.letter_previews import (
    SAMPLE_SIGNER,
    letter_template_previews,
    letter_template_send_test,
)
from campaign.services.signing import campaign_sign, signature_confirm
from letters.fields import FIELDS
from letters.models import LetterTemplate
from tests.letters.template_admin import (
    CHANGELIST,
    PREVIEW,
    change_url,
    page_text,
    template_form,
)

pytestmark = pytest.mark.django_db


# Realistic long text: every line break and brace triples when url-encoded, so
# 200 kB of it is far over DATA_UPLOAD_MAX_MEMORY_SIZE unless sent as multipart.
LONG_BODY = ("{{ official.salutation }},\nPlease act, today.\n" * 5000)[:200_000]

SECRET = "{{ settings.SECRET_KEY }}"
# (id, field, hostile value, the problem the error must name)
HOSTILE = [
    ("settings-body", "body_template", f"Hi {SECRET}", f'Unknown field "{SECRET}"'),
    ("settings-subject", "subject_template", SECRET, f'Unknown field "{SECRET}"'),
    ("load", "body_template", "{% load static %}\nHi", 'tags like "{% load static %}"'),
    ("include", "body_template", '{% include "a.html" %}', "Template tags like"),
    ("debug", "body_template", "{% debug %}", 'Template tags like "{% debug %}"'),
    ("walk", "body_template", "{x.__init__.__globals__}", '"__" attribute walks'),
    (
        "attribute",
        "body_template",
        "{{ signer.name.upper }}",
        'Attribute access is not allowed: "{{ signer.name.upper }}"',
    ),
    ("open", "body_template", "Dear {{ official.name }\nYours", 'Unmatched "{{" at'),
    ("close", "subject_template", "About }} this", 'Unmatched "}}"'),
    ("200kB", "body_template", LONG_BODY, "at most 20000 characters (it has 200000)"),
    ("empty-subject", "subject_template", "   ", "The subject is empty"),
]


def test_change_form_lists_every_merge_field_beside_the_editor(staff_client, template):
    response = staff_client.get(change_url(template))
    assert response.status_code == 200
    page = response.content.decode()
    aside = page[page.index('<aside class="letter-fields') : page.index("</aside>")]
    for name, field in FIELDS.items():
        assert "{{ " + name + " }}" in html.unescape(aside)
        assert html.escape(field.description) in aside
    # Browsers send the text as typed (see LetterTemplateForm.is_multipart).
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.parametrize("mode", ["add", "change"])
@pytest.mark.parametrize(
    ("field", "value", "problem"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_template_is_a_form_error_and_stores_nothing(
    staff_client, template, mode, field, value, problem
):
    before = list(LetterTemplate.objects.values())
    history_before = LetterTemplate.history.count()
    if mode == "add":
        template = LetterTemplate(
            name="Brand new",
            subject_template=template.subject_template,
            body_template=template.body_template,
        )
        url = reverse("admin:letters_lettertemplate_add")
    else:
        url = change_url(template)

    response = staff_client.post(url, template_form(template, **{field: value}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert problem in " ".join(errors[field])
    text = page_text(response)
    assert "Please correct the error below." in text
    assert problem in text
    assert settings.SECRET_KEY not in text
    assert list(LetterTemplate.objects.values()) == before
    assert LetterTemplate.history.count() == history_before


UNSIGNED = "{{ official.salutation }},\n\nPlease act.\n\nYours sincerely"
UNSIGNED_MESSAGE = "Put {{ signer.name }} where the letter is signed"


@pytest.mark.parametrize("mode", ["add", "change"])
def test_a_body_without_the_signers_name_is_refused(staff_client, template, mode):
    """Officials must see who wrote, and supporters who edit the letter must be
    able to keep their name in it."""
    before = list(LetterTemplate.objects.values())
    data = template_form(template, body_template=UNSIGNED)
    if mode == "add":
        data["name"] = "Brand new"
        url = reverse("admin:letters_lettertemplate_add")
    else:
        url = change_url(template)

    response = staff_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["body_template"]
    assert UNSIGNED_MESSAGE in " ".join(errors["body_template"])
    assert UNSIGNED_MESSAGE in page_text(response)
    assert list(LetterTemplate.objects.values()) == before


def test_a_stored_body_without_the_signers_name_still_renders(template, campaign):
    """Only saving is checked: campaigns using an older template keep working."""
    LetterTemplate.objects.filter(pk=template.pk).update(body_template=UNSIGNED)
    template.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert UNSIGNED_MESSAGE in " ".join(refused.value.message_dict["body_template"])

    previews = letter_template_previews(template=template)
    assert [p.letter.body for p in previews] == [
        "Dear Prime Minister,\n\nPlease act.\n\nYours sincerely",
        "Dear Home Secretary,\n\nPlease act.\n\nYours sincerely",
    ]


def test_merge_field_errors_list_the_allowed_fields(staff_client, template):
    response = staff_client.post(
        change_url(template), template_form(template, body_template="{{ signer.nmae }}")
    )
    message = " ".join(response.context["adminform"].form.errors["body_template"])
    assert 'did you mean "{{ signer.name }}"?' in message
    allowed = ", ".join("{{ " + name + " }}" for name in FIELDS)
    assert "Allowed fields: " + allowed in message


def test_200_kb_body_url_encoded_is_a_form_error(staff_client, template):
    # As a browser would send it without multipart: plain text stays under the
    # request size limit, and the form reports the length.
    response = staff_client.post(
        change_url(template),
        urlencode(template_form(template, body_template="a" * 200_000)),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "at most 20000 characters (it has 200000)" in page_text(response)
    assert LetterTemplate.objects.get().body_template == template.body_template


def test_crlf_line_breaks_count_once_and_are_stored_as_newlines(staff_client, template):
    # 19,017 characters, but 20,017 if each CRLF counted as two.
    body = ("y" * 18 + "\r\n") * 1000 + "{{ signer.name }}"
    response = staff_client.post(
        change_url(template), template_form(template, body_template=body)
    )
    assert response.status_code == 302
    stored = LetterTemplate.objects.get().body_template
    assert stored == body.replace("\r\n", "\n")


def test_valid_edit_saves_and_history_records_who_when_and_what(staff_client, template):
    old_subject, old_body = template.subject_template, template.body_template
    response = staff_client.post(
        change_url(template),
        template_form(
            template,
            subject_template="Please act on {{ campaign.title }}",
            body_template=old_body.replace("Please act.", "Please act now."),
        ),
    )
    assert response.status_code == 302

    template.refresh_from_db()
    assert template.subject_template == "Please act on {{ campaign.title }}"
    latest, previous = template.history.all()[:2]
    assert latest.history_user == staff_client.user
    assert latest.history_type == "~"
    assert (previous.subject_template, previous.body_template) == (
        old_subject,
        old_body,
    )

    history = staff_client.get(
        reverse("admin:letters_lettertemplate_history", args=[template.pk])
    )
    assert history.status_code == 200
    text = page_text(history)
    assert "organiser" in text  # who
    assert latest.history_date.strftime("%Y") in text  # when
    assert old_subject in text  # the previous subject, per version
    assert "-Please act.\n+Please act now." in text  # the body as a diff

    old_version = staff_client.get(
        reverse(
            "admin:letters_lettertemplate_simple_history",
            args=[template.pk, previous.history_id],
        )
    )
    assert old_version.status_code == 200
    assert old_body in page_text(old_version)


def test_a_stored_template_that_fails_validation_still_opens(staff_client):
    # Saved before validation existed, or through the shell: viewing must work.
    broken = LetterTemplate.objects.create(
        name="Legacy",
        subject_template="Hi",
        body_template="{{ settings.SECRET_KEY }}\n{% debug %}",
    )
    for url in (
        change_url(broken),
        reverse(PREVIEW, args=[broken.pk]),
        reverse("admin:letters_lettertemplate_history", args=[broken.pk]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert settings.SECRET_KEY not in page_text(response)
    assert "cannot be rendered" in page_text(
        response := staff_client.get(change_url(broken))
    )
    assert 'Template tags like "{% debug %}"' in page_text(response)


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
    assert SAMPLE_SIGNER.full_name in body
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


def test_reverting_to_an_old_version_goes_through_the_same_checks(staff_client):
    legacy = LetterTemplate.objects.create(
        name="Legacy", subject_template="Hi", body_template="{% debug %}"
    )
    staff_client.post(
        change_url(legacy), template_form(legacy, body_template="{{ signer.name }}")
    )
    old = legacy.history.earliest()
    url = reverse(
        "admin:letters_lettertemplate_simple_history", args=[legacy.pk, old.pk]
    )
    assert "{% debug %}" in page_text(staff_client.get(url))

    response = staff_client.post(url, template_form(old.instance))
    assert response.status_code == 200
    assert 'Template tags like "{% debug %}"' in page_text(response)
    legacy.refresh_from_db()
    assert legacy.body_template == "{{ signer.name }}"
    assert legacy.history.count() == 2


def _sign_and_confirm(campaign, *, name: str, email: str):
    # A plain db test: the on_commit enqueues never run, so no worker is involved;
    # the Letter rows are written inside signature_confirm itself.
    signature = campaign_sign(
        campaign=campaign,
        full_name=name,
        email=email,
        postcode="SW1A 1AA",
        consent_to_send=True,
    )
    return signature_confirm(token=signature.token)


def test_editing_a_template_never_rewrites_stored_letters(
    staff_client, template, campaign
):
    first = _sign_and_confirm(campaign, name="Ada Lovelace", email="ada@example.com")
    stored = list(Letter.objects.values_list("pk", "subject", "body").order_by("pk"))
    assert len(stored) == 2
    assert all("Please act." in body for _, _, body in stored)

    response = staff_client.post(
        change_url(template),
        template_form(
            template,
            subject_template="Act now on {{ campaign.title }}",
            body_template=template.body_template.replace(
                "Please act.", "Please act before the summit."
            ),
        ),
    )
    assert response.status_code == 302

    # The letters already written keep the text the supporter confirmed …
    assert (
        list(
            Letter.objects.filter(signature=first)
            .values_list("pk", "subject", "body")
            .order_by("pk")
        )
        == stored
    )
    # … and a letter drafted afterwards uses the new text.
    second = _sign_and_confirm(campaign, name="Bea Okafor", email="bea@example.com")
    new_letters = list(second.letters.order_by("official__name"))
    assert [letter.subject for letter in new_letters] == [
        "Act now on Save the Library"
    ] * 2
    assert [letter.body for letter in new_letters] == [
        "Dear Prime Minister,\n\nPlease act before the summit.\n\nYours,\nBea Okafor",
        "Dear Home Secretary,\n\nPlease act before the summit.\n\nYours,\nBea Okafor",
    ]
