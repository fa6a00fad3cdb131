"""The outbox: queueing, sending and recording emails the site owes someone.

FIRST VERSION (foundation): claim-send-record without retries; the delivery issue
hardens this module (throttling, transient/permanent failures, the sweeper).
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from campaign.models import ConfirmationEmail, Letter, OutboxStatus


def letters_enqueue(*, letter_ids: list[int]) -> None:
    """Hand letters to the worker. Call after commit (transaction.on_commit)."""
    from campaign.tasks import letter_send_task

    for letter_id in letter_ids:
        letter_send_task.delay(letter_id)


def confirmation_enqueue(*, confirmation_id: int) -> None:
    """Hand a confirmation email to the worker. Call after commit."""
    from campaign.tasks import confirmation_send_task

    confirmation_send_task.delay(confirmation_id)


def _claim(model, row_id: int) -> bool:
    return bool(
        model.objects.filter(pk=row_id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now()
        )
    )


def _record(model, row_id: int, message: EmailMessage) -> None:
    model.objects.filter(pk=row_id).update(
        status=OutboxStatus.SENT,
        sent_at=timezone.now(),
        message_id=message.extra_headers.get("Message-ID", ""),
    )


def letter_send(*, letter_id: int) -> None:
    if not _claim(Letter, letter_id):
        return
    letter = Letter.objects.select_related("signature", "official").get(pk=letter_id)
    message = EmailMessage(
        subject=letter.subject,
        body=letter.body,
        from_email=f"{letter.signature.full_name} <{settings.DEFAULT_FROM_EMAIL}>",
        to=[letter.official.email],
        reply_to=[letter.signature.email],
    )
    message.send()
    _record(Letter, letter_id, message)


def confirmation_send(*, confirmation_id: int) -> None:
    if not _claim(ConfirmationEmail, confirmation_id):
        return
    row = ConfirmationEmail.objects.select_related("signature").get(pk=confirmation_id)
    message = EmailMessage(subject=row.subject, body=row.body, to=[row.signature.email])
    message.send()
    _record(ConfirmationEmail, confirmation_id, message)
