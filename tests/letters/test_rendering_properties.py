"""letters.rendering under hypothesis: any input renders safely or is refused, and
valid templates always come out tidy. Pure Python, no database, no Django."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from letters.fields import FIELDS
from letters.rendering import (
    MAX_BODY_LENGTH,
    RenderedLetter,
    TemplateError,
    render_letter,
    template_problems,
)
from tests.letters.sample_letter import field

# --- properties -------------------------------------------------------------------

TEMPLATE_PIECES = st.one_of(
    st.text(),
    st.sampled_from([field(name) for name in FIELDS]),
    st.sampled_from(["{", "}", "{{", "}}", "{%", "%}", "__", "|", ".", ", ", "(", ")"]),
    st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x00", " "]),
)
TEMPLATES = st.one_of(st.text(), st.lists(TEMPLATE_PIECES).map("".join))
CONTEXTS = st.dictionaries(st.sampled_from(list(FIELDS)), st.none() | st.text())
ALLOWED_FIELD = re.compile(
    r"\{\{[^\S\n]*(?:" + "|".join(map(re.escape, FIELDS)) + r")[^\S\n]*\}\}"
)


@settings(deadline=None)
@given(subject=TEMPLATES, body=TEMPLATES, context=CONTEXTS)
def test_any_input_either_raises_template_error_or_renders_safely(
    subject, body, context
):
    try:
        letter = render_letter(
            subject_template=subject, body_template=body, context=context
        )
    except TemplateError as err:
        assert err.problems
        return
    assert isinstance(letter, RenderedLetter)
    assert "\r" not in letter.subject and "\n" not in letter.subject
    assert len(letter.subject.splitlines()) <= 1
    assert "\r" not in letter.body


@settings(deadline=None)
@given(text=TEMPLATES)
def test_every_brace_outside_an_allowed_field_is_a_problem(text):
    problems = template_problems(text, max_length=MAX_BODY_LENGTH)
    assert isinstance(problems, list)
    if not problems:
        leftover = ALLOWED_FIELD.sub("", text)
        assert "{" not in leftover and "}" not in leftover


def as_rendered(value):
    """The value as the letter shows it: line endings normalised, trailing
    whitespace dropped and blank-line runs capped, like the rest of the body."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "\n".join(line.rstrip() for line in value.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", value).strip("\n")


OWN_LINES = "\n\n".join(field(name) for name in FIELDS)


@settings(deadline=None)
@given(context=st.fixed_dictionaries({name: st.text() for name in FIELDS}))
def test_arbitrary_values_in_a_valid_template_always_appear(context):
    letter = render_letter(
        subject_template="{{ signer.name }}", body_template=OWN_LINES, context=context
    )
    for value in context.values():
        if expected := as_rendered(value):
            assert expected in letter.body
    assert "\n\n\n" not in letter.body


BRACE_FREE = st.text().map(lambda s: s.replace("{", "").replace("}", ""))
VALID_BODIES = st.lists(
    st.one_of(BRACE_FREE, st.sampled_from([field(name) for name in FIELDS]))
).map("".join)


@settings(deadline=None)
@given(body=VALID_BODIES, context=CONTEXTS)
def test_valid_templates_never_raise_and_come_out_tidy(body, context):
    assert template_problems(body, max_length=MAX_BODY_LENGTH) == []
    letter = render_letter(
        subject_template="{{ signer.name }}", body_template=body, context=context
    )
    assert "\n\n\n" not in letter.body and "\r" not in letter.body
    assert letter.body == letter.body.strip("\n")
    assert all(line == line.rstrip() for line in letter.body.split("\n"))
