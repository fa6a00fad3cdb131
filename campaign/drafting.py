"""Turn campaign objects into the plain-string context letters/rendering.py needs.

Rendering never sees a model instance; this module is the one bridge, shared by the
campaign page preview, confirmation (the text stored on each Letter) and the
admin's template preview. Which attribute fills which field is the `source`
column of the table in letters/fields.py.
"""

import copy
from datetime import date

from django.utils import formats, timezone

from letters.fields import FIELDS
from letters.own_words import own_word_count
from letters.rendering import RenderedLetter, render_letter

from .models import Campaign, Official, Signature


def letter_context(
    *,
    campaign: Campaign,
    official: Official,
    signer: Signature | None,
    today: date,
) -> dict[str, str]:
    """Plain strings for every merge field. `signer` is a Signature, saved or not
    (the page preview's is what the supporter has typed so far); None shows the
    friendly placeholders ("[your name]") supporters see before filling the form."""
    sources = {"campaign": campaign, "official": official, "signature": signer}
    context = {}
    for field in FIELDS.values():
        if field.source == "today":
            context[field.name] = formats.date_format(today, "j F Y")
        elif (source := sources[field.source_object]) is None:
            context[field.name] = field.placeholder
        else:
            context[field.name] = getattr(source, field.source_attribute)
    return context


def draft_letter(
    *,
    campaign: Campaign,
    official: Official,
    signer: Signature | None,
    body_template: str | None = None,
    today: date | None = None,
) -> RenderedLetter:
    """The letter `official` receives; body_template overrides the campaign's
    (a supporter's edited version). Raises letters.rendering.TemplateError."""
    template = campaign.letter_template
    return render_letter(
        subject_template=template.subject_template,
        body_template=body_template or template.body_template,
        context=letter_context(
            campaign=campaign,
            official=official,
            signer=signer,
            today=today or timezone.localdate(),
        ),
    )


def letter_own_words(
    *,
    campaign: Campaign,
    official: Official,
    signer: Signature,
    letter: RenderedLetter,
    edited: bool,
) -> int:
    """How many words of `letter` (drafted for `official` from `signer`) are the
    supporter's own: the measure delivery modes route by, shared by signing and
    the campaign page's nudge. The standard it is compared with is the same
    letter for the same supporter (name, town and postcode stay), without their
    paragraph and with the campaign's text. `edited`: they changed the body."""
    if not (edited or signer.personal_paragraph.strip()):
        return 0
    standard_signer = copy.copy(signer)
    standard_signer.personal_paragraph = ""
    standard = draft_letter(
        campaign=campaign, official=official, signer=standard_signer
    )
    return own_word_count(letter=letter.body, standard=standard.body)
