"""Turn campaign objects into the plain-string context letters/rendering.py needs.

Rendering never sees a model instance; this module is the one bridge, shared by the
campaign page preview, confirmation (the text stored on each Letter) and the
admin's template preview. Which attribute fills which field is the `source`
column of the table in letters/fields.py.
"""

from datetime import date

from django.utils import formats, timezone

from letters.fields import FIELDS
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
