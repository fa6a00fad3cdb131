"""What organisers do with a letter template besides saving it: preview it and send
themselves a test letter.

Both render through campaign/drafting.py (the same bridge as the letters supporters
send) with SAMPLE_SIGNER, so a preview is exactly what an official would receive.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db.models import Prefetch
from django.utils import timezone

from campaign.drafting import letter_context
from campaign.models import Campaign, Official, Signature
from letters.fields import PLACEHOLDERS
from letters.models import LetterTemplate
from letters.rendering import RenderedLetter, render_letter

# The supporter every preview and test letter is signed by. Never saved.
SAMPLE_SIGNER = Signature(
    full_name="Ada Lovelace",
    town="Marylebone",
    postcode="NW1 6XE",
    personal_paragraph="My own family came to this country to be safe; please make "
    "sure it stays that way.",
)

# Shown when no campaign uses the template yet: a preview still needs someone to
# address. Never saved; its address is at example.org like every demo official.
SAMPLE_OFFICIAL = Official(
    name="Sam Example",
    position="Minister for Examples",
    salutation="Dear Minister",
    email="minister@example.org",
    organisation="Department of Examples",
)


@dataclass(frozen=True)
class LetterPreview:
    campaign_title: str
    official: Official
    letter: RenderedLetter
    is_sample_official: bool = False


def _recipients(template: LetterTemplate) -> list[tuple[Campaign, Official]]:
    """(campaign, official) for every active target of every campaign using the
    template (inactive officials get no new letters), in two queries."""
    if template.pk is None:
        return []
    campaigns = template.campaigns.prefetch_related(
        Prefetch(
            "targets",
            queryset=Official.objects.filter(is_active=True).order_by("name", "pk"),
        )
    )
    return [(c, o) for c in campaigns for o in c.targets.all()]


def letter_template_previews(
    *,
    template: LetterTemplate,
    subject_template: str | None = None,
    body_template: str | None = None,
    today: date | None = None,
) -> list[LetterPreview]:
    """The letter each official targeted by a campaign using `template` would get
    from the sample signer (a sample official when no campaign uses it yet).
    subject_template/body_template preview unsaved text. Raises TemplateError."""
    subject = (
        template.subject_template if subject_template is None else subject_template
    )
    body = template.body_template if body_template is None else body_template
    recipients = _recipients(template)
    is_sample = not recipients
    if is_sample:
        sample_campaign = Campaign(title=PLACEHOLDERS["campaign.title"])
        recipients = [(sample_campaign, SAMPLE_OFFICIAL)]
    today = today or timezone.localdate()
    return [
        LetterPreview(
            campaign_title=campaign.title,
            official=official,
            letter=render_letter(
                subject_template=subject,
                body_template=body,
                context=letter_context(
                    campaign=campaign,
                    official=official,
                    signer=SAMPLE_SIGNER,
                    today=today,
                ),
            ),
            is_sample_official=is_sample,
        )
        for campaign, official in recipients
    ]


def letter_template_send_test(*, template: LetterTemplate, to_email: str) -> int:
    """Email `to_email` the letter the first official would receive, signed by the
    sample signer, through the configured mail backend. Returns the number of
    messages sent. Raises ValidationError (bad address), TemplateError, and the
    backend's OSError/SMTPException. Call outside a transaction: it talks SMTP."""
    validate_email(to_email)
    preview = letter_template_previews(template=template)[0]
    note = (
        f"\n\n-- \nTest of the letter template \u201c{template.name}\u201d with "
        f"sample supporter details, as {preview.official.name} would receive it. "
        "Nothing was sent to any official."
    )
    message = EmailMessage(
        subject=f"[TEST] {preview.letter.subject}",
        body=preview.letter.body + note,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
    )
    return message.send()
