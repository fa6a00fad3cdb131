"""What an update may say: the letters' safe merge language with the supporter's
name, the campaign's title and the count only; a one-line subject. Pure: no
database."""

import pytest
from django.core.exceptions import ValidationError

from campaign.models import Campaign, Update
from campaign.update_text import (
    render_update,
    unsubscribe_signature_id,
    unsubscribe_token,
    unsubscribe_url,
)


def update(subject="Hello {{ signer.name }}", body="{{ campaign.signatures }} signed"):
    return Update(
        campaign=Campaign(title="Save the Library"),
        subject=subject,
        body=body,
        signature_count=12345,
    )


def test_the_three_fields_are_filled_for_one_supporter():
    rendered = render_update(
        update=update(body="{{ campaign.title }}: {{ campaign.signatures }} signed"),
        signer_name="Zoë O'Brien",
    )
    assert rendered.subject == "Hello Zoë O'Brien"
    assert rendered.body == "Save the Library: 12,345 signed"


def test_a_supporters_braces_are_never_expanded():
    rendered = render_update(update=update(), signer_name="{{ campaign.title }}")
    assert rendered.subject == "Hello {{ campaign.title }}"


@pytest.mark.parametrize("field", ["official.name", "official.salutation", "today"])
def test_letter_only_fields_are_refused_with_the_reason(field):
    with pytest.raises(ValidationError) as raised:
        update(body="Dear {{ " + field + " }}").clean()
    (problem,) = raised.value.message_dict["body"]
    assert "cannot be used here" in problem
    assert "goes to the supporters, not to officials" in problem


def test_unknown_fields_and_template_tags_are_refused():
    with pytest.raises(ValidationError) as raised:
        update(body="{% debug %} {{ signer.nmae }}").clean()
    problems = " ".join(raised.value.message_dict["body"])
    assert "Template tags" in problems
    assert 'did you mean "{{ signer.name }}"' in problems


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: x@example.net", "Hi\nthere", "A\rB"])
def test_a_subject_with_a_line_break_is_refused(subject):
    with pytest.raises(ValidationError) as raised:
        update(subject=subject).clean()
    assert "single line" in raised.value.message_dict["subject"][0]


def test_the_unsubscribe_link_is_signed_per_supporter(settings):
    settings.SITE_URL = "https://quillpost.example.org"
    token = unsubscribe_token(signature_id=42)
    assert unsubscribe_signature_id(token=token) == 42
    assert unsubscribe_signature_id(token=token.replace("42", "43", 1)) is None
    assert unsubscribe_signature_id(token="42") is None
    assert unsubscribe_url(signature_id=42).startswith(
        "https://quillpost.example.org/updates/stop/42:"
    )
