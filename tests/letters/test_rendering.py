"""letters.rendering: the merge fields, rendering, reading a template's fields, and
what a template may not contain. Pure Python, no database, no Django (as is
test_rendering_properties.py)."""

import re

import pytest

from letters.fields import FIELDS, PLACEHOLDERS
from letters.rendering import (
    MAX_BODY_LENGTH,
    MAX_SUBJECT_LENGTH,
    RenderedLetter,
    TemplateError,
    fields_used,
    render_letter,
    template_problems,
    validate_subject,
    validate_template,
)
from letters.text import normalise_newlines
from tests.letters.sample_letter import LETTER, SIGNER, field, render, without

# --- public constants -------------------------------------------------------------


def test_field_tables_are_consistent():
    assert list(FIELDS) == list(SIGNER)
    assert set(PLACEHOLDERS) == set(FIELDS)
    assert all(f.description for f in FIELDS.values()) and all(PLACEHOLDERS.values())


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("signer.name", "[your name]"),
        ("signer.town", "[your town]"),
        ("signer.postcode", "[your postcode]"),
        ("signer.personal_paragraph", "[your personal paragraph, if you add one]"),
    ],
)
def test_placeholders_render_as_a_preview(name, placeholder):
    letter = render(f"Hello {field(name)}!", context=PLACEHOLDERS)
    assert letter.body == f"Hello {placeholder}!"


# --- rendering --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_whitelisted_field_is_rendered(name):
    letter = render(
        f"<{field(name)}>", subject=f"S {field(name)}", context={name: "VALUE"}
    )
    assert letter == RenderedLetter(subject="S VALUE", body="<VALUE>")


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{signer.name}}",
        "{{ signer.name }}",
        "{{   signer.name  }}",
        "{{\tsigner.name }}",
    ],
)
def test_spaces_inside_placeholder_are_optional(placeholder):
    assert template_problems(placeholder, max_length=100) == []
    assert render(f"From {placeholder}.").body == "From Ada Lovelace."


def test_full_letter_renders_exactly():
    assert render(LETTER).body == (
        "25 November 2025\n\nJo Bloggs MP\nPrime Minister\nCabinet Office\n\n"
        "Dear Prime Minister,\n\nI am writing about Save Our Libraries.\n\n"
        "Our library closed last year.\n\n"
        "Yours sincerely,\nAda Lovelace, Leeds\nLS1 1AA"
    )


# What a supporter or an official may leave blank.
OPTIONAL = (
    "signer.town",
    "signer.postcode",
    "signer.personal_paragraph",
    "official.organisation",
    "official.position",
)


@pytest.mark.parametrize("absent", [None, "", "   ", "\r\n"])
def test_absent_optional_fields_leave_no_gaps(absent):
    context = {**SIGNER, **dict.fromkeys(OPTIONAL, absent)}
    if absent is None:
        context = without(*OPTIONAL)
    body = render(LETTER, context=context).body
    assert body == (
        "25 November 2025\n\nJo Bloggs MP\n\n"
        "Dear Prime Minister,\n\nI am writing about Save Our Libraries.\n\n"
        "Yours sincerely,\nAda Lovelace"
    )
    assert "\n\n\n" not in body


def test_several_absent_paragraphs_in_a_row_never_leave_three_blank_lines():
    body = "A\n\n{{ signer.personal_paragraph }}\n\n\n{{ signer.town }}\n\n\nB"
    assert render(body, context=without("signer.town")).body == (
        "A\n\nOur library closed last year.\n\nB"
    )
    assert render(body, context={}).body == "A\n\nB"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{{ signer.name }}, {{ signer.town }}", "Ada Lovelace"),
        ("{{ signer.town }}, {{ signer.name }}", "Ada Lovelace"),
        ("{{ signer.name }} ({{ signer.town }})", "Ada Lovelace"),
        ("{{ signer.name }} [{{ signer.town }}] wrote", "Ada Lovelace wrote"),
        ("{{ signer.name }}  (  {{ signer.town }} ) wrote", "Ada Lovelace wrote"),
        ("{{ signer.name }} – {{ signer.town }}", "Ada Lovelace"),
        ("{{ signer.name }}, {{ signer.town }}, {{ signer.postcode }}", "Ada Lovelace"),
        ("Yes, {{ signer.town }}, {{ signer.name }}", "Yes, Ada Lovelace"),
        ("{{ signer.name }} of {{ signer.town }}.", "Ada Lovelace of."),
        ("P.S. {{ signer.town }}", "P.S."),
        ("Postcode: {{ signer.postcode }}", "Postcode:"),
        ("Kind regards, {{ signer.town }}", "Kind regards,"),
    ],
)
def test_empty_field_separators_are_tidied(line, expected):
    context = without("signer.town", "signer.postcode")
    assert render(f"Yours,\n{line}\nEnd", context=context).body == (
        f"Yours,\n{expected}\nEnd"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("({{ signer.town }})", "A\nB"),
        ("{{ signer.town }}, {{ signer.postcode }}", "A\nB"),
        ("  {{ signer.personal_paragraph }}", "A\nB"),
        ("- {{ signer.town }} -", "A\nB"),
        ("  -  ", "A\n  -\nB"),  # no field on the line: left alone
    ],
)
def test_line_of_only_empty_fields_and_punctuation_is_removed(line, expected):
    assert render(f"A\n{line}\nB", context={}).body == expected


def test_salutation_comma_kept_when_name_missing():
    letter = render("Dear {{ official.name }},\nText", context={})
    assert letter.body == "Dear,\nText"


def test_punctuation_untouched_on_lines_without_empty_fields():
    line = "Odd , , spacing ( ) {{ signer.name }} ,"
    assert render(line).body == "Odd , , spacing ( ) Ada Lovelace ,"


def test_values_are_never_tidied_even_next_to_an_empty_field():
    context = {"signer.name": "Ada ,, (x)", "signer.town": ""}
    body = render("{{ signer.name }}, {{ signer.town }}!", context=context).body
    assert body == "Ada ,, (x)!"


def test_missing_context_keys_and_none_render_as_empty():
    body = "Name: {{ signer.name }}\nDate: {{ today }}\nEnd"
    letter = render(body, context={"signer.name": None})
    assert letter.body == "Name:\nDate:\nEnd"
    assert letter.subject == "Re:"


def test_line_endings_and_whitespace_are_normalised():
    body = "\r\n\n  \r\nDear {{ signer.name }},   \r\rLine\r\n\r\n\r\n\r\nEnd  \n\n"
    context = {"signer.name": "Ada\r\nLovelace\r"}
    assert render(body, context=context).body == "Dear Ada\nLovelace\n,\n\nLine\n\nEnd"


@pytest.mark.parametrize(
    "value",
    ["{{ official.email }}", "{% debug %}", "}}{{", "{x.__init__.__globals__}", "{{"],
)
def test_braces_in_signer_data_are_inserted_verbatim(value):
    context = {**SIGNER, "signer.name": value, "signer.personal_paragraph": value}
    letter = render(
        "{{ signer.name }}\n\n{{ signer.personal_paragraph }}", context=context
    )
    assert letter.body == f"{value}\n\n{value}"
    assert letter.subject == f"Re: {value}"


def test_values_are_not_expanded_a_second_time():
    context = {**SIGNER, "signer.name": "{{ signer.town }}"}
    assert render("{{ signer.name }} / {{ signer.town }}", context=context).body == (
        "{{ signer.town }} / Leeds"
    )


@pytest.mark.parametrize(
    "value", ["Zoë O'Brien", "Łukasz Żółć", "李雷", "Renée d’Arc & <b>Co</b>", "😀"]
)
def test_text_is_plain_and_unicode_preserved_exactly(value):
    context = {"signer.name": value, "campaign.title": "Don't close it"}
    letter = render_letter(
        subject_template="{{ campaign.title }}: {{ signer.name }}",
        body_template="It's {{ signer.name }} — “{{ campaign.title }}”",
        context=context,
    )
    assert letter.subject == f"Don't close it: {value}"
    assert letter.body == f"It's {value} — “Don't close it”"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada\r\nLovelace", "Re: Ada Lovelace (Leeds)"),
        ("Ada\rBcc: evil@example.com", "Re: Ada Bcc: evil@example.com (Leeds)"),
        ("\n\nAda \n\n Lovelace\n", "Re: Ada Lovelace (Leeds)"),
        ("Ada\u2028Love\x85lace", "Re: Ada Love lace (Leeds)"),
        ("Ada\x00\t\x0bLovelace\x1f", "Re: Ada Lovelace (Leeds)"),
    ],
)
def test_subject_never_contains_line_breaks(name, expected):
    context = {**SIGNER, "signer.name": name}
    subject = render(
        "x", context=context, subject="Re:  {{ signer.name }} ({{ signer.town }})  "
    ).subject
    assert subject == expected


def test_subject_tidies_empty_fields():
    letter = render(
        "x",
        context=without("signer.town"),
        subject=("{{ campaign.title }} – {{ signer.name }} ({{ signer.town }})"),
    )
    assert letter.subject == "Save Our Libraries – Ada Lovelace"


# --- reading a template: the fields it uses, its line breaks ----------------------


def test_fields_used_finds_fields_as_the_renderer_does():
    assert fields_used(LETTER) == set(FIELDS)
    assert fields_used("{{signer.name}} and {{\tofficial.name   }}") == {
        "signer.name",
        "official.name",
    }
    assert fields_used("No fields at all, { or } braces") == set()


@pytest.mark.parametrize(
    "text",
    [
        "{{\nsigner.name }}",  # across a line break: an error, not a field
        "{{ signer.name\r}}",
        "{{ signer.nmae }}",  # not a field
        "{{ signer.name.upper }}",
        "{{ signer.name|upper }}",
        "{ signer.name }",
    ],
)
def test_fields_used_ignores_what_the_renderer_would_refuse(text):
    assert fields_used(text) == set()
    assert template_problems(text, max_length=100)  # each one is an error


def test_normalise_newlines():
    assert normalise_newlines("a\r\nb\rc\nd\r\n\r\n") == "a\nb\nc\nd\n\n"
    assert normalise_newlines("no breaks") == "no breaks"


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
