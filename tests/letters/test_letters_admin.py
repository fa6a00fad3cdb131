"""Letter templates in the admin, as a logged-in organiser: validation on save,
preview per official, the "Send me a test letter" action over real SMTP, history."""

import html
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.drafting import SAMPLE_SIGNER
from campaign.models import Letter
from campaign.services.signing import campaign_sign, signature_confirm
from letters.models import LetterTemplate
from letters.rendering import FIELDS
from letters.services import letter_template_previews, letter_template_send_test
from tests.factories import (
    CampaignFactory,
    LetterTemplateFactory,
    OfficialFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:letters_lettertemplate_changelist"
PREVIEW = "admin:letters_lettertemplate_preview"

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


@pytest.fixture
def template():
    return LetterTemplateFactory(
        name="Sanctions letter",
        subject_template="About {{ campaign.title }}",
        body_template=(
            "{{ official.salutation }},\n\nPlease act.\n\nYours,\n{{ signer.name }}"
        ),
    )


@pytest.fixture
def campaign(template):
    officials = [
        OfficialFactory(name="Alex Morgan", salutation="Dear Prime Minister"),
        OfficialFactory(name="Sam Patel", salutation="Dear Home Secretary"),
    ]
    return CampaignFactory(
        title="Justice for Litvinenko", letter_template=template, targets=officials
    )


def _change_url(template) -> str:
    return reverse("admin:letters_lettertemplate_change", args=[template.pk])


def _form_data(template, **changes) -> dict:
    data = {
        "name": template.name,
        "subject_template": template.subject_template,
        "body_template": template.body_template,
    }
    return {**data, **changes}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _previews(response) -> list[str]:
    """The rendered letters on a page, one string per <article>."""
    articles = re.findall(
        r'<article class="letter-preview".*?</article>',
        response.content.decode(),
        flags=re.S,
    )
    return [html.unescape(a) for a in articles]


def test_change_form_lists_every_merge_field_beside_the_editor(staff_client, template):
    response = staff_client.get(_change_url(template))
    assert response.status_code == 200
    page = response.content.decode()
    aside = page[page.index('<aside class="letter-fields') : page.index("</aside>")]
    for name, description in FIELDS.items():
        assert "{{ " + name + " }}" in html.unescape(aside)
        assert html.escape(description) in aside
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
        url = _change_url(template)

    response = staff_client.post(url, _form_data(template, **{field: value}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert problem in " ".join(errors[field])
    text = _text(response)
    assert "Please correct the error below." in text
    assert problem in text
    assert settings.SECRET_KEY not in text
    assert list(LetterTemplate.objects.values()) == before
    assert LetterTemplate.history.count() == history_before


UNSIGNED = "{{ official.salutation }},\n\nPlease act.\n\nYours sincerely"
UNSIGNED_MESSAGE = "Put {{ signer.name }} in the body, where the supporter signs"


@pytest.mark.parametrize("mode", ["add", "change"])
def test_a_body_without_the_signers_name_is_refused(staff_client, template, mode):
    """Officials must see who wrote, and supporters who edit the letter must be
    able to keep their name in it."""
    before = list(LetterTemplate.objects.values())
    data = _form_data(template, body_template=UNSIGNED)
    if mode == "add":
        data["name"] = "Brand new"
        url = reverse("admin:letters_lettertemplate_add")
    else:
        url = _change_url(template)

    response = staff_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["body_template"]
    assert UNSIGNED_MESSAGE in " ".join(errors["body_template"])
    assert UNSIGNED_MESSAGE in _text(response)
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
        _change_url(template), _form_data(template, body_template="{{ signer.nmae }}")
    )
    message = " ".join(response.context["adminform"].form.errors["body_template"])
    assert 'did you mean "{{ signer.name }}"?' in message
    allowed = ", ".join("{{ " + name + " }}" for name in FIELDS)
    assert "Allowed fields: " + allowed in message


def test_200_kb_body_url_encoded_is_a_form_error(staff_client, template):
    # As a browser would send it without multipart: plain text stays under the
    # request size limit, and the form reports the length.
    response = staff_client.post(
        _change_url(template),
        urlencode(_form_data(template, body_template="a" * 200_000)),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "at most 20000 characters (it has 200000)" in _text(response)
    assert LetterTemplate.objects.get().body_template == template.body_template


def test_crlf_line_breaks_count_once_and_are_stored_as_newlines(staff_client, template):
    # 19,017 characters, but 20,017 if each CRLF counted as two.
    body = ("y" * 18 + "\r\n") * 1000 + "{{ signer.name }}"
    response = staff_client.post(
        _change_url(template), _form_data(template, body_template=body)
    )
    assert response.status_code == 302
    stored = LetterTemplate.objects.get().body_template
    assert stored == body.replace("\r\n", "\n")


def test_valid_edit_saves_and_history_records_who_when_and_what(staff_client, template):
    old_subject, old_body = template.subject_template, template.body_template
    response = staff_client.post(
        _change_url(template),
        _form_data(
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
    text = _text(history)
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
    assert old_body in _text(old_version)


def test_preview_shows_one_letter_per_official(staff_client, template, campaign):
    for url in (reverse(PREVIEW, args=[template.pk]), _change_url(template)):
        response = staff_client.get(url)
        assert response.status_code == 200
        letters = _previews(response)
        assert len(letters) == 2
        assert "Dear Prime Minister," in letters[0]
        assert "Dear Home Secretary," in letters[1]
        for letter in letters:
            assert "Subject: About Justice for Litvinenko" in letter
            assert SAMPLE_SIGNER.name in letter


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
    letters = _previews(staff_client.get(reverse(PREVIEW, args=[template.pk])))
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
    assert len(_previews(response)) == 7
    assert len(two_campaigns) == len(one_campaign)


def test_preview_of_unsaved_text_saves_nothing(staff_client, template, campaign):
    history_before = LetterTemplate.history.count()
    response = staff_client.post(
        reverse(PREVIEW, args=[template.pk]),
        _form_data(template, body_template="{{ official.salutation }},\n\nNew words."),
    )
    assert response.status_code == 200
    letters = _previews(response)
    assert len(letters) == 2
    assert "Dear Prime Minister,\n\nNew words." in letters[0]
    assert "not saved" in _text(response)
    assert LetterTemplate.objects.get().body_template == template.body_template
    assert LetterTemplate.history.count() == history_before

    hostile = staff_client.post(
        reverse(PREVIEW, args=[template.pk]),
        _form_data(template, body_template="{{ settings.SECRET_KEY }} {% debug %}"),
    )
    assert hostile.status_code == 200
    assert _previews(hostile) == []
    assert 'Unknown field "{{ settings.SECRET_KEY }}"' in _text(hostile)
    assert settings.SECRET_KEY not in _text(hostile)


def test_preview_of_a_new_template_uses_a_sample_official(staff_client):
    response = staff_client.post(
        reverse("admin:letters_lettertemplate_preview_new"),
        {"subject_template": "Hello", "body_template": "{{ official.salutation }}"},
    )
    assert response.status_code == 200
    (letter,) = _previews(response)
    assert "Dear Minister" in letter
    assert not LetterTemplate.objects.exists()


def test_a_stored_template_that_fails_validation_still_opens(staff_client):
    # Saved before validation existed, or through the shell: viewing must work.
    broken = LetterTemplate.objects.create(
        name="Legacy",
        subject_template="Hi",
        body_template="{{ settings.SECRET_KEY }}\n{% debug %}",
    )
    for url in (
        _change_url(broken),
        reverse(PREVIEW, args=[broken.pk]),
        reverse("admin:letters_lettertemplate_history", args=[broken.pk]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert settings.SECRET_KEY not in _text(response)
    assert "cannot be rendered" in _text(
        response := staff_client.get(_change_url(broken))
    )
    assert 'Template tags like "{% debug %}"' in _text(response)


def test_preview_needs_permission(client, template):
    url = reverse(PREVIEW, args=[template.pk])
    assert client.get(url).status_code == 302  # to the admin login

    user = StaffUserFactory()
    client.force_login(user)
    assert client.get(url).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_lettertemplate"))
    assert client.get(url).status_code == 200
    assert client.post(url, _form_data(template)).status_code == 403  # no change perm
    # A read-only change page still shows the letters, without the edit preview.
    change = client.get(_change_url(template))
    assert change.status_code == 200
    assert len(_previews(change)) == 1
    assert "Preview the text in the editor" not in change.content.decode()


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
    assert message["Subject"] == "[TEST] About Justice for Litvinenko"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Prime Minister,\n\nPlease act.")
    assert SAMPLE_SIGNER.name in body
    assert "Nothing was sent to any official." in body
    assert settings.SECRET_KEY not in message.as_string()
    assert (
        "Test letter from \u201cSanctions letter\u201d sent to organiser@example.org."
        in _text(response)
    )
    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)


def test_test_letter_button_on_the_change_form_returns_to_it(
    smtp, staff_client, template
):
    response = _send_test(staff_client, template, _from_change_form="1")
    (message,) = smtp.wait_for(1)
    assert message["Subject"] == "[TEST] About [campaign title]"
    assert "Dear Minister," in message.get_content()  # the sample official
    assert response.redirect_chain[-1][0] == _change_url(template)
    assert "sent to organiser@example.org" in _text(response)


def test_test_letter_without_an_email_address_is_a_clear_error(
    smtp, staff_client, template
):
    staff_client.user.email = ""
    staff_client.user.save()
    response = _send_test(staff_client, template)
    assert response.status_code == 200
    assert "Your user account has no email address" in _text(response)
    assert smtp.attempts == 0  # the send is synchronous: nothing is in flight


def test_test_letter_refused_by_the_mail_server_is_reported(
    smtp, staff_client, template
):
    smtp.script("554 5.7.1 Message rejected")
    response = _send_test(staff_client, template)
    assert response.status_code == 200
    assert smtp.attempts == 1
    assert smtp.messages == []
    assert "\u201cSanctions letter\u201d was not sent: the mail server failed" in _text(
        response
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
        _change_url(legacy), _form_data(legacy, body_template="{{ signer.name }}")
    )
    old = legacy.history.earliest()
    url = reverse(
        "admin:letters_lettertemplate_simple_history", args=[legacy.pk, old.pk]
    )
    assert "{% debug %}" in _text(staff_client.get(url))

    response = staff_client.post(url, _form_data(old.instance))
    assert response.status_code == 200
    assert 'Template tags like "{% debug %}"' in _text(response)
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
        _change_url(template),
        _form_data(
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
        "Act now on Justice for Litvinenko"
    ] * 2
    assert [letter.body for letter in new_letters] == [
        "Dear Prime Minister,\n\nPlease act before the summit.\n\nYours,\nBea Okafor",
        "Dear Home Secretary,\n\nPlease act before the summit.\n\nYours,\nBea Okafor",
    ]
