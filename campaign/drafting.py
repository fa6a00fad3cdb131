"""Turn campaign objects into the plain-string context letters/rendering.py needs.

Rendering never sees a model instance; this module is the one bridge, shared by the
campaign page preview, confirmation (the text stored on each Letter) and the
admin's template preview.
"""

from dataclasses import dataclass
from datetime import date

from django.utils import formats, timezone

from letters.rendering import PLACEHOLDERS, RenderedLetter, render_letter


@dataclass(frozen=True)
class SignerDetails:
    name: str
    town: str = ""
    postcode: str = ""
    personal_paragraph: str = ""

    @classmethod
    def from_signature(cls, signature) -> "SignerDetails":
        return cls(
            name=signature.full_name,
            town=signature.town,
            postcode=signature.postcode,
            personal_paragraph=signature.personal_paragraph,
        )


# What organisers see in the admin preview and test letters.
SAMPLE_SIGNER = SignerDetails(
    name="Ada Lovelace",
    town="Marylebone",
    postcode="NW1 6XE",
    personal_paragraph="My own family came to this country to be safe; please make "
    "sure it stays that way.",
)


def letter_context(
    *, campaign_title: str, official, signer: SignerDetails | None, today: date
) -> dict[str, str]:
    """Plain strings for every merge field. signer=None shows the friendly
    placeholders ("[your name]") that supporters see before filling the form."""
    context = {
        "official.salutation": official.salutation,
        "official.name": official.name,
        "official.position": official.position,
        "official.organisation": official.organisation,
        "campaign.title": campaign_title,
        "today": formats.date_format(today, "j F Y"),
    }
    if signer is None:
        signer_fields = ("name", "town", "postcode", "personal_paragraph")
        context.update(
            {f"signer.{f}": PLACEHOLDERS[f"signer.{f}"] for f in signer_fields}
        )
    else:
        context.update(
            {
                "signer.name": signer.name,
                "signer.town": signer.town,
                "signer.postcode": signer.postcode,
                "signer.personal_paragraph": signer.personal_paragraph,
            }
        )
    return context


def draft_letter(
    *,
    campaign,
    official,
    signer: SignerDetails | None,
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
            campaign_title=campaign.title,
            official=official,
            signer=signer,
            today=today or timezone.localdate(),
        ),
    )
