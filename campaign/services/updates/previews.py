"""Writing an update, and what the organiser sees before sending it: the
preview and "send me a test"."""

from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.utils import timezone

from campaign.models import Campaign, Official, Signature, Update
from campaign.update_text import render_update, with_footer
from letters.fields import PLACEHOLDERS
from letters.rendering import RenderedLetter
from letters.text import normalise_newlines

from .audience import update_audience


def update_create(
    *,
    campaign: Campaign,
    subject: str,
    body: str,
    signed_after: date | None = None,
    signed_before: date | None = None,
    wrote_to: Official | None = None,
) -> Update:
    """A draft update. Raises ValidationError (the admin form's messages: a
    line break in the subject, an official's field, an unknown field)."""
    update = Update(
        campaign=campaign,
        subject=subject.strip(),
        body=normalise_newlines(body),
        signed_after=signed_after,
        signed_before=signed_before,
        wrote_to=wrote_to,
    )
    update.full_clean()
    update.save()
    return update


def _sample_name(update: Update) -> str:
    first = update_audience(update=update).order_by("pk").first()
    return first.full_name if first else PLACEHOLDERS["signer.name"]


def update_preview(*, update: Update) -> RenderedLetter:
    """The update as its first supporter would get it (the sample name when
    nobody would), with today's count if it is not sent yet, and the footer.
    Raises TemplateError."""
    count = update.signature_count
    if count is None:
        count = Signature.objects.filter(
            campaign_id=update.campaign_id, status=Signature.Status.CONFIRMED
        ).count()
    rendered = render_update(
        update=update, signer_name=_sample_name(update), signature_count=count
    )
    body = with_footer(
        rendered.body,
        campaign_title=update.campaign.title,
        url="[their own unsubscribe link]",
    )
    return RenderedLetter(subject=rendered.subject, body=body)


def update_send_test(*, update: Update, to_email: str) -> int:
    """Email the preview to `to_email` (the organiser), marked as a test.
    Raises ValidationError (bad address), TemplateError, and the backend's
    OSError/SMTPException. Call outside a transaction: it talks SMTP."""
    validate_email(to_email)
    preview = update_preview(update=update)
    message = EmailMessage(
        subject=f"[TEST] {preview.subject}",
        body=preview.body + f"\n\n(A test sent {timezone.localtime():%d %b %Y %H:%M}: "
        "no supporter was sent anything.)",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
    )
    return message.send()
