"""letters.rendering: what a template may not contain, and the message that says
so. Pure Python, no database, no Django."""

import re

import pytest

from letters.rendering import (
    MAX_BODY_LENGTH,
    MAX_SUBJECT_LENGTH,
    TemplateError,
    render_letter,
    template_problems,
    validate_subject,
    validate_template,
)
from tests.letters.sample_letter import LETTER, SIGNER, render

ALLOWED = "Allowed fields: {{ official.salutation }}, {{ official.name }}"

# --- validation -------------------------------------------------------------------


HOSTILE = [
    ("{{ settings.SECRET_KEY }}", 'Unknown field "{{ settings.SECRET_KEY }}"'),
    ("{{settings.SECRET_KEY}}", 'Unknown field "{{settings.SECRET_KEY}}"'),
    ("{% load static %}", 'Template tags like "{% load static %}" are not allowed'),
    ('{% include "x.html" %}', 'Template tags like "{% include "x.html" %}"'),
    ("{% debug %}", 'Template tags like "{% debug %}" are not allowed'),
    ("{# note #}", 'Template comments like "{# note #}" are not allowed'),
    ("{x.__init__.__globals__}", '"__" attribute walks are not allowed'),
    ("{{ a.__class__ }}", '"__" attribute walks are not allowed'),
    ("{{ signer.name.upper }}", 'Attribute access is not allowed: "{{ signer.name.up'),
    ("{{ signer.name|upper }}", 'Filters like "|upper" are not allowed'),
    ("{{ signer.name", 'Unmatched "{{" at line 1'),
    ("signer.name }}", 'Unmatched "}}" at line 1'),
    ("{{", 'Unmatched "{{" at line 1'),
    ("}}", 'Unmatched "}}" at line 1'),
    ("{{ signer.name }", 'Unmatched "}" at line 1'),
    ("{{ {{ signer.name }} }}", 'Unmatched "{{" at line 1'),
    ("{{\nsigner.name }}", 'Unmatched "}}" at line 2'),
    ("{{ }}", 'Empty placeholder "{{ }}"'),
    ("{name}", 'Single braces like "{name}" are not allowed'),
    ("{0}", 'Single braces like "{0}" are not allowed'),
    ("{{ signer.nme }}", 'did you mean "{{ signer.name }}"?'),
    ("Dear all,\n\nHello { there", 'Unmatched "{" at line 3'),
]


@pytest.mark.parametrize(("template", "message"), HOSTILE)
def test_hostile_templates_are_rejected_with_a_precise_message(template, message):
    problems = template_problems(template, max_length=MAX_BODY_LENGTH)
    assert any(message in problem for problem in problems), problems
    head = message.split(" at line")[0]
    with pytest.raises(TemplateError) as caught:
        validate_template(f"Dear Minister,\n{template}")
    assert isinstance(caught.value, ValueError)
    assert any(head in problem for problem in caught.value.problems)
    assert ALLOWED in str(caught.value)
    with pytest.raises(TemplateError) as caught:
        render(template)
    assert any(p.startswith("Body: ") and head in p for p in caught.value.problems)


@pytest.mark.parametrize(("template", "message"), HOSTILE)
def test_hostile_subjects_are_rejected_too(template, message):
    if "\n" in template:
        message = "The subject must be a single line"
    with pytest.raises(TemplateError) as caught:
        render_letter(subject_template=template, body_template="ok", context=SIGNER)
    assert any(
        p.startswith("Subject: ") and message in p for p in caught.value.problems
    )


def test_subject_and_body_problems_are_reported_together():
    with pytest.raises(TemplateError) as caught:
        render_letter(
            subject_template="{% debug %}", body_template="{{ x }}", context=SIGNER
        )
    assert caught.value.problems == [
        'Subject: Template tags like "{% debug %}" are not allowed at line 1',
        'Body: Unknown field "{{ x }}" at line 1',
    ]
    assert str(caught.value).startswith("\n".join(caught.value.problems) + "\n")


def test_valid_templates_have_no_problems():
    assert template_problems(LETTER, max_length=MAX_BODY_LENGTH) == []
    assert validate_template(LETTER) is None
    assert validate_subject("{{ campaign.title }}: {{ signer.name }}") is None


@pytest.mark.parametrize(
    ("size", "ok"), [(MAX_BODY_LENGTH, True), (MAX_BODY_LENGTH + 1, False)]
)
def test_body_length_limit(size, ok):
    assert (template_problems("x" * size, max_length=MAX_BODY_LENGTH) == []) is ok


def test_huge_body_is_rejected_by_length():
    with pytest.raises(TemplateError, match=r"Too long: 200,000 characters"):
        render("x" * 200_000)
    with pytest.raises(TemplateError, match=r"maximum is 20,000"):
        validate_template("{" * 200_000)


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("", "The subject is empty"),
        ("   \t", "The subject is empty"),
        ("\r\n", "The subject is empty"),
        ("Hello\nworld", "The subject must be a single line"),
        ("Hello\rworld", "The subject must be a single line"),
        ("Hello\u2028world", "The subject must be a single line"),
        ("x" * (MAX_SUBJECT_LENGTH + 1), "Too long: 201 characters"),
        ("{{ signer.name|upper }}", 'Filters like "|upper"'),
    ],
)
def test_bad_subjects_are_rejected(subject, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        validate_subject(subject)
    with pytest.raises(TemplateError, match=re.escape("Subject: " + message)):
        render("ok", subject=subject)


def test_subject_at_the_length_limit_is_accepted():
    assert validate_subject("x" * MAX_SUBJECT_LENGTH) is None


def test_a_wall_of_braces_gives_a_short_error():
    problems = template_problems("{a" * 500, max_length=MAX_BODY_LENGTH)
    assert len(problems) == 11
    assert problems[-1] == "...and 490 more problems"
