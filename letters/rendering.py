"""Merge fields for admin-editable letter text.

Why not Django templates or ``str.format``? Letter text is typed into the admin,
and both engines can be steered into reading what an author should never see:
``{% debug %}`` dumps the context and settings, ``{% load %}`` and
``{% include %}`` reach into the codebase, and ``"{x.__init__.__globals__}"``
walks from any object to module globals such as ``SECRET_KEY``. Sandboxing a
general-purpose engine is a losing game, so this is the smallest language that
does the job: a fixed whitelist of ``{{ field }}`` placeholders (the table in
fields.py), substituted in a single pass so that supporter-supplied values are
never themselves expanded.
Every other brace is an error, so anything resembling template syntax fails
loudly when the template is saved instead of half-working in a sent letter.

Pure Python with no Django imports, so forms, previews and the mail sender can
all share it and it can be tested without a database.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .fields import FIELDS, MergeField
from .text import as_single_line, has_line_break, normalise_newlines

MAX_SUBJECT_LENGTH = 200
MAX_BODY_LENGTH = 20_000

# A pasted wall of braces should give a readable error, not thousands of lines.
_MAX_PROBLEMS = 10
# Every brace belongs to exactly one token (a "{{ ... }}" candidate, a single-brace
# group such as "{% tag %}" or "{x}", or a stray run), so none can slip past.
_TOKEN = re.compile(r"\{\{[^{}\n]*\}\}|\{[^{}\n]*\}|\{+|\}+")
_PLACEHOLDER = re.compile(r"\{\{([^{}\n]*)\}\}")
_SEPARATORS = ",;:/|-\u2013\u2014"


# Which fields a kind of text may use: letters all of FIELDS; other texts (a
# campaign update, letters/fields.py UPDATE_FIELDS) a table of their own, and
# `refused` names fields that exist elsewhere with why they cannot be used here.
Fields = Mapping[str, MergeField]


class TemplateError(ValueError):
    def __init__(self, problems: list[str], *, fields: Fields = FIELDS) -> None:
        self.problems = list(problems)
        allowed = ", ".join(_field(name) for name in fields)
        super().__init__("\n".join([*self.problems, f"Allowed fields: {allowed}"]))


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body: str


def _field(name: str) -> str:
    return "{{ " + name + " }}"


def fields_used(text: str) -> set[str]:
    """The merge fields a valid template uses, found exactly as render_letter
    finds them (so "{{" and "}}" on different lines are no field, but an error)."""
    found = _PLACEHOLDER.findall(normalise_newlines(text))
    return {name.strip() for name in found} & FIELDS.keys()


# A letter body must use this field, where the supporter signs: without it officials
# cannot tell who wrote to them, and supporters who edit the letter could not sign
# it. Checked wherever a body is accepted (the admin's LetterTemplate.clean(), the
# sign form, campaign_sign), never when rendering: a template stored before this
# rule still renders, so campaigns using it keep working until someone edits it.
SIGNATURE_FIELD = "signer.name"
UNSIGNED_MESSAGE = (
    "Put {{ signer.name }} where the letter is signed: it becomes the signer's "
    "name, so officials know who wrote to them."
)


def is_signed(body: str) -> bool:
    return SIGNATURE_FIELD in fields_used(body)


def _shorten(token: str) -> str:
    return token if len(token) <= 60 else token[:57] + "..."


def _token_problem(
    token: str, where: str, fields: Fields, refused: Mapping[str, str]
) -> str | None:
    shown = _shorten(token)
    if not token.strip("{") or not token.strip("}"):
        hint = ' (merge fields look like "{{ signer.name }}" on one line)'
        return f'Unmatched "{shown}" {where}{hint if len(token) == 2 else ""}'
    if not token.startswith("{{"):
        if token.startswith("{%"):
            return f'Template tags like "{shown}" are not allowed {where}'
        if token.startswith("{#"):
            return f'Template comments like "{shown}" are not allowed {where}'
        if "__" in token:
            return f'"__" attribute walks are not allowed: "{shown}" {where}'
        return (
            f'Single braces like "{shown}" are not allowed {where}'
            ' (merge fields use double braces, e.g. "{{ signer.name }}")'
        )
    name = token[2:-2].strip()
    if name in fields:
        return None
    if name in refused:
        return f'"{shown}" {where} cannot be used here: {refused[name]}'
    if not name:
        return f'Empty placeholder "{shown}" {where}'
    if "__" in name:
        return f'"__" attribute walks are not allowed: "{shown}" {where}'
    if "|" in name:
        applied = name.split("|", 1)[1].strip()
        return f'Filters like "|{applied}" are not allowed: "{shown}" {where}'
    base = next((f for f in fields if name.startswith(f + ".")), None)
    if base:
        return (
            f'Attribute access is not allowed: "{shown}" {where} (use "{_field(base)}")'
        )
    guess = difflib.get_close_matches(name, fields, n=1)
    hint = f' (did you mean "{_field(guess[0])}"?)' if guess else ""
    return f'Unknown field "{shown}" {where}{hint}'


def template_problems(
    text: str,
    *,
    max_length: int,
    fields: Fields = FIELDS,
    refused: Mapping[str, str] | None = None,
) -> list[str]:
    """Return human-readable problems with a template; [] means it is valid."""
    text = normalise_newlines(text)
    if len(text) > max_length:
        return [f"Too long: {len(text):,} characters (the maximum is {max_length:,})"]
    problems: list[str] = []
    extra = line = pos = 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        where = f"at line {line + 1}"
        problem = _token_problem(match.group(), where, fields, refused or {})
        if problem and len(problems) < _MAX_PROBLEMS:
            problems.append(problem)
        elif problem:
            extra += 1
    if extra:
        problems.append(f"...and {extra} more problem{'s' if extra > 1 else ''}")
    return problems


def validate_template(
    text: str,
    *,
    max_length: int = MAX_BODY_LENGTH,
    fields: Fields = FIELDS,
    refused: Mapping[str, str] | None = None,
) -> None:
    problems = template_problems(
        text, max_length=max_length, fields=fields, refused=refused
    )
    if problems:
        raise TemplateError(problems, fields=fields)


def _subject_problems(text: str, **fields) -> list[str]:
    if not text.strip():
        return ["The subject is empty"]
    problems = template_problems(text, max_length=MAX_SUBJECT_LENGTH, **fields)
    if has_line_break(text):
        problems.insert(0, "The subject must be a single line (it has a line break)")
    return problems


def validate_subject(
    text: str, *, fields: Fields = FIELDS, refused: Mapping[str, str] | None = None
) -> None:
    if problems := _subject_problems(text, fields=fields, refused=refused):
        raise TemplateError(problems, fields=fields)


def _close_gap(left: str, right: str, *, at_start: bool, at_end: bool) -> str:
    """Join the template text either side of an empty field, dropping the
    brackets and separators that only made sense with a value between them."""
    # String methods rather than regexes: a "\s*" search here goes quadratic on
    # long runs of spaces, and a template line may be 20,000 characters.
    if left.rstrip()[-1:] in ("(", "[") and right.lstrip()[:1] in (")", "]"):
        left, right = left.rstrip()[:-1].rstrip(), right.lstrip()[1:]
    # Only a separator standing between two fields is orphaned; the colon in
    # "Postcode: " or the comma in "Yours, " is the author's own wording.
    if at_end and re.fullmatch(r"[\s.!?]*", right):
        left = left if left.strip(_SEPARATORS + " \t") else ""
    if at_start and not left.strip():
        right = right.lstrip(_SEPARATORS + " \t")
    left_tail, right_head = left.rstrip()[-1:], right.lstrip()[:1]
    if left_tail and right_head and {left_tail, right_head} <= set(_SEPARATORS):
        right = right.lstrip()[1:]
    if left[-1:] in (" ", "\t") and right[:1] in (" ", "\t"):
        right = right.lstrip(" \t")
    if right[:1] and right[:1] in ",.;:!?)]":
        left = left.rstrip(" \t")
    return left + right


def _render_line(line: str, values: Mapping[str, str]) -> str | None:
    """Substitute one template line; None means the line should disappear."""
    parts = _PLACEHOLDER.split(line)
    if len(parts) == 1:
        return line
    fills = [values[name.strip()] for name in parts[1::2]]
    filled = [bool(value.strip()) for value in fills]
    last_filled = max((i for i, f in enumerate(filled) if f), default=-1)
    # Literals sit at even indexes and values at odd ones, so tidying only ever
    # touches template text: supporter values are inserted exactly as given.
    out = [parts[0]]
    for i, (value, literal) in enumerate(zip(fills, parts[2::2], strict=True)):
        if filled[i]:
            out += [value, literal]
        else:
            out[-1] = _close_gap(
                out[-1], literal, at_start=len(out) == 1, at_end=i > last_filled
            )
    rendered = "".join(out)
    if last_filled < 0 and not any(char.isalnum() for char in rendered):
        return None
    return rendered


def render_letter(
    *,
    subject_template: str,
    body_template: str,
    context: Mapping[str, str],
    fields: Fields = FIELDS,
    refused: Mapping[str, str] | None = None,
) -> RenderedLetter:
    """Validate both templates (TemplateError), then fill them in from `context`.
    `fields`/`refused`: which merge fields the text may use (see Fields)."""
    allowed = {"fields": fields, "refused": refused}
    problems = [f"Subject: {p}" for p in _subject_problems(subject_template, **allowed)]
    problems += [
        f"Body: {p}"
        for p in template_problems(body_template, max_length=MAX_BODY_LENGTH, **allowed)
    ]
    if problems:
        raise TemplateError(problems, fields=fields)
    return render_valid(
        subject_template=subject_template,
        body_template=body_template,
        context=context,
        fields=fields,
    )


def render_valid(
    *,
    subject_template: str,
    body_template: str,
    context: Mapping[str, str],
    fields: Fields = FIELDS,
) -> RenderedLetter:
    """render_letter without the validation, for templates already validated
    with the same `fields` (a mailshot renders one text many times)."""
    values = {}
    for name in fields:
        value = context.get(name)
        values[name] = "" if value is None else normalise_newlines(str(value))

    subject = _render_line(normalise_newlines(subject_template), values) or ""
    subject = as_single_line(subject)

    lines = (
        _render_line(line, values)
        for line in normalise_newlines(body_template).split("\n")
    )
    body = "\n".join(line for line in lines if line is not None)
    body = "\n".join(line.rstrip() for line in body.split("\n"))
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    return RenderedLetter(subject=subject, body=body)
